//! The list of what STAGE holds, taken before anything moves: a record can
//! only list what the package staged, and a rerun after a kill must know
//! what the first run moved away.

use std::path::PathBuf;

use crate::error::{Error, Op, Side};
use crate::fs::{Fs, Kind};
use crate::handle::Handle;

use super::{Owned, Record, State, describe, recorded};

/// Every regular file and symlink below `stage`, as `find -type f -o -type l`
/// lists them, sorted by path bytes.
///
/// With [`Record::Paths`] an entry has its path and kind (one listing per
/// directory, no `lstat` unless the listing has no type); with
/// [`Record::Full`] also size, mode and the file's SHA-256 or the link's
/// text. With [`Record::Off`] the list is empty. Changes nothing.
pub fn scan<F: Fs>(fs: &F, level: Record, stage: &F::Dir) -> Result<Vec<Owned>, Error> {
    let mut out = Vec::new();
    if level == Record::Off {
        return Ok(out);
    }
    let mut stack = vec![(Handle::Borrowed(stage), PathBuf::new())];
    while let Some((dir, at)) = stack.pop() {
        let listing = fs
            .read_dir(dir.get())
            .map_err(|e| Error::new(Op::ReadDir, Side::Stage, at.clone(), e))?;
        for e in listing {
            let path = at.join(&e.name);
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
    }
    sort(&mut out);
    Ok(out)
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
