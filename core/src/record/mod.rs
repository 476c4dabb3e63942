//! What a package owns in TARGET, for manifests and installation records:
//! every regular file and symlink it staged that is in TARGET after its
//! merge, whoever's version is visible there.
//!
//! A record is built in two steps so that a killed merge can be finished by
//! a rerun: [`scan`] lists what STAGE holds before anything moves (the
//! journal's content), and [`settle`] decides, from the merge's
//! [`crate::Report`], which of those entries the package owns afterwards.

pub mod digests;
pub mod file;
pub mod read;
mod scan;
mod settle;
#[cfg(test)]
mod tests;
pub mod write;

pub(crate) use scan::Listed;
pub use scan::{Listings, Scan, scan};
pub use settle::settle;

use std::ffi::{OsStr, OsString};
use std::io::{self, Read};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::fs::{Fs, Kind, Meta};

/// The format name of a JSON manifest.
pub(crate) const MANIFEST: &str = "stagemerge-manifest";
/// The format name of a journal.
pub(crate) const JOURNAL: &str = "stagemerge-journal";
/// The version of both, the only one there is.
pub(crate) const VERSION: u64 = 1;

/// How much the merge records of the entries it owns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Record {
    /// Nothing (the fastest merge).
    #[default]
    Off,
    /// Paths and kinds.
    Paths,
    /// Also size, mode, and a file's SHA-256 or a symlink's text.
    Full,
}

/// What an owned entry held when it was recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// A regular file's SHA-256.
    File {
        /// The digest of the bytes.
        sha256: [u8; 32],
    },
    /// A symlink's text.
    Link {
        /// The text, unchanged.
        text: OsString,
    },
}

/// Size, mode and content of an owned entry (recorded with [`Record::Full`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    /// Size in bytes (a symlink: its text's length).
    pub size: u64,
    /// Permission bits, where the platform has them (not for symlinks).
    pub mode: Option<u32>,
    /// Digest or link text.
    pub content: Content,
}

/// Whose version of an owned path is visible in TARGET.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum State {
    /// The package's own version (placed, found identical, or replacing
    /// another).
    #[default]
    Placed,
    /// Another version is visible: a concurrent merge placed its own first,
    /// or `--on-conflict keep` kept TARGET's. The package still needs the
    /// path, so a refcounted uninstall of the other owner keeps it; the
    /// record's detail is the package's own version (what it staged).
    Lost,
}

/// A regular file or symlink in TARGET that belongs to the merged package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owned {
    /// Relative to TARGET, as staged (through TARGET's symlinks, e.g. `lib64/x`).
    pub path: PathBuf,
    /// [`Kind::File`] or [`Kind::Symlink`].
    pub kind: Kind,
    /// With [`Record::Full`]: what the package staged at this path.
    pub detail: Option<Detail>,
    /// Whose version is visible.
    pub state: State,
}

/// Whether entries of this kind are recorded (as `find -type f -o -type l`).
pub(crate) fn recorded(kind: Kind) -> bool {
    matches!(kind, Kind::File | Kind::Symlink)
}

/// Describes `dir/name` (whose `lstat` is `meta`) at `path`, reading its
/// content when `level` is [`Record::Full`].
pub(crate) fn describe<F: Fs>(
    fs: &F,
    level: Record,
    dir: &F::Dir,
    name: &OsStr,
    meta: &Meta,
    path: PathBuf,
) -> io::Result<Owned> {
    let detail = match level {
        Record::Full => Some(detail(fs, dir, name, meta)?),
        Record::Off | Record::Paths => None,
    };
    Ok(Owned {
        path,
        kind: meta.kind,
        detail,
        state: State::Placed,
    })
}

/// Size, mode and digest or link text of `dir/name`.
pub fn detail<F: Fs>(fs: &F, dir: &F::Dir, name: &OsStr, meta: &Meta) -> io::Result<Detail> {
    Ok(match meta.kind {
        Kind::Symlink => {
            let text = fs.read_link(dir, name)?;
            Detail {
                size: text.len() as u64,
                mode: None,
                content: Content::Link { text },
            }
        }
        _ => Detail {
            size: meta.size,
            mode: meta.mode,
            content: Content::File {
                sha256: sha256(fs.open_file(dir, name)?)?,
            },
        },
    })
}

pub(crate) fn sha256(mut r: impl Read) -> io::Result<[u8; 32]> {
    thread_local! {
        // One buffer per thread for every file it hashes: a zeroed 64 KiB
        // per file was a tenth of hashing a tree of small files.
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with_borrow_mut(|buf| {
        if buf.is_empty() {
            buf.resize(64 * 1024, 0);
        }
        let mut h = Sha256::new();
        loop {
            match r.read(buf) {
                Ok(0) => return Ok(h.finalize().into()),
                Ok(n) => h.update(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    })
}
