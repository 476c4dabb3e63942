//! Names as printable, one-line text, and as JSON.

use std::fmt::Write as _;

/// A name's bytes as one printable line: UTF-8 stays as it is except
/// backslashes and control characters; other bytes become `\xNN`.
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let mut b = [0; 4];
                    for byte in c.encode_utf8(&mut b).bytes() {
                        let _ = write!(out, "\\x{byte:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// Puts `path` in `o` as `path` (UTF-8) or `path_hex` (its bytes in hex,
/// for any other bytes), so every name survives a JSON round trip.
pub(crate) fn put_path(o: &mut serde_json::Map<String, serde_json::Value>, path: &std::path::Path) {
    let bytes = path.as_os_str().as_encoded_bytes();
    match std::str::from_utf8(bytes) {
        Ok(s) => o.insert("path".into(), s.into()),
        Err(_) => o.insert("path_hex".into(), hex::encode(bytes).into()),
    };
}
