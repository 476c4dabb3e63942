//! The Wasmtime embedding that will run the stagemerge core built for
//! `wasm32-wasip1` with STAGE and TARGET as its only preopened directories.
//!
//! Not written yet (tracked as the sandbox issue): this crate exists so the
//! workspace has its final shape. It exports nothing.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
