//! A recorded path, checked: the one rule of what a record may name.

use std::path::{Component, PathBuf};

use super::{MAX_PATH_BYTES, Rules, shown};

/// The path of the recorded name `bytes`, or why a record may not list it:
/// empty, longer than [`MAX_PATH_BYTES`], a NUL, not canonical (a leading,
/// trailing or doubled `/`, a `.` or `..` component), not a relative path on
/// this platform (a drive or `\` on Windows), not a name this platform can
/// hold, or stagemerge's own state.
pub(super) fn check(bytes: &[u8], rules: &Rules<'_>) -> Result<PathBuf, String> {
    if bytes.is_empty() {
        return Err("an empty path".into());
    }
    if bytes.len() > MAX_PATH_BYTES {
        return Err(format!(
            "a path of {} bytes, over the limit of {MAX_PATH_BYTES}: {}",
            bytes.len(),
            shown(bytes)
        ));
    }
    if bytes.contains(&0) {
        return Err(format!("a NUL byte in the path {}", shown(bytes)));
    }
    let mut pieces = 0;
    for piece in bytes.split(|b| *b == b'/') {
        pieces += 1;
        match piece {
            b"" => {
                return Err(format!(
                    "not a canonical relative path (a leading, trailing or doubled /): {}",
                    shown(bytes)
                ));
            }
            b"." | b".." => {
                return Err(format!("a . or .. component in the path {}", shown(bytes)));
            }
            _ => {}
        }
    }
    // Copied only once checked: a refused name may be most of the record.
    let Some(name) = (rules.name)(bytes.to_vec()) else {
        return Err(format!(
            "the path {} is no name on this platform",
            shown(bytes)
        ));
    };
    let path = PathBuf::from(name);
    // The platform's own reading of the name must agree with the `/` split:
    // on Windows a `\` separates too and `C:` is a drive. Where `/` is the
    // only separator (and there are no drives) the split above is that
    // reading already, and walking the components was a fifth of reading a
    // directory of records.
    if !std::path::is_separator('\\') {
        return reserved(path, bytes, rules);
    }
    let mut n = 0;
    for c in path.components() {
        n += 1;
        if !matches!(c, Component::Normal(_)) {
            return Err(format!(
                "the path {} is not relative to TARGET on this platform",
                shown(bytes)
            ));
        }
    }
    if n != pieces {
        return Err(format!(
            "the path {} has a separator of this platform in a name",
            shown(bytes)
        ));
    }
    reserved(path, bytes, rules)
}

/// `path`, unless it is stagemerge's own state.
fn reserved(path: PathBuf, bytes: &[u8], rules: &Rules<'_>) -> Result<PathBuf, String> {
    if let Some(what) = rules.reserved.claims(&path) {
        return Err(format!(
            "the path {} is {} of stagemerge, which no package owns",
            shown(bytes),
            what.describe()
        ));
    }
    Ok(path)
}
