//! Running a command of the guest in the Wasmtime sandbox, with the native
//! primitives answering its host imports.

use std::path::Path;

use anyhow::Result;
use cap_std::fs::Dir;
use stagemerge_core::Options;
use stagemerge_core::abi::{Command, Request};
use stagemerge_core::outcome::Printing;
pub(crate) use stagemerge_wasm_host::Access;
use stagemerge_wasm_host::{Root, Sandbox};

use crate::exit::Exit;
use crate::shim::NativeFs;

/// The two roots, as paths (for WASI's preopens and for messages) and as the
/// handles the host imports read through.
pub(crate) struct Roots<'p> {
    stage: Root<'p, Dir>,
    target: Root<'p, Dir>,
}

impl<'p> Roots<'p> {
    pub(crate) fn new(stage: &'p Path, stage_dir: Dir, target: &'p Path, target_dir: Dir) -> Self {
        Roots {
            stage: Root {
                path: stage,
                dir: stage_dir,
            },
            target: Root {
                path: target,
                dir: target_dir,
            },
        }
    }
}

/// What the guest is to do, with the options and printing the native front
/// end validated, and the roots' names for its messages.
pub(crate) fn request(
    command: Command,
    options: &Options,
    printing: Printing,
    roots: &Roots<'_>,
) -> Request {
    Request {
        command,
        options: options.clone(),
        printing,
        stage: roots.stage.path.to_owned(),
        target: roots.target.path.to_owned(),
    }
}

/// Runs the guest on `request`; its exit status is ours.
pub(crate) fn run(roots: Roots<'_>, access: Access, request: &Request) -> Result<Exit> {
    let sandbox = Sandbox::load()?;
    let code = sandbox.run(NativeFs::new(), roots.stage, roots.target, access, request)?;
    Ok(match code {
        0 => Exit::Ok,
        1 => Exit::Problems,
        _ => Exit::NothingDone,
    })
}

/// `stagemerge sandbox-probe`: the guest's write probe on the two roots.
pub(crate) fn probe(a: &crate::cli::ProbeArgs) -> Result<Exit> {
    let stage = crate::shim::open_root(&a.stage, "STAGE")?;
    let target = crate::shim::open_root(&a.target, "TARGET")?;
    let access = if a.writable {
        Access::ReadWrite
    } else {
        Access::ReadOnly
    };
    let roots = Roots::new(&a.stage, stage, &a.target, target);
    let command = Command::ProbeWrites {
        file: a.file.clone(),
        dir: a.dir.clone(),
    };
    let request = request(command, &Options::default(), Printing::default(), &roots);
    let sandbox = Sandbox::load()?;
    let code = sandbox.run(NativeFs::new(), roots.stage, roots.target, access, &request)?;
    Ok(if code == 0 { Exit::Ok } else { Exit::Problems })
}
