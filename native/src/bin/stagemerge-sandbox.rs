//! `stagemerge-sandbox` (feature `sandbox`): the helper's side of
//! `stagemerge --sandbox`, which starts it (`native/src/sandbox/`).
//! Reads the front end's request, opens the two roots and runs the guest in
//! Wasmtime, the native primitives answering its host imports.
//!
//! Usage (by the front end only): `stagemerge-sandbox --read-only|--read-write
//! STAGE TARGET [DIR...]`, the encoded [`Request`] on stdin; each DIR (the
//! directory of a record the merge writes, the directory of records) is
//! preopened after the two roots, in order. Exit status: the guest's,
//! or 2 when the sandbox could not run.
//!
//! Wasmtime is used here only, never in the library behind both binaries,
//! so that `stagemerge` never links it (`stagemerge_cli::helper`).

use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use stagemerge_cli::helper::{fail, init_logging, native_fs, open_root};
use stagemerge_core::abi::Request;
use stagemerge_wasm_host::{Access, Root, Sandbox};

fn main() -> ExitCode {
    init_logging();
    match serve(std::env::args_os().skip(1).collect()) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(2)),
        Err(e) => fail(&e),
    }
}

fn serve(args: Vec<OsString>) -> Result<i32> {
    let mut args = args.into_iter();
    let (Some(access), Some(stage), Some(target)) = (args.next(), args.next(), args.next()) else {
        bail!(
            "usage: stagemerge-sandbox --read-only|--read-write STAGE TARGET [DIR...] \
             (run by stagemerge --sandbox)"
        );
    };
    let extra: Vec<PathBuf> = args.map(PathBuf::from).collect();
    let Some(access) = access.to_str().and_then(Access::from_arg) else {
        bail!("stagemerge-sandbox: unknown access {access:?}");
    };
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("read the request from stdin")?;
    let request = Request::decode(&bytes).context("decode the request")?;
    let (stage, target) = (PathBuf::from(stage), PathBuf::from(target));
    let stage_dir = open_root(&stage, "STAGE")?;
    let target_dir = open_root(&target, "TARGET")?;
    let roots = (
        Root {
            path: &stage,
            dir: stage_dir,
        },
        Root {
            path: &target,
            dir: target_dir,
        },
    );
    let mut dirs = Vec::new();
    for path in &extra {
        dirs.push(Root {
            path,
            dir: open_root(path, "the directory of a record")?,
        });
    }
    let sandbox = Sandbox::load()?;
    sandbox.run(native_fs(), roots.0, roots.1, dirs, access, &request)
}
