//! `stagemerge merge`: opens the two roots, runs the core, prints the outcome.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use cap_std::fs::Dir;
use std::sync::Arc;

use stagemerge_core::Options;
use stagemerge_core::abi::{BookRequest, Command, DirRequest, RecordsRequest, extra_root};
use stagemerge_core::record::file::WriteFormat;

use crate::cli::ManifestFormat;
use stagemerge_core::driver::Driver;
use stagemerge_core::outcome::Verbosity;
use stagemerge_core::{Action, Report};

use crate::config::MergeConfig;
use crate::exit::Exit;
use crate::lifecycle::{self, Role};
use crate::output::Messages;
use crate::progress::Progress;
use crate::sandbox::Access;
use crate::shim::{NativeFs, open_root, sync_filesystem};
use crate::{escalate, lock, sandbox};

pub(crate) fn run(cfg: &MergeConfig) -> Result<Exit> {
    if let Some(prefix) = &cfg.escalate {
        return escalate::rerun(prefix, &cfg.target);
    }
    let _lock = match &cfg.lock {
        Some(wanted) => Some(lock::acquire(wanted)?),
        None => None,
    };
    let started = Instant::now();
    let stage = open_root(&cfg.stage, "STAGE")?;
    let target = open_root(&cfg.target, "TARGET")?;
    // Held to the end, before the start is stamped: an uninstall that ran
    // before this merge is over, and none starts until its record is written.
    let _lifecycle = lifecycle::acquire(&target, &cfg.target, Role::Merge)?;
    if cfg.sandbox {
        return run_sandboxed(cfg);
    }

    let fs = if cfg.sync {
        NativeFs::new().syncing_copies()
    } else {
        NativeFs::new()
    };
    let fs = match cfg.in_flight {
        Some(n) => fs.with_in_flight(n),
        None => fs,
    };
    let records = crate::records::for_merge(cfg)?;
    let shown = (cfg.stage.as_path(), cfg.target.as_path());
    let phase = std::time::Instant::now();
    let mut driver = Driver::prepare(&fs, (&stage, &target), shown, cfg.options.clone(), records)?;
    log::debug!("records read and STAGE scanned in {:?}", phase.elapsed());
    let mut synced = Duration::ZERO;
    if cfg.sync {
        // What make install wrote may still be only in the page cache: make
        // it durable before any of it gets a name in TARGET, or a power cut
        // leaves named empty files where the staged ones were.
        sync_timed(&stage, &cfg.stage, &mut synced)?;
    }
    let phase = std::time::Instant::now();
    driver.journal()?;
    log::debug!("journaled in {:?}", phase.elapsed());
    let phase = std::time::Instant::now();
    let report = walk(cfg, &mut driver)?;
    log::debug!("merged in {:?}", phase.elapsed());
    if cfg.sync {
        sync_timed(&target, &cfg.target, &mut synced)?;
    }
    let phase = std::time::Instant::now();
    let records_read = driver.options().ownership.clone();
    let notes = driver.finish(&report)?;
    log::debug!("records written in {:?}", phase.elapsed());
    print_outcome(cfg, &report, notes, started, synced);
    // The process ends here: freeing the index of every record read (7 %
    // of a small merge into a prefix with 50 packages) would only
    // delay the exit, so a reference to it outlives the driver and is
    // never dropped. It holds no file or lock.
    std::mem::forget(records_read);
    Ok(if report.is_clean() {
        Exit::Ok
    } else {
        Exit::Problems
    })
}

/// `merge --sandbox`: the guest merges through read-write preopens, with
/// the same options and printing.
fn run_sandboxed(cfg: &MergeConfig) -> Result<Exit> {
    let roots = (cfg.stage.as_path(), cfg.target.as_path());
    let (records, dirs, options) = sandboxed_records(cfg)?;
    sandbox::run_with(
        Command::Merge,
        &options,
        cfg.printing,
        roots,
        Access::ReadWrite,
        records,
        &dirs,
    )
}

