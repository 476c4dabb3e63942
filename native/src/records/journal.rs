//! The journal of a record: what a merge is about to place, written durably
//! before its first rename and removed once the record is written.
//!
//! It lies beside the record as `<record>.stagemerge-journal` (dpkg writes a
//! package's `.list` before unpacking; portage marks a merge in progress with
//! its `-MERGING-` entry). A run that finds one knows an earlier run was
//! interrupted after it may have moved entries, and that every journaled
//! entry now in TARGET is the package's. It lists entries as the JSON
//! manifest does (format `stagemerge-journal`): paths as bytes, kinds, and,
//! for a JSON manifest, sizes, modes and digests of what was staged.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use stagemerge_core::Owned;

use super::{Reader, durable, owned_from};

const SUFFIX: &str = ".stagemerge-journal";

/// Where the journal of the record at `record` lies.
pub(crate) fn path(record: &Path) -> PathBuf {
    let mut p = record.as_os_str().to_owned();
    p.push(SUFFIX);
    PathBuf::from(p)
}

/// The record whose journal lies at `journal` (`None` for a name that is not
/// UTF-8, whose record cannot be named portably).
pub(crate) fn record_of(journal: &Path) -> Option<PathBuf> {
    let stem = journal.file_name()?.to_str()?.strip_suffix(SUFFIX)?;
    Some(journal.with_file_name(stem))
}

/// Whether `name` is a journal.
pub(crate) fn is_journal(name: &OsStr) -> bool {
    name.as_encoded_bytes().ends_with(SUFFIX.as_bytes())
}

/// Whether the record at `record` has a journal: its install is incomplete.
pub(crate) fn exists(record: &Path) -> bool {
    path(record).symlink_metadata().is_ok()
}

/// The entries of the record's journal, if there is one.
pub(crate) fn read(record: &Path, reader: &Reader) -> Result<Option<Vec<Owned>>> {
    let p = path(record);
    if p.symlink_metadata()
        .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    {
        return Ok(None);
    }
    read_file(&p, reader).map(Some)
}

/// The entries of the journal at `p`.
pub(crate) fn read_file(p: &Path, reader: &Reader) -> Result<Vec<Owned>> {
    match reader.journal(p) {
        Ok(parsed) => Ok(parsed.entries.into_iter().map(owned_from).collect()),
        Err(e) => bail!(
            "{e:#}; a journal is written whole or not at all, so something else changed it: \
             move it away and merge again"
        ),
    }
}

/// Writes the journal durably.
pub(crate) fn write(record: &Path, entries: &[Owned]) -> Result<()> {
    durable::write(
        &path(record),
        &stagemerge_core::record::write::journal(entries),
    )
}

/// Removes the journal durably, once the record it guards is written.
pub(crate) fn remove(record: &Path) -> Result<()> {
    durable::remove(&path(record))
}
