//! Writing and removing records and journals so that a crash or a power
//! cut leaves each either absent or whole: data synced before the rename
//! that names it, the directory synced after (dpkg's order for its
//! database).

use std::ffi::{OsStr, OsString};

use super::{FileError, Place, TEMP_SUFFIX};
use crate::fs::Fs;

/// The temporary a record (or journal) named `name` is written to: a fixed
/// hidden name beside it, so a write killed half-way leaves one file that
/// the next write of the same record replaces (one record belongs to one
/// merge at a time).
pub fn temp_name(name: &OsStr) -> OsString {
    let mut t = OsString::from(".");
    t.push(name);
    t.push(TEMP_SUFFIX);
    t
}

/// Replaces `name` in `place`'s directory with `bytes`, durably: the bytes
/// are on disk before the rename gives them the name, and the rename is on
/// disk when this returns. `shown` names the file in messages.
pub fn write<F: Fs>(
    fs: &F,
    place: &Place<F::Dir>,
    name: &OsStr,
    shown: &std::path::Path,
    bytes: &[u8],
) -> Result<(), FileError> {
    let what = what(name);
    let io = |op, e| FileError::io(op, what, shown.to_owned(), e);
    let tmp = temp_name(name);
    fs.write_synced(&place.dir, &tmp, bytes)
        .map_err(|e| io("write the temporary of", e))?;
    fs.rename_replace(&place.dir, &tmp, &place.dir, name)
        .map_err(|e| io("rename into place", e))?;
    fs.sync_dir(&place.dir)
        .map_err(|e| io("sync the directory of", e))
}

/// Removes `name` from `place`'s directory durably (absent already is fine).
pub fn remove<F: Fs>(
    fs: &F,
    place: &Place<F::Dir>,
    name: &OsStr,
    shown: &std::path::Path,
) -> Result<(), FileError> {
    let what = what(name);
    let io = |op, e| FileError::io(op, what, shown.to_owned(), e);
    match fs.remove_file(&place.dir, name) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        r => r.map_err(|e| io("remove", e))?,
    }
    fs.sync_dir(&place.dir)
        .map_err(|e| io("sync the directory of", e))
}

fn what(name: &OsStr) -> &'static str {
    if super::is_journal(name) {
        "journal"
    } else {
        "record"
    }
}
