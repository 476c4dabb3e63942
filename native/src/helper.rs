//! What the sandbox helper binary (`stagemerge-sandbox`,
//! `src/bin/stagemerge-sandbox.rs`) takes from this library: the native
//! primitives, roots opened as the front end opens them, its logging and
//! its way of reporting an error.
//!
//! The helper's own code, the part that runs Wasmtime, lives in the helper
//! binary, never in this library: the front end then links no Wasmtime on
//! any target. (On `x86_64-pc-windows-gnu` rustc does not put functions in
//! sections of their own, so the linker cannot drop the unused ones: while
//! this library held the helper, `stagemerge.exe` carried all of Wasmtime
//! and was as large as the helper.)

use std::path::Path;
use std::process::ExitCode;

pub use crate::shim::NativeFs;

/// The native primitives, as the front end uses them.
pub fn native_fs() -> NativeFs {
    NativeFs::new()
}

/// Opens the directory `path` (a root, or the directory of a record; named
/// `role` in errors) as the front end does: symlinks at the end followed,
/// nothing else.
pub fn open_root(path: &Path, role: &str) -> anyhow::Result<cap_std::fs::Dir> {
    crate::shim::open_root(path, role)
}

/// Starts logging as the front end does (`RUST_LOG=stagemerge=debug`).
pub fn init_logging() {
    crate::init_logging();
}

/// Prints `e` as the front end prints an error and returns exit 2
/// (nothing done).
pub fn fail(e: &anyhow::Error) -> ExitCode {
    crate::output::Messages::new().error(&format!("{e:#}"));
    crate::exit::Exit::NothingDone.into()
}
