//! `uninstall`, `verify` and `owner` as whole commands on directory
//! handles, each returning what it prints and how it exits ([`Output`]):
//! the native binary and the sandboxed guest run these same functions and
//! print the same bytes.

mod owner;
mod uninstall;
mod verify;

use std::path::Path;

pub use owner::owner;
pub use uninstall::{PipSites, UninstallFlags, uninstall};
pub use verify::verify;

use crate::fs::Fs;
use crate::record::file::{FileError, Place, Reader};
use crate::report::Severity;

/// What a command prints, and its exit status.
#[derive(Debug, Default)]
pub struct Output {
    /// Written to stdout, whole.
    pub stdout: String,
    /// Lines for stderr, each with its severity (`None`: a note); the front
    /// end prefixes them (`stagemerge: error: ...`) and colors the label.
    pub messages: Vec<(Option<Severity>, String)>,
    /// 0: all is well; 1: done, with problems.
    pub exit: u8,
}

impl Output {
    fn say(&mut self, severity: Option<Severity>, msg: String) {
        self.messages.push((severity, msg));
    }
}

/// Why a command did nothing (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A record, journal or the directory of records.
    #[error(transparent)]
    Records(#[from] FileError),
    /// What the command was asked cannot be answered or done.
    #[error("{0}")]
    Refused(String),
}

/// What to tell the user of a record whose journal is still there: a merge
/// that writes it was interrupted, and the record may lack what it moved.
pub fn incomplete<D>(record: &Place<D>) -> String {
    format!(
        "the install recorded in {} is incomplete: its journal {} is still there (a merge \
         was interrupted); run the same merge again to finish the record (an empty STAGE will do)",
        record.shown.display(),
        record.shown_journal().display()
    )
}

/// Whether the record at `record` has a journal: its install is incomplete.
///
/// Asked of a fresh listing of the record's directory
/// ([`crate::record::file::listing`]), not of `lstat` or `open`, which a
/// caching client answers from what it saw: through sshfs a journal another
/// machine removed was still "there" by `lstat` for 21 s, and through
/// GlusterFS it still opened for a second (its client acknowledges an open
/// before asking the server), so `uninstall` refused an install that had
/// finished (issue 26, 4). On a local filesystem, and where the directory
/// cannot be listed, `lstat` decides, as it is current there.
pub fn has_journal<F: Fs>(fs: &F, record: &Place<F::Dir>) -> bool {
    let name = record.journal_name();
    if !fs.caches_views(&record.dir) {
        return fs.stat_at(&record.dir, &name).is_ok();
    }
    match crate::record::file::listing::list_fresh(fs, &record.dir) {
        Ok(entries) => entries.iter().any(|e| e.name == name),
        Err(_) => fs.stat_at(&record.dir, &name).is_ok(),
    }
}

/// The record at `record`, which must exist: pip's RECORD when
/// `pip_record` gives its TARGET-relative path (see
/// [`crate::record::read::pip_site_of`]), else any other format.
fn read_record<F: Fs>(
    fs: &F,
    record: &Place<F::Dir>,
    reader: &Reader,
    pip_record: Option<&Path>,
) -> Result<Vec<crate::Installed>, FileError> {
    let parsed = match pip_record.and_then(crate::record::read::pip_site_of) {
        Some(site) => reader.pip_record(fs, &record.dir, &record.name, &record.shown, site)?,
        None => reader.record(fs, &record.dir, &record.name, &record.shown)?,
    };
    match parsed {
        Some(parsed) => Ok(parsed.entries),
        None => Err(FileError::Missing {
            what: "record",
            path: record.shown.clone(),
        }),
    }
}

/// A directory of records: its handle and its path as the user named it.
#[derive(Debug)]
pub struct RecordsAt<'a, D> {
    /// The directory, open.
    pub dir: &'a D,
    /// Its path as the user named it, for messages.
    pub shown: &'a Path,
}
