//! Installation records: stagemerge's manifests (text and JSON) and Sage's
//! installation record, written atomically and read back for `uninstall`
//! and `verify`.
//!
//! JSON manifest (`--manifest-format json`):
//!
//! ```json
//! {"format": "stagemerge-manifest", "version": 1, "files": [
//!   {"path": "lib/libz.so.1.3", "kind": "file", "size": 104, "mode": "0755", "sha256": "…"},
//!   {"path": "lib/libz.so.1", "kind": "symlink", "size": 11, "target": "libz.so.1.3"}]}
//! ```
//!
//! Names are bytes. A path (or link text) that is valid UTF-8 is a JSON
//! string (newlines and quotes escaped as JSON does); one that is not is
//! given as `path_hex` (or `target_hex`): its bytes in lowercase hex.
//! A text manifest has one path a line, raw bytes; a path containing a
//! newline cannot be written there (use JSON).

mod json;
mod sage;
mod text;

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use stagemerge_core::Installed;

pub(crate) use json::write as write_json;
pub(crate) use sage::write as write_sage;
pub(crate) use text::write as write_text;

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, renamed over `path` once complete.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".stagemerge-record-")
        .tempfile_in(dir)
        .with_context(|| format!("create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("write {}", tmp.path().display()))?;
    tmp.persist(path)
        .with_context(|| format!("rename into place {}", path.display()))?;
    Ok(())
}

/// Reads a record in any of the three formats: a JSON manifest, a Sage
/// installation record (JSON with a `files` list of strings), or a text
/// manifest.
pub(crate) fn read(path: &Path) -> Result<Vec<Installed>> {
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let parsed = if first == Some(&b'{') {
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} starts like JSON but is not", path.display()))?;
        if v.get("format").is_some() {
            json::parse(&v)
        } else if v.get("files").is_some() {
            sage::parse(&v)
        } else {
            bail!("a JSON object with neither \"format\" nor \"files\"")
        }
    } else {
        Ok(text::parse(&bytes))
    };
    parsed.with_context(|| format!("read record {}", path.display()))
}
