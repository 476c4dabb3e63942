//! The text manifest: one path a line, raw bytes, sorted by bytes.

use std::path::PathBuf;

use stagemerge_core::{Installed, Owned, State};

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

pub(super) fn parse(bytes: &[u8]) -> Vec<Installed> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        // A line that is no name on this platform names nothing installed.
        .filter_map(|l| crate::shim::name_from_bytes(l.to_vec()))
        .map(|name| Installed {
            path: PathBuf::from(name),
            kind: None,
            detail: None,
            state: State::Placed,
        })
        .collect()
}
