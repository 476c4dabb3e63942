//! The list of what STAGE holds, taken before anything moves: a record can
//! only list what the package staged, and a rerun after a kill must know
//! what the first run moved away.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Op, Side};
use crate::fs::{Entry, Fs, Kind};

use super::digests::{Digests, Pending};
use super::{Owned, Record, State, describe, recorded};

/// What [`scan`] found: the record's entries, the files left to hash, and
/// what the merge reuses.
#[derive(Debug)]
pub struct Scan<D> {
    /// Every regular file and symlink, sorted by path bytes. With
    /// [`Record::Full`] a regular file has no detail until [`Self::digests`]
    /// gives it one, unless the scan hashed it itself.
    pub owned: Vec<Owned>,
    /// With [`Record::Full`], the regular files to hash (on every core)
    /// before the journal is written.
    pub digests: Option<Digests<D>>,
    /// Each staged directory's listing and handle.
    pub listings: Listings<D>,
}

/// What a scan of STAGE hands the merge that follows it (STAGE is the
/// merge's own: nothing else changes it meanwhile): each staged
/// directory's listing, and its open handle where the scan kept it, so the
/// merge neither lists nor opens a staged directory a second time.
#[derive(Debug)]
pub struct Listings<D> {
    /// By the path's bytes: hashing a `Path` walks its components (about
    /// a twentieth of what a text record added to a merge of the corpus).
    dirs: HashMap<OsString, Listed<D>, foldhash::fast::RandomState>,
}

/// One staged directory as the scan listed it.
#[derive(Debug)]
pub(crate) struct Listed<D> {
    /// Its entries.
    pub(crate) entries: Vec<Entry>,
    /// The handle the scan listed it through, if kept.
    pub(crate) handle: Option<Arc<D>>,
}

impl<D> Default for Listings<D> {
    fn default() -> Self {
        Listings {
            dirs: HashMap::default(),
        }
    }
}

impl<D> Listings<D> {
    /// The listing (and handle) of the staged directory at `path`, if the
    /// scan took it. Each is handed out once.
    pub(crate) fn take(&mut self, path: &Path) -> Option<Listed<D>> {
        // Nothing to find in a merge without a record.
        if self.dirs.is_empty() {
            return None;
        }
        self.dirs.remove(path.as_os_str())
    }
}

/// Every regular file and symlink below `stage`, as `find -type f -o -type l`
/// lists them, sorted by path bytes, and the listing of each directory.
///
/// An entry has its path and kind (one listing per directory, no `lstat`
/// unless the listing has no type); with [`Record::Full`] a symlink also
/// its text, and the regular files are left in [`Scan::digests`], to be
/// hashed on every core (in a directory whose handle the scan cannot keep,
/// [`Fs::spare_handles`] being used up, it hashes them itself). With
/// [`Record::Off`] nothing is listed. Changes nothing.
pub fn scan<F: Fs>(fs: &F, level: Record, stage: F::Dir) -> Result<Scan<F::Dir>, Error> {
    let mut out = Vec::new();
    let mut dirs = HashMap::default();
    let mut pending = Vec::new();
    if level == Record::Off {
        return Ok(Scan {
            owned: out,
            digests: None,
            listings: Listings::default(),
        });
    }
    let mut spare = fs.spare_handles();
    let mut stack = vec![(Arc::new(stage), PathBuf::new())];
    while let Some((dir, at)) = stack.pop() {
        let mut listing = fs
            .read_dir(&dir)
            .map_err(|e| Error::new(Op::ReadDir, Side::Stage, at.clone(), e))?;
        // Kept, the handle serves the hashing threads and the merge; else
        // it is closed once listed and its files hashed now.
        let keep = spare > 0;
        spare = spare.saturating_sub(1);
        for e in &mut listing {
            let path = crate::rel::child(&at, &e.name);
            let fail = |op, err| Error::new(op, Side::Stage, path.clone(), err);
            let lstat = || fs.stat_at(&dir, &e.name).map_err(|err| fail(Op::Stat, err));
            let meta = match e.kind {
                Kind::Unknown => Some(lstat()?),
                _ => None,
            };
            let kind = meta.as_ref().map_or(e.kind, |m| m.kind);
            e.kind = kind;
            if kind == Kind::Dir {
                let sub = fs
                    .open_dir(&dir, &e.name)
                    .map_err(|err| fail(Op::OpenDir, err))?;
                stack.push((Arc::new(sub), path));
                continue;
            }
            if !recorded(kind) {
                continue;
            }
            let owned = match level {
                // Its size and mode come with its digest, from the file
                // opened to hash it: no `lstat` here.
                Record::Full if kind == Kind::File && keep => {
                    pending.push(Pending {
                        path: path.clone(),
                        dir: dir.clone(),
                        name: e.name.clone(),
                    });
                    Owned {
                        path,
                        kind,
                        detail: None,
                        state: State::Placed,
                    }
                }
                Record::Full => {
                    let meta = match meta {
                        Some(m) => m,
                        None => lstat()?,
                    };
                    describe(fs, level, &dir, &e.name, &meta, path.clone())
                        .map_err(|err| fail(Op::Read, err))?
                }
                _ => Owned {
                    path,
                    kind,
                    detail: None,
                    state: State::Placed,
                },
            };
            out.push(owned);
        }
        if !at.as_os_str().is_empty() {
            let handle = keep.then_some(dir);
            dirs.insert(
                at.into_os_string(),
                Listed {
                    entries: listing,
                    handle,
                },
            );
        }
    }
    sort(&mut out);
    let digests = (!pending.is_empty()).then(|| Digests::new(pending));
    Ok(Scan {
        owned: out,
        digests,
        listings: Listings { dirs },
    })
}

/// Sorts entries by path bytes, the order of every record.
pub(crate) fn sort(entries: &mut [Owned]) {
    entries.sort_unstable_by(|a, b| {
        a.path
            .as_os_str()
            .as_encoded_bytes()
            .cmp(b.path.as_os_str().as_encoded_bytes())
    });
}
