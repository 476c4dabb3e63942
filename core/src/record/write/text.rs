//! The text manifest: one path a line, raw bytes, in the order given
//! (the merge sorts by bytes).

use std::path::PathBuf;

use crate::record::Owned;

/// The manifest's bytes, and the paths it cannot hold with why: a name
/// with a newline (it would be two lines), and a name that would make the
/// document start like JSON (its first byte other than ASCII whitespace a
/// `{`: the reader would take the whole manifest for a JSON record).
pub fn text(owned: &[Owned]) -> (Vec<u8>, Vec<(PathBuf, &'static str)>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    // Whether all written so far is ASCII whitespace, as the reader skips.
    let mut blank = true;
    for o in owned {
        let b = o.path.as_os_str().as_encoded_bytes();
        if b.contains(&b'\n') {
            skipped.push((o.path.clone(), "has a newline in its name"));
            continue;
        }
        if blank && b.trim_ascii_start().starts_with(b"{") {
            skipped.push((
                o.path.clone(),
                "starts with `{`, which would make the text manifest read as JSON",
            ));
            continue;
        }
        blank = blank && b.trim_ascii_start().is_empty();
        out.extend_from_slice(b);
        out.push(b'\n');
    }
    (out, skipped)
}