/// The records of a sandboxed merge: each record's directory and the
/// directory of records become preopens (in `dirs`), which the request
/// names by index; the ownership policies go in the options, the guest
/// reads the owners itself.
fn sandboxed_records(
    cfg: &MergeConfig,
) -> Result<(Option<RecordsRequest>, Vec<std::path::PathBuf>, Options)> {
    let mut options = cfg.options.clone();
    let mut dirs = Vec::new();
    let mut books = Vec::new();
    let next_root = |dirs: &mut Vec<std::path::PathBuf>, dir| {
        dirs.push(dir);
        extra_root(dirs.len() - 1).0
    };
    let dir = match &cfg.ownership {
        Some(spec) => {
            options.ownership = Some(Arc::new(spec.policies()));
            let real = spec.dir().canonicalize().with_context(|| {
                format!("resolve the directory of records {}", spec.dir().display())
            })?;
            Some(DirRequest {
                root: next_root(&mut dirs, real),
                shown: spec.dir().to_owned(),
                own: crate::records::names_in(spec.dir(), &spec.own())
                    .into_iter()
                    .map(|n| n.into_encoded_bytes())
                    .collect(),
            })
        }
        None => None,
    };
    let mut book = |path: &Path, format: WriteFormat, dirs: &mut Vec<_>| -> Result<()> {
        let (dir, name) = crate::records::located(path)?;
        books.push(BookRequest {
            root: next_root(dirs, dir),
            name: name.into_encoded_bytes(),
            shown: path.to_owned(),
            format,
        });
        Ok(())
    };
    if let Some((path, format)) = &cfg.manifest {
        let format = match format {
            ManifestFormat::Text => WriteFormat::Text,
            ManifestFormat::Json => WriteFormat::Json,
        };
        book(path, format, &mut dirs)?;
    }
    if let Some(r) = &cfg.sage_record {
        book(&r.path, WriteFormat::Sage(r.header()), &mut dirs)?;
    }
    let records = (!books.is_empty() || dir.is_some()).then(|| RecordsRequest {
        level: cfg.record,
        reserved: cfg.reader.reserved().clone(),
        books,
        dir,
    });
    Ok((records, dirs, options))
}

/// The merge itself, with the progress line and `--verbose` listing.
fn walk(cfg: &MergeConfig, driver: &mut Driver<'_, NativeFs>) -> Result<Report> {
    let p = cfg.printing;
    let mut stdout = std::io::stdout().lock();
    let shown = p.verbosity != Verbosity::Quiet && std::io::stderr().is_terminal();
    let mut progress = Progress::new(shown);
    let mut on_action = |path: &Path, action: Action| {
        progress.entry(path);
        if let Some(line) = p.action_line(path, action) {
            // A closed stdout (`| head`) is not an error of the merge.
            let _ = writeln!(stdout, "{line}");
        }
    };
    let report = driver.merge(&mut on_action);
    progress.finish();
    Ok(report?)
}

/// `--sync`: one `syncfs` of the filesystem holding `dir` (named `path`),
/// its time added to `total`.
fn sync_timed(dir: &Dir, path: &Path, total: &mut Duration) -> Result<()> {
    let t = Instant::now();
    sync_filesystem(dir).with_context(|| format!("syncfs {}", path.display()))?;
    *total += t.elapsed();
    Ok(())
}

/// Problems, warnings, the records' notes and the summary on stderr; the
/// JSON report on stdout with `--json`.
fn print_outcome(
    cfg: &MergeConfig,
    report: &Report,
    notes: Vec<String>,
    started: Instant,
    synced: Duration,
) {
    let (p, stage, target) = (cfg.printing, &cfg.stage, &cfg.target);
    let mut out = Messages::new();
    for (severity, msg) in p.messages(report, stage, target) {
        out.message(severity, &msg);
    }
    if p.verbosity != Verbosity::Quiet {
        for n in notes {
            out.warning(&n);
        }
    }
    let mut timing = format!(" in {:.3} s", started.elapsed().as_secs_f64());
    if cfg.sync {
        timing.push_str(&format!(", synced in {:.3} s", synced.as_secs_f64()));
    }
    if let Some(summary) = p.summary(report, stage, target, &timing) {
        out.note(&summary);
    }
    if let Some(json) = p.json(report, stage, target, Some(started.elapsed().as_secs_f64())) {
        let _ = std::io::stdout().lock().write_all(json.as_bytes());
    }
}
