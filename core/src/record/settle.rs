//! Which staged entries a package owns once its merge has run.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use crate::fs::{Fs, Kind};
use crate::handle::Handle;
use crate::installed::{Installed, Status, locate};
use crate::report::{Left, Report};

use super::{Owned, State};

/// What a record lists after a merge, sorted by path bytes.
///
/// `staged` is the [`super::scan`] of STAGE (sorted by path bytes) taken before the merge moved
/// anything, and `report` that merge's report. A staged entry the merge
/// left in STAGE as a conflict or an error (itself, or a directory above
/// it) is not listed: it is not in TARGET. One a concurrent merge or
/// `--on-conflict keep` won is listed as [`State::Lost`]. Every other
/// staged entry is the package's.
///
/// `carried` are entries an earlier run listed: the journal of a run that
/// was killed, or the record already at the path. One not listed by now is
/// kept while TARGET has a non-directory at its path (found through
/// TARGET's symlinks, never out of TARGET), with what it recorded: the
/// earlier run placed it, or the package's files from before are still
/// there. One that cannot be looked at (an I/O error other than "not
/// found") is kept too, since nothing shows it is gone.
pub fn settle<F: Fs>(
    fs: &F,
    target: &F::Dir,
    staged: Vec<Owned>,
    carried: Vec<Owned>,
    report: &Report,
) -> Vec<Owned> {
    let mut unplaced = HashSet::new();
    let mut lost = HashSet::new();
    for (path, left) in &report.left {
        match left {
            Left::Unplaced => unplaced.insert(path.as_path()),
            Left::Shadowed => lost.insert(path.as_path()),
        };
    }
    // STAGE's list is sorted and most merges leave nothing behind: keep it
    // in place, and look paths up only where the report names some.
    let mut out = staged;
    if !unplaced.is_empty() {
        out.retain(|o| !o.path.ancestors().any(|a| unplaced.contains(a)));
    }
    if !lost.is_empty() {
        for o in &mut out {
            if lost.contains(o.path.as_path()) {
                o.state = State::Lost;
            }
        }
    }
    if carried.is_empty() {
        return out;
    }
    let mut seen: HashSet<Vec<u8>> = out.iter().map(|o| key(&o.path)).collect();
    let mut look = Presence {
        fs,
        root: target,
        last: None,
    };
    // Looked for only where TARGET keeps a clobber store.
    let store = fs
        .stat_at(target, std::ffi::OsStr::new(crate::ownership::store::ROOT))
        .is_ok();
    for mut o in carried {
        if !seen.contains(&key(&o.path)) && look.present(&o.path) {
            seen.insert(key(&o.path));
            // An interrupted run that lost this path put the package's
            // version in the clobber store: it is lost, as that run would
            // have recorded.
            if store && o.state == State::Placed && o.detail.is_some() && shadowed(fs, target, &o) {
                o.state = State::Lost;
            }
            out.push(o);
        }
    }
    super::scan::sort(&mut out);
    out
}

fn shadowed<F: Fs>(fs: &F, target: &F::Dir, o: &Owned) -> bool {
    let f = Installed {
        path: o.path.clone(),
        kind: Some(o.kind),
        detail: o.detail.clone(),
        state: o.state,
    };
    // The store's listing first: hashing TARGET's file is the dearer look.
    crate::verify::stored(fs, target, &f)
        && matches!(crate::verify::status(fs, target, &f), Status::Shadowed)
}

fn key(path: &Path) -> Vec<u8> {
    path.as_os_str().as_encoded_bytes().to_vec()
}

/// What was found of the directory holding the previous path looked at.
enum Parent<'a, D> {
    Dir(Handle<'a, D>),
    /// Not there, or not a directory inside TARGET.
    Absent,
    /// Could not be looked at.
    Unknown,
}

/// Looks paths up in TARGET, opening each directory once for a run of
/// paths in it (a record is sorted, so siblings come together).
struct Presence<'a, F: Fs> {
    fs: &'a F,
    root: &'a F::Dir,
    last: Option<(PathBuf, Parent<'a, F::Dir>)>,
}

impl<F: Fs> Presence<'_, F> {
    fn present(&mut self, path: &Path) -> bool {
        let parent = path.parent().unwrap_or(Path::new(""));
        if self.last.as_ref().is_none_or(|(p, _)| p != parent) {
            let found = match locate(self.fs, self.root, path) {
                Ok((dir, _, _)) => Parent::Dir(dir),
                Err(Status::Error(_)) => Parent::Unknown,
                Err(_) => Parent::Absent,
            };
            self.last = Some((parent.to_path_buf(), found));
        }
        let Some((_, found)) = &self.last else {
            return false;
        };
        let Some(name) = path.file_name() else {
            return false;
        };
        match found {
            Parent::Dir(dir) => match self.fs.stat_at(dir.get(), name) {
                Ok(m) => m.kind != Kind::Dir,
                Err(e) => !matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ),
            },
            Parent::Absent => false,
            Parent::Unknown => true,
        }
    }
}
