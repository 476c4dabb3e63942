//! The text manifest: one path a line, raw bytes, sorted by bytes.

use std::path::PathBuf;

use stagemerge_core::Owned;

/// The manifest's bytes, and the paths it cannot hold (with a newline).
pub(crate) fn write(owned: &[Owned]) -> (Vec<u8>, Vec<PathBuf>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for o in owned {
        let b = o.path.as_os_str().as_encoded_bytes();
        if b.contains(&b'\n') {
            skipped.push(o.path.clone());
            continue;
        }
        out.extend_from_slice(b);
        out.push(b'\n');
    }
    (out, skipped)
}
