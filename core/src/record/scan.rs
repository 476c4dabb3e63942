//! The list of what STAGE holds, taken before anything moves: a record can
//! only list what the package staged, and a rerun after a kill must know
//! what the first run moved away.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Op, Side};
use crate::fs::{Entry, Fs, Kind};
use crate::handle::Handle;

use super::{Owned, Record, State, describe, recorded};

/// What [`scan`] found: the record's entries, and every directory's
/// listing, which the merge then uses instead of listing STAGE again.
#[derive(Debug, Default)]
pub struct Scan {
    /// Every regular file and symlink, sorted by path bytes.
    pub owned: Vec<Owned>,
    /// The listing of each staged directory below the root, by its path.
    pub listings: Listings,
}

/// Listings of staged directories taken before the merge (STAGE is the
/// merge's own: nothing else changes it meanwhile). Each is handed out once.
#[derive(Debug, Default)]
pub struct Listings(HashMap<PathBuf, Vec<Entry>>);

impl Listings {
    /// The listing of the staged directory at `path`, if it was taken.
    pub(crate) fn take(&mut self, path: &Path) -> Option<Vec<Entry>> {
        // Hashing a path walks its components: skip it when there is nothing
        // to find (a merge without a record).
        if self.0.is_empty() {
            return None;
        }
        self.0.remove(path)
    }
}

/// Every regular file and symlink below `stage`, as `find -type f -o -type l`
/// lists them, sorted by path bytes, and the listing of each directory.
///
/// With [`Record::Paths`] an entry has its path and kind (one listing per
/// directory, no `lstat` unless the listing has no type); with
/// [`Record::Full`] also size, mode and the file's SHA-256 or the link's
/// text. With [`Record::Off`] nothing is listed. Changes nothing.
pub fn scan<F: Fs>(fs: &F, level: Record, stage: &F::Dir) -> Result<Scan, Error> {
    let mut out = Vec::new();
    let mut listings = HashMap::new();
    if level == Record::Off {
        return Ok(Scan::default());
    }
    let mut stack = vec![(Handle::Borrowed(stage), PathBuf::new())];
    while let Some((dir, at)) = stack.pop() {
        let mut listing = fs
            .read_dir(dir.get())
            .map_err(|e| Error::new(Op::ReadDir, Side::Stage, at.clone(), e))?;
        for e in &mut listing {
            let path = crate::rel::child(&at, &e.name);
            let fail = |op, err| Error::new(op, Side::Stage, path.clone(), err);
            let meta = if level == Record::Full || e.kind == Kind::Unknown {
                Some(
                    fs.stat_at(dir.get(), &e.name)
                        .map_err(|err| fail(Op::Stat, err))?,
                )
            } else {
                None
            };
            let kind = meta.as_ref().map_or(e.kind, |m| m.kind);
            e.kind = kind;
            if kind == Kind::Dir {
                let sub = fs
                    .open_dir(dir.get(), &e.name)
                    .map_err(|err| fail(Op::OpenDir, err))?;
                stack.push((Handle::Owned(sub), path));
                continue;
            }
            if !recorded(kind) {
                continue;
            }
            let owned = match meta {
                Some(meta) if level == Record::Full => {
                    describe(fs, level, dir.get(), &e.name, &meta, path.clone())
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
            listings.insert(at, listing);
        }
    }
    sort(&mut out);
    Ok(Scan {
        owned: out,
        listings: Listings(listings),
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
