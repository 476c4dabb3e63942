//! Reading one record or journal through its directory's handle: only a
//! regular file (checked on the open handle, which never blocks on a FIFO),
//! at most [`MAX_RECORD_BYTES`], then checked whole by the one reader
//! ([`crate::record::read::parse`]).

use std::ffi::{OsStr, OsString};
use std::io::{self, Read};
use std::path::Path;

use super::FileError;
use crate::fs::{Fs, Kind};
use crate::record::read::{self, Format, MAX_RECORD_BYTES, Parsed, Reserved, Rules};

/// Reads records for one command: the platform's rule for names and the
/// paths below TARGET no record may list (the clobber store, the directory
/// of records, the records this command uses).
#[derive(Clone, Debug)]
pub struct Reader {
    /// The name of this platform made of a recorded name's bytes.
    pub name: fn(Vec<u8>) -> Option<OsString>,
    /// The paths no record may list.
    pub reserved: Reserved,
}

impl Reader {
    /// The rules [`read::parse`] applies.
    pub fn rules(&self) -> Rules<'_> {
        Rules {
            name: self.name,
            reserved: &self.reserved,
        }
    }

    /// Checks the bytes read from `shown`, whole.
    pub fn parse(
        &self,
        shown: &Path,
        bytes: &[u8],
        what: &'static str,
    ) -> Result<Parsed, FileError> {
        read::parse(bytes, &self.rules()).map_err(|invalid| FileError::Invalid {
            what,
            path: shown.to_owned(),
            invalid,
        })
    }

    /// The record `name` in `dir` (a manifest, Sage's record or a text
    /// manifest; a journal is refused), `None` if there is none.
    pub fn record<F: Fs>(
        &self,
        fs: &F,
        dir: &F::Dir,
        name: &OsStr,
        shown: &Path,
    ) -> Result<Option<Parsed>, FileError> {
        let Some(bytes) = bytes(fs, dir, name, shown, "record")? else {
            return Ok(None);
        };
        self.record_bytes(shown, &bytes).map(Some)
    }

    /// The record whose bytes are `bytes` (read from `shown`).
    pub fn record_bytes(&self, shown: &Path, bytes: &[u8]) -> Result<Parsed, FileError> {
        let parsed = self.parse(shown, bytes, "record")?;
        if parsed.format == Format::Journal {
            return Err(FileError::WrongFormat {
                what: "record",
                path: shown.to_owned(),
                wrong: "a journal of a merge, not a record",
            });
        }
        Ok(parsed)
    }

    /// The pip `RECORD` `name` in `dir` (shown as `shown`) of a `.dist-info`
    /// in the TARGET-relative directory `site`, checked; `None` when it does
    /// not exist.
    pub fn pip_record<F: Fs>(
        &self,
        fs: &F,
        dir: &F::Dir,
        name: &OsStr,
        shown: &Path,
        site: &Path,
    ) -> Result<Option<Parsed>, FileError> {
        let Some(bytes) = bytes(fs, dir, name, shown, "record")? else {
            return Ok(None);
        };
        read::parse_pip(&bytes, &slashed(site), &self.rules())
            .map(Some)
            .map_err(|invalid| FileError::Invalid {
                what: "record",
                path: shown.to_owned(),
                invalid,
            })
    }

    /// The journal `name` in `dir`, `None` if there is none. A journal is
    /// written whole or not at all: one that cannot be read is an error
    /// that says so.
    pub fn journal<F: Fs>(
        &self,
        fs: &F,
        dir: &F::Dir,
        name: &OsStr,
        shown: &Path,
    ) -> Result<Option<Parsed>, FileError> {
        let parsed = bytes(fs, dir, name, shown, "journal").and_then(|b| match b {
            None => Ok(None),
            Some(b) => {
                let parsed = self.parse(shown, &b, "journal")?;
                if parsed.format != Format::Journal {
                    return Err(FileError::WrongFormat {
                        what: "journal",
                        path: shown.to_owned(),
                        wrong: "not a journal",
                    });
                }
                Ok(Some(parsed))
            }
        });
        parsed.map_err(|e| FileError::Journal { inner: Box::new(e) })
    }
}

/// The bytes of the regular file `name` in `dir` (`None` if there is no
/// such name): opened without following a symlink or blocking, checked on
/// the open handle to be a regular file of at most [`MAX_RECORD_BYTES`],
/// and read no further than that. An `ESTALE` at any step (a network
/// client's handle of a file another client removed or replaced: a
/// journal the other client's rerun finished) starts again from the name,
/// by the retry rule (`crate::retry`).
pub fn bytes<F: Fs>(
    fs: &F,
    dir: &F::Dir,
    name: &OsStr,
    shown: &Path,
    what: &'static str,
) -> Result<Option<Vec<u8>>, FileError> {
    crate::retry::until_settled(
        shown,
        || bytes_once(fs, dir, name, shown, what),
        |r| {
            matches!(r, Err(FileError::Io { cause, .. })
                if cause.kind() == io::ErrorKind::StaleNetworkFileHandle)
        },
    )
}

fn bytes_once<F: Fs>(
    fs: &F,
    dir: &F::Dir,
    name: &OsStr,
    shown: &Path,
    what: &'static str,
) -> Result<Option<Vec<u8>>, FileError> {
    let io = |op, e| FileError::io(op, what, shown.to_owned(), e);
    // A symlink (refused by the open below) or a FIFO is told by its kind,
    // not by the error the open gives.
    let meta = match fs.stat_at(dir, name) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        r => r.map_err(|e| io("stat", e))?,
    };
    if meta.kind != Kind::File {
        return Err(not_regular(what, shown, meta.kind));
    }
    let file = match fs.open_file(dir, name) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        r => r.map_err(|e| io("open", e))?,
    };
    let meta = fs.stat_file(&file).map_err(|e| io("stat", e))?;
    if meta.kind != Kind::File {
        return Err(not_regular(what, shown, meta.kind));
    }
    if meta.size > MAX_RECORD_BYTES {
        return Err(FileError::TooBig {
            what,
            path: shown.to_owned(),
            size: meta.size,
        });
    }
    let mut out = Vec::with_capacity(meta.size as usize);
    file.take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| io("read", e))?;
    if out.len() as u64 > MAX_RECORD_BYTES {
        return Err(FileError::Grew {
            what,
            path: shown.to_owned(),
        });
    }
    Ok(Some(out))
}

fn not_regular(what: &'static str, shown: &Path, kind: Kind) -> FileError {
    FileError::NotRegular {
        what,
        path: shown.to_owned(),
        kind,
    }
}

/// A relative path as the `/`-separated bytes records use, whatever the
/// platform's separator.
fn slashed(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for c in path.components() {
        if !out.is_empty() {
            out.push(b'/');
        }
        out.extend_from_slice(c.as_os_str().as_encoded_bytes());
    }
    out
}
