//! `stagemerge merge`: opens the two roots, runs the core, prints the outcome.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use cap_std::fs::Dir;
use stagemerge_core::abi::Command;
use stagemerge_core::outcome::Verbosity;
use stagemerge_core::ownership::{Version, store};
use stagemerge_core::record::Listings;
use stagemerge_core::{Action, Fs, Options, Report, Stamp, merge_since, wait_past};

use crate::config::{MergeConfig, OwnershipSpec};
use crate::exit::Exit;
use crate::lifecycle::{self, Role};
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
    // The merge's start comes before the records are read: a file another
    // merge places after this stamp is its concurrent write (kept, never
    // replaced), and one placed before it had its journal written first,
    // so the records read below name its owner.
    let start = fs.clock(&target);
    let options = match &cfg.ownership {
        Some(spec) => {
            // Change times are stamped from a coarse clock: a peer's write
            // in the same tick as `start` would look older than it.
            wait_past(&fs, &target, start);
            Options {
                ownership: Some(Arc::new(spec.read_for_merge()?)),
                ..cfg.options.clone()
            }
        }
        None => cfg.options.clone(),
    };
    let mut recording = Recording::prepare(cfg, &fs)?;
    let options = match options.ownership {
        Some(_) => options,
        None => Options {
            earlier: recording.earlier().map(Arc::new),
            ..options
        },
    };
    let mut synced = Duration::ZERO;
    if cfg.sync {
        // What make install wrote may still be only in the page cache: make
        // it durable before any of it gets a name in TARGET, or a power cut
        // leaves named empty files where the staged ones were.
        sync_timed(&stage, &cfg.stage, &mut synced)?;
    }
    recording.journal()?;
    let listings = recording.listings();
    let report = match walk(cfg, &options, &fs, (&stage, &target), listings, start) {
        Ok(r) => r,
        Err(e) => {
            recording.abandon()?;
            return Err(e);
        }
    };
    if cfg.sync {
        sync_timed(&target, &cfg.target, &mut synced)?;
    }
    let (mut notes, superseded) = recording.finish(&fs, &target, &report)?;
    if let Some(spec) = &cfg.ownership {
        notes.extend(sweep(spec, &fs, &target, &cfg.target, &superseded)?);
    }
    print_outcome(cfg, &report, notes, started, synced);
    Ok(if report.is_clean() {
        Exit::Ok
    } else {
        Exit::Problems
    })
}

/// After the record is written: removes from the clobber store the
/// versions of `superseded` paths (the package's own from before this
/// merge) that no record lists now. A concurrent merge that read the
/// earlier record may have kept one for this package while it ran; it does
/// so under the path's lock and only while the record still lists it, and
/// the record was rewritten before this, so nothing is kept for it after.
/// A path the sweep cannot clean is a note (the version stays until the
/// path's next prune): nothing is lost.
fn sweep(
    spec: &OwnershipSpec,
    fs: &NativeFs,
    target: &Dir,
    shown: &Path,
    superseded: &[PathBuf],
) -> Result<Vec<String>> {
    if superseded.is_empty() || !target.exists(store::ROOT) {
        return Ok(Vec::new());
    }
    let mut notes = Vec::new();
    for path in superseded {
        // The records are read under the path's lock: nothing is kept for
        // this path meanwhile, and a merge that keeps one after checks
        // that its lister's record (this one, rewritten) still lists it.
        let needed = || -> std::io::Result<store::Needed> {
            let now = spec
                .read()
                .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
            let claims = now.owners.claims(path);
            Ok(Box::new(move |v: &Version| {
                claims.unknown || claims.versions.contains(v)
            }))
        };
        if let Err(e) = store::sweep(fs, target, path, &needed) {
            notes.push(format!(
                "prune the clobber store of {}: {e}",
                stagemerge_core::rel::under(shown, path).display()
            ));
        }
    }
    Ok(notes)
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
    options: &Options,
    fs: &NativeFs,
    (stage, target): (&Dir, &Dir),
    listings: Listings,
    start: Stamp,
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
    let report = merge_since(fs, stage, target, options, listings, start, &mut on_action)
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
