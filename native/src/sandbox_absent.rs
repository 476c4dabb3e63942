//! The sandbox's interface in a build without it (feature `sandbox` off):
//! every use says so instead of running.

use std::path::Path;

use anyhow::{Result, bail};
use cap_std::fs::Dir;
use stagemerge_core::OnConflict;

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

pub(crate) fn policy_word(_: OnConflict) -> &'static str {
    ""
}

fn absent() -> Result<Exit> {
    bail!(
        "this stagemerge was built without the sandbox (cargo feature \"sandbox\"); drop --sandbox"
    )
}

pub(crate) fn run(_: Roots, _: Access, _: Vec<String>) -> Result<Exit> {
    absent()
}

pub(crate) fn probe(_: &crate::cli::ProbeArgs) -> Result<Exit> {
    absent()
}
