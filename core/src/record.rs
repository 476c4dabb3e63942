//! What a merge records of the entries it now owns in TARGET, for manifests
//! and installation records: every regular file and symlink it placed, found
//! identical, or replaced.

use std::ffi::{OsStr, OsString};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::fs::{Fs, Kind, Meta};

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

/// A regular file or symlink in TARGET that belongs to the merged package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owned {
    /// Relative to TARGET, as staged (through TARGET's symlinks, e.g. `lib64/x`).
    pub path: PathBuf,
    /// [`Kind::File`] or [`Kind::Symlink`].
    pub kind: Kind,
    /// With [`Record::Full`].
    pub detail: Option<Detail>,
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

fn sha256(mut r: impl Read) -> io::Result<[u8; 32]> {
    let mut h = Sha256::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(h.finalize().into()),
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Lists the files and symlinks below the staged directory `parent/name`
/// (at `path`), before it is moved whole: afterwards another merge may
/// already be adding its own files to it in TARGET.
pub(crate) fn tree<F: Fs>(
    fs: &F,
    level: Record,
    parent: &F::Dir,
    name: &OsStr,
    path: &Path,
) -> io::Result<Vec<Owned>> {
    let mut out = Vec::new();
    let mut stack = vec![(fs.open_dir(parent, name)?, path.to_path_buf())];
    while let Some((dir, at)) = stack.pop() {
        for e in fs.read_dir(&dir)? {
            let meta = fs.stat_at(&dir, &e.name)?;
            let p = at.join(&e.name);
            if meta.kind == Kind::Dir {
                stack.push((fs.open_dir(&dir, &e.name)?, p));
            } else if recorded(meta.kind) {
                out.push(describe(fs, level, &dir, &e.name, &meta, p)?);
            }
        }
    }
    Ok(out)
}
