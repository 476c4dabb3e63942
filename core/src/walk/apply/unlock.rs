//! Writing into read-only directories the running user owns (as `rm -rf`
//! and `cp` do for their own trees): made writable for the merge, restored
//! when the directory is left.

use std::io;

use crate::fs::{Fs, Meta};

use super::super::frame::Frame;
use super::Restore;

/// Whether `r` failed for want of permission.
pub(super) fn denied<T>(r: &io::Result<T>) -> bool {
    matches!(r, Err(e) if e.kind() == io::ErrorKind::PermissionDenied)
}

/// Makes the frame's directories writable where they are read-only and
/// owned by the running user; their modes are restored when the frame is
/// left. Returns whether anything changed (so a retry can help).
pub(super) fn unlock<F: Fs>(fs: &F, fr: &mut Frame<'_, F::Dir, Restore>) -> bool {
    let Some(euid) = fs.euid() else {
        return false;
    };
    let mut changed = false;
    if fr.extra.target_mode.is_none()
        && let Some(mode) = fr
            .target_meta
            .as_ref()
            .and_then(|m| owned_read_only(m, euid))
        && fs.set_dir_mode(fr.target(), mode | 0o200).is_ok()
    {
        fr.extra.target_mode = Some(mode);
        changed = true;
    }
    if fr.extra.stage_mode.is_none()
        && let Ok(meta) = fs.stat_dir(fr.stage.get())
        && let Some(mode) = owned_read_only(&meta, euid)
        && fs.set_dir_mode(fr.stage.get(), mode | 0o200).is_ok()
    {
        fr.extra.stage_mode = Some(mode);
        changed = true;
    }
    changed
}

/// The mode to restore if `meta` is a directory the user `euid` owns and
/// cannot write.
pub(super) fn owned_read_only(meta: &Meta, euid: u32) -> Option<u32> {
    match (meta.mode, meta.uid) {
        (Some(mode), Some(uid)) if uid == euid && mode & 0o200 == 0 => Some(mode),
        _ => None,
    }
}
