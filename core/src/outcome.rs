//! What a merge prints, rendered here once for the native binary and the
//! sandboxed guest, so the two print the same lines by construction.

use std::path::Path;

use crate::report::{Report, Severity};
use crate::step::Action;

/// How much a merge tells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// Problems only.
    Quiet,
    /// Problems, warnings (a few of each kind) and the summary.
    #[default]
    Normal,
    /// Also every action on stdout, and every warning.
    Verbose,
}

/// How a merge's outcome is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Printing {
    /// How much to tell.
    pub verbosity: Verbosity,
    /// stdout is the JSON report alone.
    pub json: bool,
}

impl Printing {
    /// The `--verbose` line for one action on stdout; `None` when actions
    /// are not listed (not verbose, or stdout is the JSON report).
    pub fn action_line(&self, path: &Path, action: Action) -> Option<String> {
        (self.verbosity == Verbosity::Verbose && !self.json)
            .then(|| format!("{:<10} {}", action.word(), path.display()))
    }

    /// Problems, then warnings (none when quiet), for stderr.
    pub fn messages(
        &self,
        report: &Report,
        stage: &Path,
        target: &Path,
    ) -> Vec<(Severity, String)> {
        let all = self.verbosity == Verbosity::Verbose;
        let mut out = report.messages(stage, target, all);
        if self.verbosity == Verbosity::Quiet {
            out.retain(|(s, _)| *s == Severity::Error);
        }
        out
    }

    /// The closing note, `STAGE -> TARGET: summary` and `detail` (timing,
    /// or where it ran); `None` when quiet.
    pub fn summary(
        &self,
        report: &Report,
        stage: &Path,
        target: &Path,
        detail: &str,
    ) -> Option<String> {
        (self.verbosity != Verbosity::Quiet).then(|| {
            format!(
                "{} -> {}: {}{detail}",
                stage.display(),
                target.display(),
                report.summary()
            )
        })
    }

    /// The JSON report for stdout, with `--json`; `seconds`: how long the
    /// merge took, where the front end timed it.
    pub fn json(
        &self,
        report: &Report,
        stage: &Path,
        target: &Path,
        seconds: Option<f64>,
    ) -> Option<String> {
        self.json
            .then(|| report.to_json_timed(stage, target, seconds))
    }
}

/// A message as stderr shows it without color: `stagemerge: LABEL: msg`, or
/// `stagemerge: msg` for a note (`None`).
pub fn line(severity: Option<Severity>, msg: &str) -> String {
    painted(severity, msg, |_, label| label.to_owned())
}

/// [`line`], with the label (`error:`, `warning:`) passed through `paint`
/// (the native binary colors it on a terminal).
pub fn painted(
    severity: Option<Severity>,
    msg: &str,
    paint: impl Fn(Severity, &str) -> String,
) -> String {
    let label = match severity {
        Some(s @ Severity::Error) => paint(s, "error:"),
        Some(s @ Severity::Warning) => paint(s, "warning:"),
        None => return format!("stagemerge: {msg}"),
    };
    format!("stagemerge: {label} {msg}")
}
