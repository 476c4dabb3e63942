//! The one reader of records: a JSON manifest, a journal, a Sage
//! installation record or a text manifest, each checked whole before any
//! command acts on it.
//!
//! A record is input, not truth: anyone who can write the records
//! directory, a broken disk or a bug can change it. So a record is refused
//! whole, naming the entry (or line) and what is wrong, when any entry
//! names a path a package cannot own ([`path::check`]: empty, not canonical,
//! out of TARGET, a NUL, stagemerge's own state in [`Reserved`]), when a
//! field has the wrong type or range, when `path` comes with `path_hex`,
//! or when the format or its version is unknown. Reading is bounded: a
//! record over [`MAX_RECORD_BYTES`] is refused before it is parsed, a path
//! over [`MAX_PATH_BYTES`] is refused, memory grows with the entries (the
//! JSON is streamed entry by entry, never built as a tree), and messages
//! cut long names ([`shown`]).

mod json;
mod path;
mod pip;
mod reserved;
#[cfg(test)]
mod tests;
mod text;

use std::ffi::OsString;

pub use pip::site_of as pip_site_of;
pub use reserved::{Reserved, What};

use crate::Installed;

/// The largest record read: 128 MiB, about 800,000 entries of a JSON
/// manifest (the corpus's 12,826 entries take 2 MiB). A larger file is
/// refused before it is read.
pub const MAX_RECORD_BYTES: u64 = 128 << 20;

/// The longest recorded path: 64 KiB (Linux's `PATH_MAX` is 4 KiB; a merge
/// walks deeper trees level by level, so a record may hold longer ones).
pub const MAX_PATH_BYTES: usize = 64 << 10;

/// Which of the formats a document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// stagemerge's JSON manifest (`"format": "stagemerge-manifest"`).
    Manifest,
    /// The journal of a merge (`"format": "stagemerge-journal"`).
    Journal,
    /// Sage's installation record (a JSON object with a `files` list of
    /// strings and no `format`).
    Sage,
    /// The text manifest: one path a line.
    Text,
    /// pip's `*.dist-info/RECORD` (CSV rows, paths relative to the site
    /// directory), read only where the caller knows the file is one.
    Pip,
}

/// What the reader needs to know of where the record is used.
#[derive(Clone, Copy, Debug)]
pub struct Rules<'a> {
    /// The name of this platform made of a recorded name's bytes (`None`:
    /// no name here; on Windows, bytes that are not UTF-8).
    pub name: fn(Vec<u8>) -> Option<OsString>,
    /// The paths below TARGET that no record may list.
    pub reserved: &'a Reserved,
}

/// A record, read and checked.
#[derive(Debug)]
pub struct Parsed {
    /// The format it was written in.
    pub format: Format,
    /// Its entries, in the record's order.
    pub entries: Vec<Installed>,
}

/// Why a record was refused: the entry or line and what is wrong (the
/// caller adds the record's path).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// Reads the document `bytes` in whichever format it is written.
pub fn parse(bytes: &[u8], rules: &Rules<'_>) -> Result<Parsed, Invalid> {
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(Invalid(format!(
            "{} bytes, over the limit of {MAX_RECORD_BYTES} for a record",
            bytes.len()
        )));
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        json::parse(bytes, rules).map_err(Invalid)
    } else {
        Ok(Parsed {
            format: Format::Text,
            entries: text::parse(bytes, rules).map_err(Invalid)?,
        })
    }
}

/// Reads the pip `RECORD` `bytes` of a `.dist-info` in the TARGET-relative
/// directory `site` (`/`-separated).
pub fn parse_pip(bytes: &[u8], site: &[u8], rules: &Rules<'_>) -> Result<Parsed, Invalid> {
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(Invalid(format!(
            "{} bytes, over the limit of {MAX_RECORD_BYTES} for a record",
            bytes.len()
        )));
    }
    Ok(Parsed {
        format: Format::Pip,
        entries: pip::parse(bytes, site, rules).map_err(Invalid)?,
    })
}

/// `bytes` as one printable line for a message, cut to its first 160
/// characters (with its length) when longer.
pub fn shown(bytes: &[u8]) -> String {
    const KEEP: usize = 160;
    let cut = bytes.len() > KEEP;
    let s = crate::escape::escape(&bytes[..bytes.len().min(KEEP)]);
    if cut {
        format!("{s}… ({} bytes)", bytes.len())
    } else {
        s
    }
}
