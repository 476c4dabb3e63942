//! `stagemerge merge`: opens the two roots, runs the core, prints the outcome.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use cap_std::fs::Dir;
use stagemerge_core::abi::Command;
use stagemerge_core::outcome::Verbosity;
use stagemerge_core::record::Listings;
use stagemerge_core::{Action, Report, merge_listed};

use crate::config::MergeConfig;
use crate::exit::Exit;
use crate::output::Messages;
use crate::progress::Progress;
use crate::records::Recording;
use crate::sandbox::Access;
use crate::shim::{NativeFs, open_root, sync_filesystem};
use crate::{escalate, lock, sandbox};

pub(crate) fn run(cfg: &MergeConfig) -> Result<Exit> {
    if let Some(prefix) = &cfg.escalate {
        return escalate::rerun(prefix, &cfg.target);
    }
    let _lock = match &cfg.lock {
        Some((path, shared)) => Some(lock::acquire(path, *shared)?),
        None => None,
    };
    let started = Instant::now();
    let stage = open_root(&cfg.stage, "STAGE")?;
    let target = open_root(&cfg.target, "TARGET")?;
    if cfg.sandbox {
        return run_sandboxed(cfg);
    }

    let fs = if cfg.sync {
        NativeFs::new().syncing_copies()
    } else {
        NativeFs::new()
    };
    let mut recording = Recording::prepare(cfg, &fs)?;
    let mut synced = Duration::ZERO;
    if cfg.sync {
        // What make install wrote may still be only in the page cache: make
        // it durable before any of it gets a name in TARGET, or a power cut
        // leaves named empty files where the staged ones were.
        sync_timed(&stage, &cfg.stage, &mut synced)?;
    }
    recording.journal()?;
    let listings = recording.listings();
    let report = match walk(cfg, &fs, &stage, &target, listings) {
        Ok(r) => r,
        Err(e) => {
            recording.abandon()?;
            return Err(e);
        }
    };
    if cfg.sync {
        sync_timed(&target, &cfg.target, &mut synced)?;
    }
    let notes = recording.finish(&fs, &target, &report)?;
    print_outcome(cfg, &report, notes, started, synced);
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
    sandbox::run(
        Command::Merge,
        &cfg.options,
        cfg.printing,
        roots,
        Access::ReadWrite,
    )
}

/// The merge itself, with the progress line and `--verbose` listing.
fn walk(
    cfg: &MergeConfig,
    fs: &NativeFs,
    stage: &Dir,
    target: &Dir,
    listings: Listings,
) -> Result<Report> {
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
    let report = merge_listed(fs, stage, target, &cfg.options, listings, &mut on_action)
        .map_err(|e| anyhow::anyhow!(e.render(&cfg.stage, &cfg.target)));
    progress.finish();
    report
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
    if let Some(json) = p.json(report, stage, target) {
        let _ = std::io::stdout().lock().write_all(json.as_bytes());
    }
}
