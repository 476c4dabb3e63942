//! `stagemerge merge`: opens the two roots, runs the core, prints the outcome.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use stagemerge_core::{Action, Severity, merge_listed};

use crate::config::{MergeConfig, Verbosity};
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
        let mut args = vec!["merge".to_owned(), "--on-conflict".into()];
        args.push(sandbox::policy_word(cfg.options.on_conflict).into());
        match cfg.verbosity {
            Verbosity::Quiet => args.push("--quiet".into()),
            Verbosity::Verbose => args.push("--verbose".into()),
            Verbosity::Normal => {}
        }
        if cfg.json {
            args.push("--json".into());
        }
        let roots = sandbox::Roots::new(&cfg.stage, stage, &cfg.target, target);
        return sandbox::run(roots, Access::ReadWrite, args);
    }

    let fs = if cfg.sync {
        NativeFs::new().syncing_copies()
    } else {
        NativeFs::new()
    };
    let mut recording = Recording::prepare(cfg, &fs)?;
    let mut synced = std::time::Duration::ZERO;
    if cfg.sync {
        // What make install wrote may still be only in the page cache: make
        // it durable before any of it gets a name in TARGET, or a power cut
        // leaves named empty files where the staged ones were.
        let t = Instant::now();
        sync_filesystem(&stage).with_context(|| format!("syncfs {}", cfg.stage.display()))?;
        synced += t.elapsed();
    }
    recording.journal()?;
    let verbose = cfg.verbosity == Verbosity::Verbose;
    let mut stdout = std::io::stdout().lock();
    let quiet = cfg.verbosity == Verbosity::Quiet;
    let mut progress = Progress::new(!quiet && std::io::stderr().is_terminal());
    let mut on_action = |path: &Path, action: Action| {
        progress.entry(path);
        // With --json, stdout is the JSON document alone.
        if verbose && !cfg.json {
            // A closed stdout (`| head`) is not an error of the merge.
            let _ = writeln!(stdout, "{:<10} {}", action.word(), path.display());
        }
    };
    let listings = recording.listings();
    let report = merge_listed(&fs, &stage, &target, &cfg.options, listings, &mut on_action)
        .map_err(|e| anyhow::anyhow!(e.render(&cfg.stage, &cfg.target)));
    progress.finish();
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            recording.abandon()?;
            return Err(e);
        }
    };

    if cfg.sync {
        let t = Instant::now();
        sync_filesystem(&target).with_context(|| format!("syncfs {}", cfg.target.display()))?;
        synced += t.elapsed();
    }
    let mut notes = recording.finish(&fs, &target, &report)?;

    let mut out = Messages::new();
    let quiet = cfg.verbosity == Verbosity::Quiet;
    for (severity, msg) in report.messages(&cfg.stage, &cfg.target, verbose) {
        if severity == Severity::Error || !quiet {
            out.message(severity, &msg);
        }
    }
    if !quiet {
        for n in notes.drain(..) {
            out.warning(&n);
        }
        let sync = if cfg.sync {
            format!(", synced in {:.3} s", synced.as_secs_f64())
        } else {
            String::new()
        };
        out.note(&format!(
            "{} -> {}: {} in {:.3} s{sync}",
            cfg.stage.display(),
            cfg.target.display(),
            report.summary(),
            started.elapsed().as_secs_f64()
        ));
    }
    if cfg.json {
        let _ = std::io::stdout()
            .lock()
            .write_all(report.to_json(&cfg.stage, &cfg.target).as_bytes());
    }
    Ok(if report.is_clean() {
        Exit::Ok
    } else {
        Exit::Problems
    })
}
