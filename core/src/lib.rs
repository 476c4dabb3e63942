//! The stagemerge merge engine.
//!
//! Moves a staged install tree (a `DESTDIR`) into a live shared prefix by the
//! rules of SPEC.md, safely when many merges run at once: every entry is
//! placed by a no-replace rename (or link/mkdir where the filesystem refuses
//! the flag), a taken name is re-examined instead of overwritten, and a
//! different file is replaced by one atomic rename.
//!
//! The engine is capability-based: [`merge`] receives two directory handles
//! and a [`Fs`] implementation of the platform primitives, and never names an
//! absolute path or touches anything outside the two handles. The same code
//! runs natively (cap-std/rustix in the `stagemerge` binary) and under WASI.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod abi;
mod aside;
mod chain;
pub mod classify;
pub mod command;
mod compare;
mod cores;
pub mod driver;
pub mod error;
mod escape;
pub mod fs;
mod handle;
pub mod installed;
mod merge;
pub mod options;
pub mod outcome;
pub mod ownership;
pub mod plan;
pub mod record;
pub mod rel;
pub mod report;
mod resolve;
mod retry;
mod roots;
mod step;
#[cfg(test)]
mod testing;
pub mod uninstall;
pub mod verify;
mod walk;

pub use error::{Error, Op, Side};
pub use fs::{Entry, Fs, Kind, Meta, Stamp};
pub use installed::{Installed, Status};
pub use merge::{merge, merge_listed, merge_since, wait_past};
pub use options::{OnConflict, Options};
pub use plan::{Plan, Planned, plan};
pub use record::{Content, Detail, Owned, Record, State};
pub use report::{ConflictReason, Counts, Left, Problem, Report, Severity, Warning};
pub use step::{Action, Step};
pub use uninstall::{Kept, Undo, UninstallReport, uninstall};
pub use verify::verify;
