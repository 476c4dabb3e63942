//! What the Unixes other than Linux share: the primitives Linux does with a
//! call of its own (`O_TMPFILE`, `copy_file_range`, `syncfs`, `mknodat`),
//! done portably or refused with a clear error.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use cap_std::fs::Dir;
use stagemerge_core::Stamp;

/// No filesystem clock to read: the system clock is used instead.
pub(crate) fn clock(_dir: &Dir) -> Option<Stamp> {
    None
}

/// `--sync` is not written for these platforms yet (it needs an fsync of
/// every placed file and touched directory): refuse rather than pretend.
pub(crate) fn sync_filesystem(_dir: &Dir) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "--sync is only implemented on Linux (syncfs)",
    ))
}

/// No anonymous temporaries here: copies use named ones.
pub(crate) fn anonymous_temp(_dir: &Dir) -> io::Result<Option<OwnedFd>> {
    Ok(None)
}

pub(crate) fn link_anonymous(
    _fd: BorrowedFd<'_>,
    _dir: &Dir,
    _name: &std::ffi::OsStr,
) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no anonymous temporaries",
    ))
}

/// Lists `dir` (through a second descriptor, as rustix's `Dir` does).
pub(crate) fn list(dir: &Dir, each: &mut dyn FnMut(&[u8], rustix::fs::FileType)) -> io::Result<()> {
    for e in rustix::fs::Dir::read_from(dir)? {
        let e = e?;
        each(e.file_name().to_bytes(), e.file_type());
    }
    Ok(())
}

/// Copies a file's bytes by reading (no in-kernel copy is used here yet).
pub(crate) fn copy_data(src: &OwnedFd, dst: &OwnedFd, _size: u64) -> io::Result<()> {
    super::copy::copy_by_reading(src, dst)
}

/// Recreating fifos, sockets and device nodes in copy mode needs `mknodat`,
/// which rustix offers on Linux only so far.
pub(crate) fn make_node(
    _dir: &Dir,
    _name: &std::ffi::OsStr,
    _ty: rustix::fs::FileType,
    _mode: rustix::fs::Mode,
    _rdev: u64,
) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "copying fifos, sockets and device nodes is only implemented on Linux",
    ))
}
