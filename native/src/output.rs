//! What a run tells people on stderr: `stagemerge: error: ...`,
//! `stagemerge: warning: ...` and plain notes, the labels colored when
//! `--color` says so (by default when stderr is a terminal that takes
//! colors and `NO_COLOR` is unset).

use std::io::Write;

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};
use stagemerge_core::Severity;
use stagemerge_core::outcome::painted;

use crate::cli::Color;

const ERROR: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
const WARNING: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));

/// The label in the severity's style (the escapes are dropped by
/// anstream where colors are off).
fn paint(severity: Severity, label: &str) -> String {
    let style = match severity {
        Severity::Error => ERROR,
        Severity::Warning => WARNING,
    };
    format!("{style}{label}{style:#}")
}

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
        self.message(Severity::Error, msg);
    }

    pub(crate) fn warning(&mut self, msg: &str) {
        self.message(Severity::Warning, msg);
    }

    pub(crate) fn note(&mut self, msg: &str) {
        let _ = writeln!(self.err, "{}", painted(None, msg, paint));
    }

    /// The line the sandboxed guest prints too (`core::outcome::line`), its
    /// label colored as `--color` says.
    pub(crate) fn message(&mut self, severity: Severity, msg: &str) {
        let _ = writeln!(self.err, "{}", painted(Some(severity), msg, paint));
    }
}

/// Prints what a command of the core said (`stagemerge_core::command`):
/// stdout whole, then each message on stderr; returns its exit status.
pub(crate) fn print(out: &stagemerge_core::command::Output) -> crate::exit::Exit {
    let _ = std::io::stdout().lock().write_all(out.stdout.as_bytes());
    let mut m = Messages::new();
    for (severity, msg) in &out.messages {
        match severity {
            Some(s) => m.message(*s, msg),
            None => m.note(msg),
        }
    }
    if out.exit == 0 {
        crate::exit::Exit::Ok
    } else {
        crate::exit::Exit::Problems
    }
}
