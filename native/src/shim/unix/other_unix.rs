//! Other Unixes: no no-replace rename is known, so the core always takes the
//! portable fallback (link + unlink, mkdir + children); the rest is portable.

use std::io;

use cap_std::fs::Dir;

pub(crate) use super::portable::{
    anonymous_temp, clock, copy_data, link_anonymous, list, make_node, sync_filesystem,
};

pub(super) fn rename_noreplace(
    _from: &Dir,
    _from_name: &std::ffi::OsStr,
    _to: &Dir,
    _to_name: &std::ffi::OsStr,
) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no no-replace rename on this platform",
    ))
}

/// How far an flock on `file` reaches: not looked at on this platform.
pub(crate) fn lock_reach<T>(_file: &T) -> crate::shim::lock_reach::Reach {
    crate::shim::lock_reach::Reach::Unchecked
}

/// Whether `dir`'s filesystem's client may answer from what it saw
/// earlier: not looked at on this platform.
pub(super) fn caches_views<T>(_dir: &T) -> bool {
    false
}
