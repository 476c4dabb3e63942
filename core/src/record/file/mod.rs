//! A record's life on disk, through directory handles: read bounded and
//! checked whole ([`load`]), written durably ([`durable`]) with a journal
//! first ([`Recording`]), and a directory of them indexed as the owners of
//! what is installed ([`index`], [`Late`]).
//!
//! Every function takes the record's directory as a handle and the record
//! as one name in it, so a native, a sandboxed and a Windows run read,
//! check and write records with this one implementation, and nothing a
//! record says can make it open a file outside the directories it was
//! given. Paths appear only in messages ([`Place::shown`]).

pub mod durable;
pub mod index;
mod late;
pub(crate) mod listing;
pub mod load;
pub mod pip;
mod recording;
#[cfg(test)]
mod tests;

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::PathBuf;

pub use late::{Late, read_for_merge};
pub use load::Reader;
pub use recording::{Book, Recording, WriteFormat};

use super::read::Invalid;
use crate::fs::Kind;
use crate::{Installed, Owned};

/// Suffix of a record's journal: `<record>.stagemerge-journal` beside it.
pub const JOURNAL_SUFFIX: &str = ".stagemerge-journal";

/// Suffix of a record's (or journal's) temporary while it is written.
pub const TEMP_SUFFIX: &str = ".stagemerge-tmp";

/// Where a record lies: its directory, open, and its name there.
#[derive(Debug)]
pub struct Place<D> {
    /// The directory holding the record (and its journal).
    pub dir: D,
    /// The record's file name.
    pub name: OsString,
    /// The record's path as the user named it, for messages only.
    pub shown: PathBuf,
}

impl<D> Place<D> {
    /// The journal's name beside the record.
    pub fn journal_name(&self) -> OsString {
        journal_name(&self.name)
    }

    /// The journal's path as shown in messages.
    pub fn shown_journal(&self) -> PathBuf {
        let mut p = self.shown.as_os_str().to_owned();
        p.push(JOURNAL_SUFFIX);
        PathBuf::from(p)
    }
}

/// The name of the journal of the record named `record`.
pub fn journal_name(record: &OsStr) -> OsString {
    let mut n = record.to_owned();
    n.push(JOURNAL_SUFFIX);
    n
}

/// The record whose journal is named `journal` (`None` for a name that is
/// not a journal's, or not UTF-8, whose record cannot be named portably).
pub fn record_of(journal: &OsStr) -> Option<OsString> {
    journal
        .to_str()?
        .strip_suffix(JOURNAL_SUFFIX)
        .filter(|s| !s.is_empty())
        .map(OsString::from)
}

/// Whether `name` is a journal's.
pub fn is_journal(name: &OsStr) -> bool {
    name.as_encoded_bytes().ends_with(JOURNAL_SUFFIX.as_bytes())
}

/// Whether `name` is a temporary [`durable::write`] makes.
pub fn is_temp(name: &OsStr) -> bool {
    name.as_encoded_bytes().ends_with(TEMP_SUFFIX.as_bytes())
}

/// Why a record or journal could not be read, written or used. Each
/// names the file as the user named it, the operation and the cause.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// An operation on the file failed.
    #[error("{op} {what} {}: {cause}", path.display())]
    Io {
        /// What was being done ("open", "read", "rename", ...).
        op: &'static str,
        /// "record", "journal" or "directory of records".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's error (shown in this error's message, not as its
        /// source: a chain would print it twice).
        cause: io::Error,
    },
    /// The file is not there.
    #[error("{what} {} does not exist", path.display())]
    Missing {
        /// "record" or "journal".
        what: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// Not a regular file.
    #[error(
        "{what} {} is not a regular file (a {}): only regular files are read as records",
        path.display(),
        kind.describe()
    )]
    NotRegular {
        /// "record" or "journal".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What it is.
        kind: Kind,
    },
    /// Larger than [`super::read::MAX_RECORD_BYTES`].
    #[error(
        "{what} {} is {size} bytes, over the limit of {} bytes for a record",
        path.display(),
        super::read::MAX_RECORD_BYTES
    )]
    TooBig {
        /// "record" or "journal".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// Grew past the limit while it was read.
    #[error(
        "{what} {} grew over the limit of {} bytes while it was read",
        path.display(),
        super::read::MAX_RECORD_BYTES
    )]
    Grew {
        /// "record" or "journal".
        what: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// The reader refused it.
    #[error(
        "{what} {} is invalid: {invalid}; nothing was done (a record is checked whole \
         before anything acts on it)",
        path.display()
    )]
    Invalid {
        /// "record" or "journal".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        invalid: Invalid,
    },
    /// A journal where a record was expected, or the other way round.
    #[error("{what} {}: {wrong}", path.display())]
    WrongFormat {
        /// "record" or "journal".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What it is instead.
        wrong: &'static str,
    },
    /// An entry of a directory of records that is not a regular file.
    #[error(
        "{} in the directory of records is {wrong}: every entry there must be a record; \
         move it away",
        path.display()
    )]
    Stray {
        /// The entry.
        path: PathBuf,
        /// What it is.
        wrong: &'static str,
    },
    /// A journal that cannot be read: it is written whole or not at all.
    #[error(
        "{inner}; a journal is written whole or not at all, so something else changed it: \
         move it away and merge again"
    )]
    Journal {
        /// Why it could not be read.
        inner: Box<FileError>,
    },
    /// The record a merge adds to cannot be read.
    #[error(
        "{inner}: the merge adds to the record at this path and cannot read it; nothing was \
         merged (move the file away to start a new record)"
    )]
    Unreadable {
        /// Why.
        inner: Box<FileError>,
    },
}

impl FileError {
    /// An I/O error of `op` on the file at `path`.
    pub fn io(op: &'static str, what: &'static str, path: PathBuf, cause: io::Error) -> Self {
        FileError::Io {
            op,
            what,
            path,
            cause,
        }
    }
}

/// A recorded entry as a merge carries it on: a record that does not say
/// the kind (text, Sage) lists files and symlinks alike, as a file.
pub(crate) fn owned_from(i: Installed) -> Owned {
    Owned {
        path: i.path,
        kind: i.kind.unwrap_or(Kind::File),
        detail: i.detail,
        state: i.state,
    }
}

/// A journal's entry as a record's.
pub(crate) fn installed_from(o: Owned) -> Installed {
    Installed {
        path: o.path,
        kind: Some(o.kind),
        detail: o.detail,
        state: o.state,
    }
}
