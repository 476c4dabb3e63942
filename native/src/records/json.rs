//! The JSON manifest (schema in the module above), and the journal, which
//! lists entries the same way under another format name.

use std::ffi::OsStr;

use stagemerge_core::{Content, Kind, Owned, State};

/// The format name of a JSON manifest (the core's reader reads both).
pub(crate) const MANIFEST: &str = "stagemerge-manifest";
/// The format name of a journal.
pub(crate) const JOURNAL: &str = "stagemerge-journal";

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

/// A JSON manifest's bytes.
pub(crate) fn write(owned: &[Owned]) -> Vec<u8> {
    document(MANIFEST, owned)
}

/// The bytes of a document of `format` listing `owned`, one entry a line.
/// Written directly, not through a `Value` tree: a journal of every staged
/// file is written before each merge, so this is on the merge's path.
pub(crate) fn document(format: &str, owned: &[Owned]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + owned.len() * 96);
    out.push(b'{');
    put(&mut out, "format", format);
    out.extend_from_slice(b", \"version\": 1, \"files\": [");
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
