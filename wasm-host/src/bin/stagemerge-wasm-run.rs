//! `stagemerge-wasm-run MODULE.wasm [ARGS...]`: runs a WASI preview 1
//! command in the same Wasmtime setup as the sandbox, with no directories.
//! Cargo uses it as the runner for `wasm32-wasip1`
//! (`CARGO_TARGET_WASM32_WASIP1_RUNNER`), so the core's unit tests run
//! under WASI exactly as the guest does.

use std::process::ExitCode;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use stagemerge_wasm_host::Sandbox;

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("stagemerge-wasm-run: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<i32> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let module = args
        .first()
        .context("usage: stagemerge-wasm-run MODULE.wasm [ARGS...]")?;
    let wasm = std::fs::read(module).with_context(|| format!("read {module}"))?;
    let sha = hex::encode(Sha256::digest(&wasm));
    let sandbox = Sandbox::load_module(&wasm, &sha)?;
    sandbox.run_plain(&args)
}
