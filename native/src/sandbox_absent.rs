//! The sandbox's interface in a build without it (feature `sandbox` off):
//! every use says so instead of running.

use std::path::Path;

use anyhow::{Result, bail};
use cap_std::fs::Dir;
use stagemerge_core::Options;
use stagemerge_core::abi::Command;
use stagemerge_core::outcome::Printing;

use crate::exit::Exit;

/// What the guest could do to the roots (unused in this build).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    ReadOnly,
    ReadWrite,
}

pub(crate) struct Roots;

impl Roots {
    pub(crate) fn new(_: &Path, _: Dir, _: &Path, _: Dir) -> Self {
        Roots
    }
}

pub(crate) fn request(_: Command, _: &Options, _: Printing, _: &Roots) -> Request {
    Request
}

/// What the guest would be asked (nothing, in this build).
pub(crate) struct Request;

fn absent() -> Result<Exit> {
    bail!(
        "this stagemerge was built without the sandbox (cargo feature \"sandbox\"); drop --sandbox"
    )
}

pub(crate) fn run(_: Roots, _: Access, _: &Request) -> Result<Exit> {
    absent()
}

pub(crate) fn probe(_: &crate::cli::ProbeArgs) -> Result<Exit> {
    absent()
}
