//! Linux: `renameat2(RENAME_NOREPLACE)`, and the clock read off an
//! `O_TMPFILE` inode so it matches the filesystem's own change times.

use std::io;

use cap_std::fs::Dir;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;
use stagemerge_core::Stamp;

pub(super) fn rename_noreplace(
    from: &Dir,
    from_name: &std::ffi::OsStr,
    to: &Dir,
    to_name: &std::ffi::OsStr,
) -> io::Result<()> {
    rustix::fs::renameat_with(from, from_name, to, to_name, RenameFlags::NOREPLACE)
        .map_err(refused_flag)
}

/// EINVAL, ENOSYS and EOPNOTSUPP are how kernels and filesystems (NFS, FUSE,
/// older ZFS) say they do not do `RENAME_NOREPLACE`; only those switch the
/// merge to the link/mkdir fallback.
fn refused_flag(e: Errno) -> io::Error {
    if e == Errno::INVAL || e == Errno::NOSYS || e == Errno::OPNOTSUPP {
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "renameat2(RENAME_NOREPLACE) refused: {}",
                io::Error::from(e)
            ),
        )
    } else {
        e.into()
    }
}

/// The change time an inode created now in `dir` gets. An anonymous
/// `O_TMPFILE` leaves no name behind and does not touch `dir`. Where the
/// filesystem refuses one (every FUSE and network filesystem) and stamps
/// whole seconds (MooseFS, sshfs), this machine's clock cut to its second:
/// the change time a file made now gets there. `None` otherwise (the
/// caller's fallback is this machine's clock).
pub(super) fn clock(dir: &Dir) -> Option<Stamp> {
    let Ok(fd) = rustix::fs::openat(
        dir,
        ".",
        OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    ) else {
        return facts(dir)
            .whole_seconds
            .then(|| crate::shim::lock_reach::to_whole_second(Stamp::now()));
    };
    let st = rustix::fs::fstat(&fd).ok()?;
    Some(super::ctime(&st))
}

/// How far an flock on `file` reaches, by its filesystem's line in
/// `/proc/self/mountinfo` (type and options: [`crate::shim::lock_reach`]).
pub(crate) fn lock_reach(file: &impl std::os::fd::AsFd) -> crate::shim::lock_reach::Reach {
    use crate::shim::lock_reach::{Reach, mount_of, reach};
    let Ok(st) = rustix::fs::fstat(file) else {
        return Reach::Unchecked;
    };
    let (major, minor) = (rustix::fs::major(st.st_dev), rustix::fs::minor(st.st_dev));
    match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(info) => match mount_of(&info, major, minor) {
            Some((fstype, options)) => reach(&fstype, &options),
            None => Reach::Unchecked,
        },
        Err(_) => Reach::Unchecked,
    }
}

/// Whether `dir`'s filesystem is one whose client may answer from what it
/// saw earlier ([`crate::shim::lock_reach::caches_views`], by its mount).
pub(super) fn caches_views(dir: &impl std::os::fd::AsFd) -> bool {
    facts(dir).caches_views
}

/// What the mount of `dir`'s filesystem says of it (by its type).
#[derive(Clone, Copy, Debug, Default)]
struct Facts {
    /// [`crate::shim::lock_reach::caches_views`].
    caches_views: bool,
    /// [`crate::shim::lock_reach::whole_second_times`].
    whole_seconds: bool,
}

fn facts(dir: &impl std::os::fd::AsFd) -> Facts {
    use crate::shim::lock_reach::{caches_views, mount_of, whole_second_times};
    let Ok(st) = rustix::fs::fstat(dir) else {
        return Facts::default();
    };
    // Asked per replacement and per directory of records: the answer is
    // kept per device for the process's life (a device keeps its
    // filesystem while it is mounted, and a merge's trees stay mounted).
    static SEEN: std::sync::Mutex<Vec<(u64, Facts)>> = std::sync::Mutex::new(Vec::new());
    let dev = st.st_dev;
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(&(_, facts)) = seen.iter().find(|(d, _)| *d == dev) {
        return facts;
    }
    let (major, minor) = (rustix::fs::major(dev), rustix::fs::minor(dev));
    let facts = std::fs::read_to_string("/proc/self/mountinfo")
        .ok()
        .and_then(|info| mount_of(&info, major, minor))
        .map_or(Facts::default(), |(fstype, _)| Facts {
            caches_views: caches_views(&fstype),
            whole_seconds: whole_second_times(&fstype),
        });
    seen.push((dev, facts));
    facts
}

