//! `stagemerge-guest`: the stagemerge core as a WASI preview 1 command.
//!
//! Run only by `stagemerge-wasm-host`, which preopens STAGE at `/stage` and
//! TARGET at `/target` and supplies the `stagemerge` imports. Commands
//! (arguments are the host's, not a user interface):
//!
//! - `plan [--json] [--on-conflict replace|keep|fail] [STAGE-NAME TARGET-NAME]`:
//!   prints the plan
//!   exactly as `stagemerge plan` does; exit 1 if it has problems.
//! - `merge [--on-conflict P] [--verbose|--quiet] [--json] STAGE-NAME TARGET-NAME`:
//!   merges with the portable primitives; the names are only used in
//!   messages.
//! - `probe-writes FILE DIR`: tries every kind of write WASI offers (and
//!   the host's `set_mode`) on both preopens and on the entries FILE and DIR
//!   in each, and reports each outcome;
//!   exit 0 only if every one was refused.
#![warn(unsafe_op_in_unsafe_fn)]

mod fs;
mod host;
mod probe;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use stagemerge_core::abi::{STAGE, STAGE_PATH, TARGET, TARGET_PATH};
use stagemerge_core::{OnConflict, Options, Severity, Side};

use crate::fs::{Dir, WasiFs};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            let _ = writeln!(std::io::stderr(), "stagemerge: error: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<u8, String> {
    let (cmd, rest) = args.split_first().ok_or("no command")?;
    let mut opts = Options {
        force_fallback: true,
        ..Options::default()
    };
    let mut json = false;
    let mut verbose = false;
    let mut quiet = false;
    let mut names = Vec::new();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--verbose" => verbose = true,
            "--quiet" => quiet = true,
            "--on-conflict" => {
                opts.on_conflict = match it.next().map(String::as_str) {
                    Some("replace") => OnConflict::Replace,
                    Some("keep") => OnConflict::Keep,
                    Some("fail") => OnConflict::Fail,
                    other => return Err(format!("bad --on-conflict {other:?}")),
                }
            }
            _ => names.push(a.clone()),
        }
    }
    let roots = || -> Result<(Dir, Dir), String> {
        let open = |path, root, side| {
            Dir::open_root(path, root).map_err(|e| format!("open {side:?} preopen {path}: {e}"))
        };
        Ok((
            open(STAGE_PATH, STAGE, Side::Stage)?,
            open(TARGET_PATH, TARGET, Side::Target)?,
        ))
    };
    match cmd.as_str() {
        "plan" => {
            let (sname, tname) = match names.as_slice() {
                [s, t] => (Path::new(s), Path::new(t)),
                _ => (Path::new(STAGE_PATH), Path::new(TARGET_PATH)),
            };
            let (stage, target) = roots()?;
            let plan = stagemerge_core::plan(&WasiFs, &stage, &target, &opts)
                .map_err(|e| e.render(sname, tname))?;
            let text = if json { plan.to_json() } else { plan.to_text() };
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            Ok(u8::from(plan.has_problems()))
        }
        "merge" => {
            let [stage_name, target_name] = names.as_slice() else {
                return Err("merge needs the STAGE and TARGET names".into());
            };
            let (sname, tname) = (Path::new(stage_name), Path::new(target_name));
            let (stage, target) = roots()?;
            let mut out = std::io::stdout().lock();
            let mut on_action = |p: &Path, a: stagemerge_core::Action| {
                if verbose && !json {
                    let _ = writeln!(out, "{:<10} {}", a.word(), p.display());
                }
            };
            let report = stagemerge_core::merge(&WasiFs, &stage, &target, &opts, &mut on_action)
                .map_err(|e| e.render(sname, tname))?;
            let mut err = std::io::stderr().lock();
            for (severity, msg) in report.messages(sname, tname, verbose) {
                let label = match severity {
                    Severity::Error => "error",
                    Severity::Warning if quiet => continue,
                    Severity::Warning => "warning",
                };
                let _ = writeln!(err, "stagemerge: {label}: {msg}");
            }
            if !quiet {
                let _ = writeln!(
                    err,
                    "stagemerge: {stage_name} -> {target_name}: {} (in the sandbox)",
                    report.summary()
                );
            }
            if json {
                let _ = std::io::stdout()
                    .lock()
                    .write_all(report.to_json(sname, tname).as_bytes());
            }
            Ok(u8::from(!report.is_clean()))
        }
        "probe-writes" => {
            let [file, dir] = names.as_slice() else {
                return Err("probe-writes needs a file name and a directory name".into());
            };
            let (stage, target) = roots()?;
            Ok(u8::from(!probe::all_refused(&[&stage, &target], file, dir)))
        }
        other => Err(format!("unknown command {other}")),
    }
}
