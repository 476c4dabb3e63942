//! A report as lines for people: every problem, and warnings grouped by
//! kind so that a reinstall replacing ten thousand files says so in a few
//! lines rather than ten thousand.

use std::path::Path;

use super::{Report, Warning};

/// How many examples of one kind of warning are shown before the rest is
/// counted.
const EXAMPLES: usize = 3;

/// How a message is to be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// An entry was not merged.
    Error,
    /// The merge went on, but the user should know.
    Warning,
}

impl Warning {
    /// The kind's name in counts ("replaced", "kept", "concurrent write").
    fn kind_word(&self) -> &'static str {
        match self {
            Warning::Replaced { .. } => "replaced files",
            Warning::Kept { .. } => "kept files",
            Warning::ConcurrentWrite { .. } => "concurrent writes",
            Warning::Protected { .. } => "protected files",
        }
    }
}

impl Report {
    /// The report's messages with the roots as the user named them: every
    /// problem, then the warnings of each kind in the order they arose. With
    /// `all` false, a kind with more than a few warnings shows the first ones
    /// and a count of the rest.
    pub fn messages(
        &self,
        stage_root: &Path,
        target_root: &Path,
        all: bool,
    ) -> Vec<(Severity, String)> {
        let mut out: Vec<(Severity, String)> = self
            .problems
            .iter()
            .map(|p| (Severity::Error, p.render(stage_root, target_root)))
            .collect();
        let mut kinds: Vec<&'static str> = Vec::new();
        for w in &self.warnings {
            if !kinds.contains(&w.kind_word()) {
                kinds.push(w.kind_word());
            }
        }
        for kind in kinds {
            let of_kind: Vec<&Warning> = self
                .warnings
                .iter()
                .filter(|w| w.kind_word() == kind)
                .collect();
            let shown = if all || of_kind.len() <= EXAMPLES + 1 {
                of_kind.len()
            } else {
                EXAMPLES
            };
            for w in &of_kind[..shown] {
                out.push((Severity::Warning, w.render(stage_root, target_root)));
            }
            if shown < of_kind.len() {
                out.push((
                    Severity::Warning,
                    format!(
                        "... and {} more {kind} ({} in all; --verbose lists every action)",
                        of_kind.len() - shown,
                        of_kind.len()
                    ),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn replaced(n: usize) -> Report {
        Report {
            warnings: (0..n)
                .map(|i| Warning::Replaced {
                    path: PathBuf::from(format!("f{i}")),
                    collided: None,
                })
                .chain([Warning::Kept {
                    path: PathBuf::from("k"),
                    collided: None,
                    stored: false,
                }])
                .collect(),
            ..Report::default()
        }
    }

    #[test]
    fn many_warnings_of_a_kind_are_counted_not_listed() {
        let r = replaced(1000);
        let m = r.messages(Path::new("/s"), Path::new("/t"), false);
        assert_eq!(m.len(), EXAMPLES + 2, "{m:?}");
        assert!(
            m[EXAMPLES]
                .1
                .contains("997 more replaced files (1000 in all")
        );
        assert!(m[EXAMPLES + 1].1.starts_with("kept /t/k"));
        assert_eq!(
            r.messages(Path::new("/s"), Path::new("/t"), true).len(),
            1001
        );
    }

    #[test]
    fn a_few_warnings_are_all_listed() {
        let m = replaced(EXAMPLES + 1).messages(Path::new("/s"), Path::new("/t"), false);
        assert_eq!(m.len(), EXAMPLES + 2);
        assert!(
            m.iter()
                .all(|(s, l)| *s == Severity::Warning && !l.contains("more"))
        );
    }
}
