//! Paths and globs that select entries by their path below TARGET
//! (`--protect`, `--allow-overwrite`).

use std::fmt;
use std::path::Path;

use glob::{MatchOptions, Pattern};

/// A set of patterns, each a path, a directory (`etc/`, or a path that is
/// a directory: everything below it) or a glob (`*` and `?` stay within
/// one component, `**` crosses them), relative to TARGET.
#[derive(Clone)]
pub struct Patterns {
    given: Vec<String>,
    compiled: Vec<Pattern>,
}

/// `*` does not cross `/`; names starting with `.` are matched like others.
const OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

impl Patterns {
    /// Compiles `given`; an invalid glob is an error naming it.
    pub fn new(given: Vec<String>) -> Result<Patterns, String> {
        let mut compiled = Vec::new();
        for p in &given {
            let bare = p.trim_start_matches("./").trim_end_matches('/');
            // A `..` could only select what is outside TARGET, which no
            // merge touches: refused like an absolute path, not ignored.
            if bare.is_empty() || bare.starts_with('/') || bare.split('/').any(|c| c == "..") {
                return Err(format!(
                    "pattern {p:?}: give a path relative to TARGET, without `..` (e.g. etc/ or lib/*.so)"
                ));
            }
            let bad = |e: glob::PatternError| format!("pattern {p:?}: {e}");
            compiled.push(Pattern::new(bare).map_err(bad)?);
            // A pattern names a path or a directory: what is below it too.
            compiled.push(Pattern::new(&format!("{bare}/**")).map_err(bad)?);
        }
        Ok(Patterns { given, compiled })
    }

    /// No patterns.
    pub fn none() -> Patterns {
        Patterns {
            given: Vec::new(),
            compiled: Vec::new(),
        }
    }

    /// The patterns as given.
    pub fn given(&self) -> &[String] {
        &self.given
    }

    /// Whether `path` (relative to TARGET) is selected.
    pub fn matches(&self, path: &Path) -> bool {
        self.compiled
            .iter()
            .any(|p| p.matches_path_with(path, OPTIONS))
    }
}

impl fmt::Debug for Patterns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.given).finish()
    }
}

impl Default for Patterns {
    fn default() -> Self {
        Patterns::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_covers_what_is_below_and_a_star_stays_in_its_component() {
        let p = Patterns::new(vec!["etc/".into(), "lib/*.so".into()]).unwrap();
        for yes in ["etc", "etc/x.conf", "etc/a/b.conf", "lib/libz.so"] {
            assert!(p.matches(Path::new(yes)), "{yes}");
        }
        for no in ["etcetera", "lib/sub/libz.so", "usr/etc/x.conf"] {
            assert!(!p.matches(Path::new(no)), "{no}");
        }
        assert!(!Patterns::none().matches(Path::new("etc")));
        assert!(Patterns::new(vec!["/etc".into()]).is_err());
        assert!(Patterns::new(vec!["a[".into()]).is_err());
    }

    #[test]
    fn patterns_reaching_out_of_target_are_refused_like_absolute_ones() {
        for bad in ["../etc", "../x/*", "../*", "a/../../b", "./..", "lib/.."] {
            let e = Patterns::new(vec![bad.into()]).unwrap_err();
            assert!(e.contains("without `..`"), "{bad}: {e}");
        }
        assert!(Patterns::new(vec!["..foo/x".into(), "a..b".into()]).is_ok());
    }
}