/// `--sync`: one `syncfs` makes everything written to TARGET's filesystem
/// durable, instead of an fsync per file on the hot path.
pub(crate) fn sync_filesystem(dir: &Dir) -> io::Result<()> {
    Ok(rustix::fs::syncfs(dir)?)
}

/// An anonymous file in `dir` (`O_TMPFILE`), or `None` where the filesystem
/// cannot make one.
pub(super) fn anonymous_temp(dir: &Dir) -> io::Result<Option<OwnedFd>> {
    match rustix::fs::openat(
        dir,
        ".",
        OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(e)
            if e == Errno::OPNOTSUPP
                || e == Errno::ISDIR
                || e == Errno::INVAL
                || e == Errno::NOSYS =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Gives the anonymous file `fd` the name `dir/name`, failing with
/// `AlreadyExists` if it is taken. `AT_EMPTY_PATH` needs CAP_DAC_READ_SEARCH;
/// without it, the same link goes through `/proc/self/fd`.
pub(super) fn link_anonymous(
    fd: BorrowedFd<'_>,
    dir: &Dir,
    name: &std::ffi::OsStr,
) -> io::Result<()> {
    match rustix::fs::linkat(fd, "", dir, name, AtFlags::EMPTY_PATH) {
        Ok(()) => Ok(()),
        Err(Errno::NOENT) | Err(Errno::PERM) => {
            let proc = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
            Ok(rustix::fs::linkat(
                rustix::fs::CWD,
                proc.as_str(),
                dir,
                name,
                AtFlags::SYMLINK_FOLLOW,
            )?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Copies `size` bytes (the size `lstat` gave) from `src` to `dst` with
/// `copy_file_range`, which shares the blocks where the filesystem can
/// (reflink) and otherwise copies in the kernel. Where the kernel refuses
/// (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP: across some filesystems, older
/// kernels), the rest is copied by reading.
pub(super) fn copy_data(src: &OwnedFd, dst: &OwnedFd, size: u64) -> io::Result<()> {
    let mut left = size;
    while left > 0 {
        let chunk = usize::try_from(left).unwrap_or(usize::MAX).min(1 << 30);
        match rustix::fs::copy_file_range(src, None, dst, None, chunk) {
            // The file is shorter than it was: it is copied as it is now.
            Ok(0) => return Ok(()),
            Ok(n) => left -= n as u64,
            Err(Errno::INTR) => {}
            Err(e)
                if e == Errno::XDEV
                    || e == Errno::INVAL
                    || e == Errno::NOSYS
                    || e == Errno::OPNOTSUPP =>
            {
                return super::copy::copy_by_reading(src, dst);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Lists `dir` with getdents64 on the handle itself: no second descriptor
/// (`Dir::read_from` reopens the directory for each list). The handle is
/// read from where it is, which for a handle never listed is its start
/// ([`stagemerge_core::Fs::read_dir`]'s contract).
pub(super) fn list(dir: &Dir, each: &mut dyn FnMut(&[u8], rustix::fs::FileType)) -> io::Result<()> {
    use std::mem::MaybeUninit;
    let mut buf = vec![MaybeUninit::<u8>::uninit(); 32 * 1024];
    let mut raw = rustix::fs::RawDir::new(dir, &mut buf);
    while let Some(e) = raw.next() {
        let e = e?;
        each(e.file_name().to_bytes(), e.file_type());
    }
    Ok(())
}

/// Creates a fifo, socket or device node (copy mode).
pub(super) fn make_node(
    dir: &Dir,
    name: &std::ffi::OsStr,
    ty: rustix::fs::FileType,
    mode: Mode,
    rdev: u64,
) -> io::Result<()> {
    Ok(rustix::fs::mknodat(dir, name, ty, mode, rdev as _)?)
}
