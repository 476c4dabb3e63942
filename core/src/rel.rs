//! Paths below a root, spelled with `/` on every platform.
//!
//! A relative path is what a record stores, what the owner index is keyed
//! by and what the journal lists, so it must be the same bytes whichever
//! system wrote it: `std`'s `join` would spell it with `\` on Windows and
//! the records of one prefix would then disagree with themselves. Windows
//! accepts `/` as a separator, so the one spelling works everywhere.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// Appends the entry `name` to the relative path `rel` with a `/`.
pub fn push(rel: &mut PathBuf, name: &OsStr) {
    let mut s = std::mem::take(rel).into_os_string();
    if !s.is_empty() {
        s.push("/");
    }
    s.push(name);
    *rel = PathBuf::from(s);
}

/// The relative path of the entry `name` in the directory `rel`.
pub fn child(rel: &Path, name: &OsStr) -> PathBuf {
    let mut out = rel.to_path_buf();
    push(&mut out, name);
    out
}

/// `rel` below `root` as the user named `root`, for messages: `root`
/// itself when `rel` is empty, no doubled separator when `root` ends in one.
pub fn under(root: &Path, rel: &Path) -> PathBuf {
    if rel.as_os_str().is_empty() {
        return root.to_path_buf();
    }
    let mut s = OsString::from(root.as_os_str());
    let ends_in_sep = matches!(
        root.as_os_str().as_encoded_bytes().last(),
        Some(b'/' | b'\\')
    );
    if !ends_in_sep && !s.is_empty() {
        s.push("/");
    }
    s.push(rel.as_os_str());
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_joined_with_a_slash_on_every_platform() {
        let mut rel = PathBuf::new();
        push(&mut rel, OsStr::new("lib"));
        push(&mut rel, OsStr::new("python3"));
        assert_eq!(rel.as_os_str(), "lib/python3");
        assert_eq!(
            child(&rel, OsStr::new("x.py")).as_os_str(),
            "lib/python3/x.py"
        );
        rel.pop();
        assert_eq!(rel.as_os_str(), "lib");
    }

    #[test]
    fn under_a_root_keeps_the_root_as_named() {
        assert_eq!(
            under(Path::new("/t"), Path::new("a/b")).as_os_str(),
            "/t/a/b"
        );
        assert_eq!(under(Path::new("/t/"), Path::new("a")).as_os_str(), "/t/a");
        assert_eq!(under(Path::new("/t"), Path::new("")).as_os_str(), "/t");
        assert_eq!(under(Path::new(""), Path::new("a")).as_os_str(), "a");
    }
}
