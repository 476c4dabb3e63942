//! The JSON manifest and the journal, which lists entries the same way
//! under another format name:
//!
//! ```json
//! {"format": "stagemerge-manifest", "version": 1, "files": [
//!   {"path": "lib/libz.so.1.3", "kind": "file", "size": 104, "mode": "0755", "sha256": "…"},
//!   {"path": "lib/libz.so.1", "kind": "symlink", "size": 11, "target": "libz.so.1.3"},
//!   {"path_hex": "6e2f61ff62", "kind": "file", "size": 0, "mode": "0644",
//!    "sha256": "…", "state": "lost"}]}
//! ```
//!
//! A name (path or link text) that is UTF-8 is a JSON string; one that is
//! not is `path_hex` (`target_hex`): its bytes in lowercase hex.

use std::ffi::OsStr;

use crate::fs::Kind;
use crate::record::{Content, JOURNAL, MANIFEST, Owned, State, VERSION};

/// A JSON manifest's bytes.
pub fn manifest(owned: &[Owned]) -> Vec<u8> {
    document(MANIFEST, owned)
}

/// A journal's bytes.
pub fn journal(owned: &[Owned]) -> Vec<u8> {
    document(JOURNAL, owned)
}

/// Writes `"key": name` (UTF-8) or `"key_hex": "…"` (any other bytes).
fn put_name(out: &mut Vec<u8>, key: &str, name: &OsStr) {
    match name.to_str() {
        Some(s) => put(out, key, s),
        None => put(
            out,
            &format!("{key}_hex"),
            &hex::encode(name.as_encoded_bytes()),
        ),
    }
}

/// Writes `"key": "value"`, escaped as JSON.
fn put(out: &mut Vec<u8>, key: &str, value: &str) {
    serde_json::to_writer(&mut *out, key).expect("writing to a Vec");
    out.extend_from_slice(b": ");
    serde_json::to_writer(&mut *out, value).expect("writing to a Vec");
}

/// The bytes of a document of `format` listing `owned`, one entry a line.
/// Written directly, not through a `Value` tree: a journal of every staged
/// file is written before each merge, so this is on the merge's path.
fn document(format: &str, owned: &[Owned]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + owned.len() * 96);
    out.push(b'{');
    put(&mut out, "format", format);
    out.extend_from_slice(format!(", \"version\": {VERSION}, \"files\": [").as_bytes());
    for (i, o) in owned.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n  {" } else { b",\n  {" });
        put_name(&mut out, "path", o.path.as_os_str());
        out.extend_from_slice(b", ");
        let kind = if o.kind == Kind::Symlink {
            "symlink"
        } else {
            "file"
        };
        put(&mut out, "kind", kind);
        if let Some(d) = &o.detail {
            out.extend_from_slice(format!(", \"size\": {}", d.size).as_bytes());
            if let Some(m) = d.mode {
                out.extend_from_slice(b", ");
                put(&mut out, "mode", &format!("{m:04o}"));
            }
            out.extend_from_slice(b", ");
            match &d.content {
                Content::File { sha256 } => put(&mut out, "sha256", &hex::encode(sha256)),
                Content::Link { text } => put_name(&mut out, "target", text),
            }
        }
        if o.state == State::Lost {
            out.extend_from_slice(b", ");
            put(&mut out, "state", "lost");
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"\n]}\n");
    out
}
