//! Other Unixes: no no-replace rename is known, so the core always takes the
//! portable fallback (link + unlink, mkdir + children).

use std::io;

use cap_std::fs::Dir;
use stagemerge_core::Stamp;

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

pub(super) fn clock(_dir: &Dir) -> Option<Stamp> {
    None
}

/// `--sync` is not written for this platform yet (it needs an fsync of every
/// placed file and touched directory): refuse rather than pretend.
pub(crate) fn sync_filesystem(_dir: &Dir) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "--sync is only implemented on Linux (syncfs)",
    ))
}

/// No anonymous temporaries here: copies use named ones.
pub(super) fn anonymous_temp(_dir: &Dir) -> io::Result<Option<std::os::fd::OwnedFd>> {
    Ok(None)
}

pub(super) fn link_anonymous(
    _fd: std::os::fd::BorrowedFd<'_>,
    _dir: &Dir,
    _name: &std::ffi::OsStr,
) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no anonymous temporaries",
    ))
}

/// Copies a file's bytes by reading (no in-kernel copy is used here yet).
pub(super) fn copy_data(
    src: &std::os::fd::OwnedFd,
    dst: &std::os::fd::OwnedFd,
    _size: u64,
) -> io::Result<()> {
    super::copy::copy_by_reading(src, dst)
}

/// Lists `dir` (through a second descriptor, as rustix's `Dir` does).
pub(super) fn list(dir: &Dir, each: &mut dyn FnMut(&[u8], rustix::fs::FileType)) -> io::Result<()> {
    for e in rustix::fs::Dir::read_from(dir)? {
        let e = e?;
        each(e.file_name().to_bytes(), e.file_type());
    }
    Ok(())
}
