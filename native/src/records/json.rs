//! The JSON manifest (schema in the module above), and the journal, which
//! lists entries the same way under another format name.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use stagemerge_core::{Content, Detail, Installed, Kind, Owned, State};

/// The format name of a JSON manifest.
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

fn get_name(obj: &Value, key: &str) -> Result<Option<OsString>> {
    if let Some(s) = obj.get(key) {
        let s = s
            .as_str()
            .ok_or_else(|| anyhow!("\"{key}\" is not a string"))?;
        return Ok(Some(s.into()));
    }
    match obj.get(format!("{key}_hex")) {
        Some(h) => {
            let h = h
                .as_str()
                .ok_or_else(|| anyhow!("\"{key}_hex\" is not a string"))?;
            let bytes = hex::decode(h).with_context(|| format!("\"{key}_hex\" is not hex"))?;
            crate::shim::name_from_bytes(bytes)
                .map(Some)
                .ok_or_else(|| anyhow!("\"{key}_hex\" is not a name this platform can hold"))
        }
        None => Ok(None),
    }
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

/// The entries of a document of `format`.
pub(super) fn parse(v: &Value, format: &str) -> Result<Vec<Installed>> {
    if v.get("format").and_then(Value::as_str) != Some(format) {
        bail!("\"format\" is not \"{format}\"");
    }
    let files = v
        .get("files")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("no \"files\" list"))?;
    files
        .iter()
        .enumerate()
        .map(|(i, f)| entry(f).with_context(|| format!("files[{i}]")))
        .collect()
}

fn entry(f: &Value) -> Result<Installed> {
    let path = PathBuf::from(get_name(f, "path")?.ok_or_else(|| anyhow!("no \"path\""))?);
    let kind = match f.get("kind").and_then(Value::as_str) {
        Some("file") => Kind::File,
        Some("symlink") => Kind::Symlink,
        other => bail!("unknown \"kind\" {other:?}"),
    };
    let state = match f.get("state").and_then(Value::as_str) {
        None | Some("placed") => State::Placed,
        Some("lost") => State::Lost,
        Some(other) => bail!("unknown \"state\" {other:?}"),
    };
    let Some(size) = f.get("size").and_then(Value::as_u64) else {
        return Ok(Installed {
            path,
            kind: Some(kind),
            detail: None,
            state,
        });
    };
    let mode = match f.get("mode").and_then(Value::as_str) {
        Some(m) => Some(
            u32::from_str_radix(m, 8).with_context(|| format!("\"mode\" {m:?} is not octal"))?,
        ),
        None => None,
    };
    let content = match kind {
        Kind::Symlink => Content::Link {
            text: get_name(f, "target")?.ok_or_else(|| anyhow!("a symlink without \"target\""))?,
        },
        _ => {
            let h = f
                .get("sha256")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("no \"sha256\""))?;
            let mut sha256 = [0; 32];
            hex::decode_to_slice(h, &mut sha256).context("\"sha256\" is not 64 hex digits")?;
            Content::File { sha256 }
        }
    };
    Ok(Installed {
        path,
        kind: Some(kind),
        detail: Some(Detail {
            size,
            mode,
            content,
        }),
        state,
    })
}
