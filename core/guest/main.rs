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

use std::ffi::OsString;
use std::os::wasi::ffi::OsStringExt;

use stagemerge_core::abi::{Command, Request, STAGE, STAGE_PATH, TARGET, TARGET_PATH, extra_root};
use stagemerge_core::command::{self, RecordsAt};
use stagemerge_core::driver::{Driver, Records, RecordsDir};
use stagemerge_core::outcome::{Verbosity, line};
use stagemerge_core::record::Record;
use stagemerge_core::record::file::{Book, Place, Reader};
use stagemerge_core::record::read::Reserved;
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
        Command::Verify { .. } | Command::Uninstall { .. } | Command::Owner { .. } => {
            on_records(&req, &target)
        }
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
    let records = records(req)?;
    let shown = (req.stage.as_path(), req.target.as_path());
    let started = std::time::Instant::now();
    let mut driver = Driver::prepare(
        &WasiFs,
        (stage, target),
        shown,
        req.options.clone(),
        records,
    )
    .map_err(|e| e.to_string())?;
    driver.journal().map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let mut on_action = |path: &Path, a: Action| {
        if let Some(l) = p.action_line(path, a) {
            let _ = writeln!(out, "{l}");
        }
    };
    let report = driver.merge(&mut on_action).map_err(|e| e.to_string())?;
    let notes = driver.finish(&report).map_err(|e| e.to_string())?;
    let mut err = std::io::stderr().lock();
    for (severity, msg) in p.messages(&report, &req.stage, &req.target) {
        let _ = writeln!(err, "{}", line(Some(severity), &msg));
    }
    if p.verbosity != Verbosity::Quiet {
        for n in notes {
            let _ = writeln!(err, "{}", line(Some(Severity::Warning), &n));
        }
    }
    if let Some(s) = p.summary(&report, &req.stage, &req.target, " (in the sandbox)") {
        let _ = writeln!(err, "{}", line(None, &s));
    }
    let seconds = Some(started.elapsed().as_secs_f64());
    if let Some(json) = p.json(&report, &req.stage, &req.target, seconds) {
        let _ = std::io::stdout().lock().write_all(json.as_bytes());
    }
    Ok(u8::from(!report.is_clean()))
}

/// The records the request names, each directory opened from its preopen;
/// the ownership policies come in the options.
fn records(req: &Request) -> Result<Records<Dir>, String> {
    let Some(r) = &req.records else {
        return Ok(Records {
            books: Vec::new(),
            level: Record::Off,
            dir: None,
            reader: reader(Default::default()),
        });
    };
    let open = |root: u32| {
        let i = (root - TARGET - 1) as usize;
        let (index, path) = extra_root(i);
        Dir::open_root(&path, index).map_err(|e| format!("open the preopen {path}: {e}"))
    };
    let mut books = Vec::new();
    for b in &r.books {
        let place = Place {
            dir: open(b.root)?,
            name: OsString::from_vec(b.name.clone()),
            shown: b.shown.clone(),
        };
        books.push(Book::new(place, b.format.clone()));
    }
    let dir = match &r.dir {
        Some(d) => Some(RecordsDir {
            dir: open(d.root)?,
            shown: d.shown.clone(),
            own: d.own.iter().cloned().map(OsString::from_vec).collect(),
            policies: req
                .options
                .ownership
                .as_deref()
                .cloned()
                .unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Records {
        books,
        level: r.level,
        dir,
        reader: reader(r.reserved.clone()),
    })
}

/// The reader with the native rules: any bytes are a name (as on Unix).
fn reader(reserved: Reserved) -> Reader {
    Reader {
        name: |b| Some(OsString::from_vec(b)),
        reserved,
    }
}

/// `verify`, `uninstall` and `owner`: the core's command, printed as the
/// native binary prints it.
fn on_records(req: &Request, target: &Dir) -> Result<u8, String> {
    let Records {
        books, dir, reader, ..
    } = records(req)?;
    let record = books.into_iter().next().map(Book::into_place);
    let shown = req.target.as_path();
    let out = match &req.command {
        Command::Verify { json, pip_record } => {
            let record = record.ok_or("verify: no record in the request")?;
            command::verify(
                &WasiFs,
                target,
                shown,
                &record,
                pip_record.as_deref(),
                &reader,
                *json,
            )
        }
        Command::Uninstall {
            flags,
            pip_record,
            pip_sites,
        } => {
            let record = record.ok_or("uninstall: no record in the request")?;
            let skip = dir.as_ref().and_then(|d| d.own.first().cloned());
            let at = dir.as_ref().map(|d| {
                (
                    RecordsAt {
                        dir: &d.dir,
                        shown: &d.shown,
                    },
                    skip.as_deref(),
                )
            });
            command::uninstall(
                &WasiFs,
                target,
                shown,
                &record,
                at,
                command::PipSites {
                    record: pip_record.as_deref(),
                    sites: pip_sites,
                },
                &reader,
                *flags,
            )
        }
        Command::Owner { paths, json } => {
            let d = dir
                .as_ref()
                .ok_or("owner: no directory of records in the request")?;
            let at = RecordsAt {
                dir: &d.dir,
                shown: &d.shown,
            };
            command::owner(&WasiFs, target, shown, at, &reader, paths, *json)
        }
        _ => unreachable!("dispatched by run"),
    }
    .map_err(|e| e.to_string())?;
    let _ = std::io::stdout().lock().write_all(out.stdout.as_bytes());
    let mut err = std::io::stderr().lock();
    for (severity, msg) in &out.messages {
        let _ = writeln!(err, "{}", line(*severity, msg));
    }
    Ok(out.exit)
}
