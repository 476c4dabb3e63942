//! `stagemerge merge`: opens the two roots, runs the core, prints the outcome.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use cap_std::fs::Dir;
use stagemerge_core::{Action, merge};

use crate::config::{MergeConfig, Verbosity};
use crate::exit::Exit;
use crate::shim::NativeFs;

pub(crate) fn run(cfg: &MergeConfig) -> Result<Exit> {
    let started = Instant::now();
    let stage = open_root(&cfg.stage, "STAGE")?;
    let target = open_root(&cfg.target, "TARGET")?;

    let fs = NativeFs::new();
    let verbose = cfg.verbosity == Verbosity::Verbose;
    let mut out = std::io::stdout().lock();
    let mut on_action = |path: &Path, action: Action| {
        if verbose {
            // A closed stdout (`| head`) is not an error of the merge.
            let _ = writeln!(out, "{:<10} {}", action_word(action), path.display());
        }
    };
    let report = merge(&fs, &stage, &target, &cfg.options, &mut on_action)
        .map_err(|e| anyhow::anyhow!(e.render(&cfg.stage, &cfg.target)))?;

    let mut err = std::io::stderr().lock();
    for p in &report.problems {
        let _ = writeln!(
            err,
            "stagemerge: error: {}",
            p.render(&cfg.stage, &cfg.target)
        );
    }
    if cfg.verbosity != Verbosity::Quiet {
        for w in &report.warnings {
            let _ = writeln!(
                err,
                "stagemerge: warning: {}",
                w.render(&cfg.stage, &cfg.target)
            );
        }
        let _ = writeln!(
            err,
            "stagemerge: {} -> {}: {} in {:.3} s",
            cfg.stage.display(),
            cfg.target.display(),
            report.summary(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if report.is_clean() {
        Exit::Ok
    } else {
        Exit::Problems
    })
}

/// Opens a root for reading. cap-std's ambient open gives an `O_PATH`
/// descriptor on Linux, which can be neither listed nor `fchmod`ed.
fn open_root(p: &Path, role: &str) -> Result<Dir> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        p,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("open {role} {}", p.display()))?;
    Ok(Dir::from_std_file(std::fs::File::from(fd)))
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::MovedDir => "moved-dir",
        Action::Moved => "moved",
        Action::CreatedDir => "mkdir",
        Action::MergedDir => "merge-dir",
        Action::Identical => "identical",
        Action::Replaced => "replaced",
        Action::Kept => "kept",
        Action::ConcurrentWrite => "concurrent",
        Action::Conflict => "conflict",
        Action::Error => "error",
    }
}
