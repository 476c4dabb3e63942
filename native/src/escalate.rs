//! `SAGE_SUDO` escalation: when the user may not write TARGET and
//! `SAGE_SUDO` names a command prefix (`sudo -E`), the merge runs again
//! through that prefix, in copy mode, so that new files in TARGET belong to
//! the escalated user and STAGE stays the builder's. Never otherwise.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::exit::Exit;

/// The environment variable Sage's build uses for its escalation prefix.
pub(crate) const SAGE_SUDO: &str = "SAGE_SUDO";

/// The hidden subcommand the probe runs through the prefix.
pub(crate) const CHECK: &str = "escalation-check";
const CHECK_REPLY: &str = "stagemerge escalation ok";

/// The prefix, split as a shell would, if escalation applies: `SAGE_SUDO`
/// is set, this run was not itself escalated, and TARGET is not writable
/// for lack of permission (a read-only filesystem is no reason).
pub(crate) fn prefix(target: &Path, escalated: bool) -> Result<Option<Vec<String>>> {
    let Some(raw) = std::env::var_os(SAGE_SUDO) else {
        return Ok(None);
    };
    if escalated || raw.is_empty() {
        return Ok(None);
    }
    if !crate::shim::denied_writing(target) {
        return Ok(None);
    }
    let raw = raw
        .into_string()
        .map_err(|_| anyhow::anyhow!("{SAGE_SUDO} is not valid UTF-8"))?;
    let words = shell_words::split(&raw)
        .with_context(|| format!("split {SAGE_SUDO}={raw:?} like a shell"))?;
    if words.is_empty() {
        return Ok(None);
    }
    Ok(Some(words))
}

/// Runs this merge again through `prefix`, in copy mode, and returns its
/// exit status. First checks that the prefix runs this binary at all: if
/// not (refused, not found), nothing is done (exit 2).
pub(crate) fn rerun(prefix: &[String], target: &Path) -> Result<Exit> {
    let exe = std::env::current_exe().context("find this program's own path")?;
    let shown = prefix.join(" ");
    let probe = match Command::new(&prefix[0])
        .args(&prefix[1..])
        .arg(&exe)
        .arg(CHECK)
        .output()
    {
        Ok(p) => p,
        Err(e) => bail!(
            "{} is not writable and escalation through {SAGE_SUDO} ({shown}) failed: cannot run {}: {e}; nothing was done",
            target.display(),
            prefix[0]
        ),
    };
    let stdout = String::from_utf8_lossy(&probe.stdout);
    if !probe.status.success() || stdout.trim() != CHECK_REPLY {
        bail!(
            "{} is not writable and escalation through {SAGE_SUDO} ({shown}) failed ({}): {}; nothing was done",
            target.display(),
            probe.status,
            String::from_utf8_lossy(&probe.stderr).trim()
        );
    }
    let _ = writeln!(
        std::io::stderr(),
        "stagemerge: {} is not writable: merging through {SAGE_SUDO} ({shown}), in copy mode",
        target.display()
    );
    let status = Command::new(&prefix[0])
        .args(&prefix[1..])
        .arg(&exe)
        .args(escalated_args())
        .status()
        .with_context(|| format!("run {SAGE_SUDO} ({shown})"))?;
    Ok(match status.code() {
        Some(0) => Exit::Ok,
        Some(1) => Exit::Problems,
        _ => Exit::NothingDone,
    })
}

/// This run's arguments with `--copy --escalated` added to `merge`.
fn escalated_args() -> Vec<OsString> {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let at = args.iter().position(|a| a == "merge").map_or(0, |i| i + 1);
    args.splice(
        at..at,
        [OsString::from("--copy"), OsString::from("--escalated")],
    );
    args
}

/// What the probe prints when it runs.
pub(crate) fn check() -> Exit {
    let _ = writeln!(std::io::stdout(), "{CHECK_REPLY}");
    Exit::Ok
}
