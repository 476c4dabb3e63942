//! The paths below TARGET that are stagemerge's own state, which no record
//! may list: removing them would lose other packages' kept versions or
//! records.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use crate::ownership::store;

/// What a reserved path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// The clobber store (`.stagemerge/` at TARGET's root).
    Store,
    /// The directory of records (`--manifest-dir`) inside TARGET.
    RecordsDir,
    /// A record (or its journal) this run reads or writes, inside TARGET.
    Record,
}

impl What {
    /// Every kind, in a fixed order (the sandbox's request names them by
    /// [`What::word`]).
    pub const ALL: [What; 3] = [What::Store, What::RecordsDir, What::Record];

    /// A short word for it.
    pub fn word(self) -> &'static str {
        match self {
            What::Store => "store",
            What::RecordsDir => "records-dir",
            What::Record => "record",
        }
    }

    /// How a message names it.
    pub fn describe(self) -> &'static str {
        match self {
            What::Store => "the clobber store",
            What::RecordsDir => "the directory of records",
            What::Record => "a record or journal",
        }
    }
}

/// Paths relative to TARGET's root (as [`crate::rel`] spells them) that a
/// record may not list and that `uninstall` never removes, however the path
/// that leads there is spelled. Components compare without regard to ASCII
/// case: on a case-insensitive filesystem `.STAGEMERGE` is the store.
#[derive(Clone, Debug)]
pub struct Reserved {
    /// Each reserved path, whether everything below it is reserved too,
    /// and what it is.
    paths: Vec<(PathBuf, bool, What)>,
}

impl Default for Reserved {
    /// The clobber store only.
    fn default() -> Self {
        Reserved {
            paths: vec![(PathBuf::from(store::ROOT), true, What::Store)],
        }
    }
}

impl Reserved {
    /// Also reserves the directory `rel` and everything in it.
    pub fn tree(&mut self, rel: PathBuf, what: What) -> &mut Self {
        self.paths.push((rel, true, what));
        self
    }

    /// Also reserves the single entry `rel`.
    pub fn entry(&mut self, rel: PathBuf, what: What) -> &mut Self {
        self.paths.push((rel, false, what));
        self
    }

    /// Each reserved path, whether everything below it is reserved too, and
    /// what it is (to hand the same rules to the sandbox).
    pub fn paths(&self) -> impl Iterator<Item = (&Path, bool, What)> {
        self.paths
            .iter()
            .map(|(p, tree, what)| (p.as_path(), *tree, *what))
    }

    /// What `path` (relative to TARGET's root, `.` and `..` free) would
    /// touch of stagemerge's state, if anything.
    pub fn claims(&self, path: &Path) -> Option<What> {
        self.paths.iter().find_map(|(p, tree, what)| {
            let mut mine = names(p);
            let mut theirs = names(path);
            loop {
                match (mine.next(), theirs.next()) {
                    (Some(a), Some(b)) if same(a, b) => {}
                    (Some(_), _) => return None,
                    (None, None) => return Some(*what),
                    (None, Some(_)) => return tree.then_some(*what),
                }
            }
        })
    }

    /// [`Reserved::claims`] for a path given as the directories below
    /// TARGET's root that hold it and its name.
    pub fn claims_at(&self, dirs: &[std::ffi::OsString], name: &OsStr) -> Option<What> {
        let mut p = PathBuf::new();
        for d in dirs {
            crate::rel::push(&mut p, d);
        }
        crate::rel::push(&mut p, name);
        self.claims(&p)
    }
}

fn names(p: &Path) -> impl Iterator<Item = &OsStr> {
    p.components().filter_map(|c| match c {
        Component::Normal(n) => Some(n),
        _ => None,
    })
}

fn same(a: &OsStr, b: &OsStr) -> bool {
    a.as_encoded_bytes()
        .eq_ignore_ascii_case(b.as_encoded_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_and_everything_in_it_is_reserved_in_any_case() {
        let r = Reserved::default();
        assert_eq!(r.claims(Path::new(".stagemerge")), Some(What::Store));
        assert_eq!(
            r.claims(Path::new(".stagemerge/v/ab/cd")),
            Some(What::Store)
        );
        assert_eq!(r.claims(Path::new(".StageMerge/x")), Some(What::Store));
        assert_eq!(r.claims(Path::new("a/.stagemerge")), None);
        assert_eq!(r.claims(Path::new(".stagemerge2/x")), None);
        assert_eq!(r.claims(Path::new("lib/x")), None);
    }

    #[test]
    fn a_records_dir_is_reserved_below_and_a_record_alone() {
        let mut r = Reserved::default();
        r.tree("var/lib/inst".into(), What::RecordsDir)
            .entry("rec/p.json".into(), What::Record);
        assert_eq!(
            r.claims(Path::new("var/lib/inst/p")),
            Some(What::RecordsDir)
        );
        assert_eq!(r.claims(Path::new("var/lib/inst")), Some(What::RecordsDir));
        assert_eq!(r.claims(Path::new("var/lib")), None);
        assert_eq!(r.claims(Path::new("rec/p.json")), Some(What::Record));
        assert_eq!(r.claims(Path::new("rec/p.json/x")), None);
        assert_eq!(r.claims(Path::new("rec/q.json")), None);
        assert_eq!(
            r.claims_at(
                &["var".into(), "lib".into(), "inst".into()],
                OsStr::new("q")
            ),
            Some(What::RecordsDir)
        );
    }
}
