//! macOS: `renamex_np(RENAME_EXCL)` (rustix's `renameat_with` with
//! `RenameFlags::EXCL` calls `renameatx_np`).

use std::io;

use cap_std::fs::Dir;
use rustix::fs::RenameFlags;
use rustix::io::Errno;
use stagemerge_core::Stamp;

pub(super) fn rename_noreplace(
    from: &Dir,
    from_name: &std::ffi::OsStr,
    to: &Dir,
    to_name: &std::ffi::OsStr,
) -> io::Result<()> {
    rustix::fs::renameat_with(from, from_name, to, to_name, RenameFlags::EXCL).map_err(|e| {
        // Filesystems without exclusive rename (some network and FUSE ones)
        // answer ENOTSUP or EINVAL.
        if e == Errno::INVAL || e == Errno::NOTSUP || e == Errno::NOSYS {
            io::Error::new(io::ErrorKind::Unsupported, io::Error::from(e))
        } else {
            e.into()
        }
    })
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
