//! `stagemerge merge`: opens the two roots, runs the core, prints the outcome.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use stagemerge_core::{Action, Owned, Severity, merge};

use crate::cli::ManifestFormat;
use crate::config::{MergeConfig, Verbosity};
use crate::exit::Exit;
use crate::output::Messages;
use crate::progress::Progress;
use crate::sandbox::Access;
use crate::shim::{NativeFs, open_root, sync_filesystem};
use crate::{escalate, lock, records, sandbox};

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

    let fs = NativeFs::new();
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
    let report = merge(&fs, &stage, &target, &cfg.options, &mut on_action)
        .map_err(|e| anyhow::anyhow!(e.render(&cfg.stage, &cfg.target)));
    progress.finish();
    let report = report?;

    let mut notes = write_records(cfg, &report.owned)?;
    let mut synced = None;
    if cfg.sync {
        let t = Instant::now();
        sync_filesystem(&target).with_context(|| format!("syncfs {}", cfg.target.display()))?;
        synced = Some(t.elapsed());
    }

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
        let sync = synced.map_or(String::new(), |d| {
            format!(", synced in {:.3} s", d.as_secs_f64())
        });
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

/// Writes the manifest and the Sage record that were asked for; returns
/// warnings about paths a format cannot hold.
fn write_records(cfg: &MergeConfig, owned: &[Owned]) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    if let Some((path, format)) = &cfg.manifest {
        let bytes = match format {
            ManifestFormat::Json => records::write_json(owned),
            ManifestFormat::Text => {
                let (bytes, skipped) = records::write_text(owned);
                for p in skipped {
                    notes.push(format!(
                        "{} has a newline in its name: left out of the text manifest {} (use --manifest-format json)",
                        cfg.target.join(p).display(),
                        path.display()
                    ));
                }
                bytes
            }
        };
        records::write_atomic(path, &bytes)?;
    }
    if let Some(r) = &cfg.sage_record {
        let (bytes, lossy) = records::write_sage(r, owned);
        for p in lossy {
            notes.push(format!(
                "{} is not UTF-8: Sage's record {} holds it with U+FFFD in place of the bad bytes",
                cfg.target.join(p).display(),
                r.path.display()
            ));
        }
        records::write_atomic(&r.path, &bytes)?;
    }
    Ok(notes)
}
