//! `--sandbox`: the guest runs in a process of its own, `stagemerge-sandbox`.
//!
//! The front end never links Wasmtime: loading a binary that does costs
//! about a millisecond of relocations and page faults on every start, paid
//! once per package by a build that merges hundreds of them. So `stagemerge`
//! validates the command line and opens the roots as always, then hands the
//! [`Request`] to the helper installed beside it (`client.rs`), which runs the
//! guest with the native primitives answering its host imports
//! (`src/bin/stagemerge-sandbox.rs`, built with the `sandbox` feature). The helper inherits stdout and stderr,
//! so what the guest prints reaches the user unchanged, and its exit status
//! is the front end's.

mod client;

pub(crate) use client::{RecordsCommand, probe, run, run_records, run_with};
pub(crate) use stagemerge_core::abi::Access;
