//! macOS: the no-replace rename is `renamex_np(RENAME_EXCL)` (rustix's
//! `renameat_with` with `RenameFlags::NOREPLACE` calls `renameatx_np` with
//! `RENAME_EXCL` there); the rest is portable.

use std::io;

use cap_std::fs::Dir;
use rustix::fs::RenameFlags;
use rustix::io::Errno;

pub(crate) use super::portable::{
    anonymous_temp, clock, copy_data, link_anonymous, list, make_node, sync_filesystem,
};

pub(super) fn rename_noreplace(
    from: &Dir,
    from_name: &std::ffi::OsStr,
    to: &Dir,
    to_name: &std::ffi::OsStr,
) -> io::Result<()> {
    rustix::fs::renameat_with(from, from_name, to, to_name, RenameFlags::NOREPLACE).map_err(|e| {
        // Filesystems without exclusive rename (some network and FUSE ones)
        // answer ENOTSUP or EINVAL.
        if e == Errno::INVAL || e == Errno::NOTSUP || e == Errno::NOSYS {
            io::Error::new(io::ErrorKind::Unsupported, io::Error::from(e))
        } else {
            e.into()
        }
    })
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
