//! Who lists what: every record in a directory of records (`--manifest-dir`,
//! such as Sage's `var/lib/sage/installed`), read once through its handle.
//!
//! A record is a package's; its name is the record's file name (Sage names
//! them `<package>-<version>`). The journal of an interrupted merge counts
//! for the record it belongs to: that merge may have placed what it lists,
//! and the package needs those files as much as its recorded ones.
//!
//! Every entry is a record or an error naming it: an owner skipped would
//! lose its files to another package's uninstall. A symlink is refused,
//! not followed (what it leads to may be another directory's record or no
//! record at all, and the owner's name would be the link's); so is a
//! directory, a FIFO, a socket or a device.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::Path;

use super::{FileError, Reader, installed_from, is_journal, is_temp, journal_name, record_of};
use crate::fs::{Fs, Kind, Stamp};
use crate::ownership::{Owner, Owners};

/// What a read of the directory found besides the owners: the names it
/// held, and each record's state when read.
#[derive(Debug, Default)]
pub(crate) struct Noted {
    pub(crate) names: HashSet<OsString>,
    pub(crate) seen: HashMap<String, Seen>,
}

/// Reads every record in `dir` (shown as `shown`), leaving out the record
/// named `skip` and its journal (the package being uninstalled) and marking
/// those named in `own` (the records a merge writes: their versions count
/// as known, but they are not another owner). A file that is not a record
/// in one of the three formats is an error naming it, never skipped.
pub fn read<F: Fs>(
    fs: &F,
    dir: &F::Dir,
    shown: &Path,
    skip: Option<&OsStr>,
    own: &[OsString],
    reader: &Reader,
) -> Result<Owners, FileError> {
    Ok(read_noting(fs, dir, shown, skip, own, reader)?.0)
}

/// [`read`], and what [`super::Late`] needs to see what changes later.
pub(crate) fn read_noting<F: Fs>(
    fs: &F,
    dir: &F::Dir,
    shown: &Path,
    skip: Option<&OsStr>,
    own: &[OsString],
    reader: &Reader,
) -> Result<(Owners, Noted), FileError> {
    let io = |op, e| FileError::io(op, "directory of records", shown.to_owned(), e);
    // Listed through a handle of its own: a handle lists once.
    let listing = super::listing::list_fresh(fs, dir).map_err(|e| io("read", e))?;
    // Each record with its journal, if any; one owner for both, in name
    // order so that what is printed is stable.
    let mut found: BTreeMap<OsString, Option<OsString>> = BTreeMap::new();
    let mut noted = Noted::default();
    for e in listing {
        let kind = match e.kind {
            Kind::Unknown => match fs.stat_at(dir, &e.name) {
                Ok(m) => m.kind,
                // Gone since the listing: a temporary renamed, a record
                // uninstalled.
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(io("stat an entry of", err)),
            },
            k => k,
        };
        if kind != Kind::File {
            if is_temp(&e.name) && !is_journal(&e.name) {
                continue;
            }
            let wrong = match kind {
                Kind::Symlink => {
                    "a symlink (records are read only as regular files in the directory itself)"
                }
                Kind::Dir => "a directory",
                _ => "not a regular file",
            };
            return Err(FileError::Stray {
                path: shown.join(&e.name),
                wrong,
            });
        }
        noted.names.insert(e.name.clone());
        if is_journal(&e.name) {
            let record = record_of(&e.name).unwrap_or_else(|| e.name.clone());
            found.insert(record, Some(e.name));
        } else if !is_temp(&e.name) {
            found.entry(e.name).or_insert(None);
        }
    }
    // Each record is read and checked on its own core (most of a merge
    // into a prefix with many packages is this read, on every merge), then
    // added in name order, so that the first error and what is printed do
    // not depend on which thread finished first.
    let jobs: Vec<(OsString, Option<OsString>)> = found
        .into_iter()
        .filter(|(record, _)| skip != Some(record.as_os_str()))
        .collect();
    let read = crate::cores::map_on_every_core("records", &jobs, |(record, journal)| {
        let is_own = own.contains(record);
        // Stamped before the read: a change while it is read shows.
        let stamp = Seen::now(fs, dir, record);
        read_owner(fs, dir, shown, record, journal.as_deref(), is_own, reader)
            .map(|owner| owner.map(|o| (o, stamp)))
    });
    let mut owners = Owners::default();
    for ((record, _), one) in jobs.into_iter().zip(read) {
        if let Some((owner, state)) = one? {
            noted
                .seen
                .insert(owner.name.clone(), Seen { record, state });
            owners.add(owner);
        }
    }
    Ok((owners, noted))
}

/// A file's signature: a record is replaced by the rename of a new file,
/// whose inode, size or times tell it from the old one.
type Signature = Option<(u64, u64, Option<Stamp>, Option<Stamp>)>;

/// A record as it was when read: its name and its file's and its journal's
/// signatures, so that a rewrite or removal since shows without reading it
/// again.
#[derive(Debug)]
pub(crate) struct Seen {
    pub(crate) record: OsString,
    pub(crate) state: [Signature; 2],
}

impl Seen {
    /// The signatures of the record `record` in `dir` and of its journal now.
    pub(crate) fn now<F: Fs>(fs: &F, dir: &F::Dir, record: &OsStr) -> [Signature; 2] {
        let sig = |name: &OsStr| {
            fs.stat_at(dir, name)
                .ok()
                .map(|m| (m.ino, m.size, m.mtime, m.ctime))
        };
        [sig(record), sig(&journal_name(record))]
    }
}

/// The owner the record `record` in `dir` names (if there: an interrupted
/// first install has only its journal) with its journal, if any; `None`
/// when both are gone.
pub(crate) fn read_owner<F: Fs>(
    fs: &F,
    dir: &F::Dir,
    shown: &Path,
    record: &OsStr,
    journal: Option<&OsStr>,
    own: bool,
    reader: &Reader,
) -> Result<Option<Owner>, FileError> {
    // Other merges finish while this one reads: a journal is removed only
    // after its record is written whole, so a journal that is gone is read
    // as the record it became (hence the journal first), and a record
    // that is gone was uninstalled.
    let mut entries = Vec::new();
    let mut incomplete = false;
    if let Some(j) = journal {
        let path = shown.join(j);
        if let Some(parsed) = reader.journal(fs, dir, j, &path)? {
            incomplete = true;
            entries.extend(
                parsed
                    .entries
                    .into_iter()
                    .map(|i| installed_from(super::owned_from(i))),
            );
        }
    }
    match reader.record(fs, dir, record, &shown.join(record))? {
        Some(parsed) => entries.extend(parsed.entries),
        None if !incomplete => return Ok(None),
        None => {}
    }
    Ok(Some(Owner {
        name: record.to_string_lossy().into_owned(),
        own,
        incomplete,
        entries,
    }))
}
