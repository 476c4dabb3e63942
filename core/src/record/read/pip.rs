//! pip's `*.dist-info/RECORD`: what a wheel installed, one CSV row a file
//! (`path,sha256=<urlsafe base64>,size`), paths relative to the directory
//! that holds the `.dist-info` (site-packages), scripts reached by `..`.
//!
//! Read as any record is: checked whole, every path resolved against the
//! site directory and refused when it leaves TARGET or names what no
//! package owns. A row with a SHA-256 and a size gives the entry a
//! detail, so a modified file is told from the installed one; a row
//! without (the RECORD itself, `.pyc` files some installers add) lists
//! the path only. Another digest (`sha384=`, ...) lists the path only
//! too: a digest that cannot be compared is not evidence either way.

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};

use super::{Rules, path, shown};

#[cfg(test)]
#[path = "pip_tests.rs"]
mod tests;
use crate::Installed;
use crate::fs::Kind;
use crate::record::{Content, Detail, State};

/// The entries of a RECORD whose `.dist-info` lies in `site` (TARGET-
/// relative, `/`-separated bytes; empty: TARGET itself).
pub(super) fn parse(
    bytes: &[u8],
    site: &[u8],
    rules: &Rules<'_>,
) -> Result<Vec<Installed>, String> {
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut out = Vec::new();
    let mut row = csv::ByteRecord::new();
    let mut n = 0;
    loop {
        match rows.read_byte_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(format!("row {}: {e}", n + 1)),
        }
        n += 1;
        let at = |e: String| format!("row {n}: {e}");
        if row.len() != 3 {
            return Err(at(format!(
                "{} fields where a RECORD row has 3 (path, hash, size)",
                row.len()
            )));
        }
        let joined = resolve(site, &row[0]).map_err(at)?;
        let path = path::check(&joined, rules).map_err(at)?;
        let size = match &row[2] {
            b"" => None,
            s => Some(
                std::str::from_utf8(s)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| at(format!("the size {} is not a number", shown(s))))?,
            ),
        };
        let sha256 = digest(&row[1]).map_err(at)?;
        let (kind, detail) = match (sha256, size) {
            (Some(sha256), Some(size)) => (
                Some(Kind::File),
                Some(Detail {
                    size,
                    mode: None,
                    content: Content::File { sha256 },
                }),
            ),
            _ => (None, None),
        };
        out.push(Installed {
            path,
            kind,
            detail,
            state: State::Placed,
        });
    }
    Ok(out)
}

/// `site`/`name` with `.` and `..` resolved by name (as pip resolves them),
/// or why it cannot be: absolute, or above TARGET.
fn resolve(site: &[u8], name: &[u8]) -> Result<Vec<u8>, String> {
    if name.first() == Some(&b'/') {
        return Err(format!("the absolute path {}", shown(name)));
    }
    let mut parts: Vec<&[u8]> = site
        .split(|b| *b == b'/')
        .filter(|p| !p.is_empty())
        .collect();
    for piece in name.split(|b| *b == b'/') {
        match piece {
            b"." => {}
            b".." => {
                if parts.pop().is_none() {
                    return Err(format!("the path {} leaves TARGET", shown(name)));
                }
            }
            // Empty pieces are kept: the path check refuses a doubled or
            // trailing `/` by name.
            p => parts.push(p),
        }
    }
    Ok(parts.join(&b'/'))
}

/// The SHA-256 of a hash field (`sha256=<urlsafe base64>`), `None` for an
/// empty field or another algorithm.
fn digest(field: &[u8]) -> Result<Option<[u8; 32]>, String> {
    if field.is_empty() {
        return Ok(None);
    }
    let Some(eq) = field.iter().position(|b| *b == b'=') else {
        return Err(format!("the hash {} has no algorithm", shown(field)));
    };
    let (algo, value) = (&field[..eq], &field[eq + 1..]);
    if algo != b"sha256" {
        return Ok(None);
    }
    let raw = URL_SAFE_NO_PAD
        .decode(value)
        .or_else(|_| URL_SAFE.decode(value))
        .map_err(|e| format!("the hash {}: {e}", shown(field)))?;
    <[u8; 32]>::try_from(raw.as_slice())
        .map(Some)
        .map_err(|_| format!("the hash {} is not 32 bytes", shown(field)))
}

/// The site directory of a RECORD at `record` (TARGET-relative): the
/// directory holding its `*.dist-info`, when `record` is a `RECORD` file
/// directly in one.
pub fn site_of(record: &std::path::Path) -> Option<&std::path::Path> {
    let dist_info = record.parent()?;
    (record.file_name()? == "RECORD"
        && dist_info
            .file_name()?
            .as_encoded_bytes()
            .ends_with(b".dist-info"))
    .then(|| dist_info.parent())
    .flatten()
}
