//! The text manifest: one path a line, raw bytes.

use super::Rules;
use super::path;
use crate::Installed;
use crate::record::State;

/// The entries of a text manifest; the last line may lack its newline, and
/// no other line may be empty.
pub(super) fn parse(bytes: &[u8], rules: &Rules<'_>) -> Result<Vec<Installed>, String> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    body.split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            let path = path::check(line, rules).map_err(|e| format!("line {}: {e}", i + 1))?;
            Ok(Installed {
                path,
                kind: None,
                detail: None,
                state: State::Placed,
            })
        })
        .collect()
}
