//! Running a command of the guest in the Wasmtime sandbox, with the native
//! primitives answering its host imports.

use std::path::Path;

use anyhow::Result;
use cap_std::fs::Dir;
use stagemerge_core::OnConflict;
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

/// The guest's spelling of a policy.
pub(crate) fn policy_word(p: OnConflict) -> &'static str {
    match p {
        OnConflict::Replace => "replace",
        OnConflict::Keep => "keep",
        OnConflict::Fail => "fail",
    }
}

/// Runs the guest with `args` followed by the two roots' names; its exit
/// status is ours.
pub(crate) fn run(roots: Roots<'_>, access: Access, mut args: Vec<String>) -> Result<Exit> {
    args.push(roots.stage.path.display().to_string());
    args.push(roots.target.path.display().to_string());
    let sandbox = Sandbox::load()?;
    let code = sandbox.run(NativeFs::new(), roots.stage, roots.target, access, &args)?;
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
    let args = vec!["probe-writes".to_owned(), a.file.clone(), a.dir.clone()];
    let sandbox = Sandbox::load()?;
    let roots = Roots::new(&a.stage, stage, &a.target, target);
    let code = sandbox.run(NativeFs::new(), roots.stage, roots.target, access, &args)?;
    Ok(if code == 0 { Exit::Ok } else { Exit::Problems })
}
