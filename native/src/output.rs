//! What a run tells people on stderr: `stagemerge: error: ...`,
//! `stagemerge: warning: ...` and plain notes, the labels colored when
//! `--color` says so (by default when stderr is a terminal that takes
//! colors and `NO_COLOR` is unset).

use std::io::Write;

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};
use stagemerge_core::Severity;

use crate::cli::Color;

const ERROR: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
const WARNING: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));

/// Applies `--color` to everything this process writes through anstream.
pub(crate) fn set_color(c: Color) {
    let choice = match c {
        Color::Auto => ColorChoice::Auto,
        Color::Always => ColorChoice::Always,
        Color::Never => ColorChoice::Never,
    };
    choice.write_global();
}

/// stderr, colored as chosen.
pub(crate) struct Messages {
    err: AutoStream<std::io::Stderr>,
}

impl Messages {
    pub(crate) fn new() -> Self {
        Messages {
            err: AutoStream::auto(std::io::stderr()),
        }
    }

    pub(crate) fn error(&mut self, msg: &str) {
        let _ = writeln!(self.err, "stagemerge: {ERROR}error:{ERROR:#} {msg}");
    }

    pub(crate) fn warning(&mut self, msg: &str) {
        let _ = writeln!(self.err, "stagemerge: {WARNING}warning:{WARNING:#} {msg}");
    }

    pub(crate) fn note(&mut self, msg: &str) {
        let _ = writeln!(self.err, "stagemerge: {msg}");
    }

    pub(crate) fn message(&mut self, severity: Severity, msg: &str) {
        match severity {
            Severity::Error => self.error(msg),
            Severity::Warning => self.warning(msg),
        }
    }
}
