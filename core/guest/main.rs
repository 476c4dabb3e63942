//! `stagemerge-guest`: the stagemerge core as a WASI preview 1 command.
//!
//! Run only by `stagemerge-wasm-host`, which preopens STAGE at `/stage` and
//! TARGET at `/target`, supplies the `stagemerge` imports and hands over
//! what to do through the `request` import (`stagemerge_core::abi::Request`:
//! the options exactly as the native front end validated them; there is no
//! command line). What it prints is rendered by the core
//! (`stagemerge_core::outcome`, `Plan::to_text`/`to_json`), as natively.
//!
//! - plan: prints the plan; exit 1 if it has problems.
//! - merge: merges with the portable primitives.
//! - probe-writes: tries every kind of write WASI offers (and the host's
//!   `set_mode`) on both preopens and on the given entries in each, and
//!   reports each outcome; exit 0 only if every one was refused.
#![warn(unsafe_op_in_unsafe_fn)]

mod fs;
#[allow(unsafe_code)] // the host imports: the guest's only `unsafe`
mod host;
mod probe;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use stagemerge_core::abi::{Command, Request, STAGE, STAGE_PATH, TARGET, TARGET_PATH};
use stagemerge_core::outcome::line;
use stagemerge_core::{Action, Severity, Side};

use crate::fs::{Dir, WasiFs};

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            let _ = writeln!(std::io::stderr(), "{}", line(Some(Severity::Error), &msg));
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<u8, String> {
    let req = host::request().map_err(|e| format!("read the host's request: {e}"))?;
    let open = |path, root, side| {
        Dir::open_root(path, root).map_err(|e| format!("open {side:?} preopen {path}: {e}"))
    };
    let stage = open(STAGE_PATH, STAGE, Side::Stage)?;
    let target = open(TARGET_PATH, TARGET, Side::Target)?;
    match &req.command {
        Command::Plan => plan(&req, &stage, &target),
        Command::Merge => merge(&req, &stage, &target),
        Command::ProbeWrites { file, dir } => {
            Ok(u8::from(!probe::all_refused(&[&stage, &target], file, dir)))
        }
    }
}

fn plan(req: &Request, stage: &Dir, target: &Dir) -> Result<u8, String> {
    let plan = stagemerge_core::plan(&WasiFs, stage, target, &req.options)
        .map_err(|e| e.render(&req.stage, &req.target))?;
    let text = if req.printing.json {
        plan.to_json()
    } else {
        plan.to_text()
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(u8::from(plan.has_problems()))
}

fn merge(req: &Request, stage: &Dir, target: &Dir) -> Result<u8, String> {
    let p = req.printing;
    let mut out = std::io::stdout().lock();
    let mut on_action = |path: &Path, a: Action| {
        if let Some(l) = p.action_line(path, a) {
            let _ = writeln!(out, "{l}");
        }
    };
    let report = stagemerge_core::merge(&WasiFs, stage, target, &req.options, &mut on_action)
        .map_err(|e| e.render(&req.stage, &req.target))?;
    let mut err = std::io::stderr().lock();
    for (severity, msg) in p.messages(&report, &req.stage, &req.target) {
        let _ = writeln!(err, "{}", line(Some(severity), &msg));
    }
    if let Some(s) = p.summary(&report, &req.stage, &req.target, " (in the sandbox)") {
        let _ = writeln!(err, "{}", line(None, &s));
    }
    if let Some(json) = p.json(&report, &req.stage, &req.target) {
        let _ = std::io::stdout().lock().write_all(json.as_bytes());
    }
    Ok(u8::from(!report.is_clean()))
}
