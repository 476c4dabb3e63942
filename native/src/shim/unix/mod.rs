//! The primitives every Unix shares, as rustix `*at` calls on the file
//! descriptors of cap-std directory handles. Every call names one component
//! relative to a handle and never follows a symlink in it. The per-OS files
//! supply what differs: the no-replace rename, the filesystem clock, the
//! fast paths of copying, and syncing.

#[cfg(target_os = "linux")]
#[path = "linux.rs"]
mod os;

#[cfg(target_os = "macos")]
#[path = "macos.rs"]
mod os;

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
#[path = "other_unix.rs"]
mod os;

mod copy;
mod limits;
#[cfg(not(target_os = "linux"))]
mod portable;

pub(crate) use limits::raise_open_files;
pub(crate) use os::{lock_reach, sync_filesystem};

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStringExt;

use cap_std::fs::Dir;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use stagemerge_core::{Entry, Fs, Kind, Meta, Stamp};

use crate::shim::temps::temp_name;

/// The native platform: cap-std handles, rustix calls.
#[derive(Clone, Debug)]
pub struct NativeFs {
    euid: u32,
    /// `--sync` in copy mode: each copy's data is made durable before the
    /// copy gets its name, so a power cut never leaves a named empty file.
    sync_copies: bool,
    /// Placements in flight where each is a client's round trip.
    lanes: usize,
}

/// Placements in flight on a client's filesystem unless `--in-flight`
/// says otherwise: GlusterFS here placed 1.8x as many files a second with
/// 16 as with one, and fewer again with 32 (bench/netfs.py).
const LANES: usize = 16;

impl NativeFs {
    pub(crate) fn new() -> Self {
        NativeFs {
            euid: rustix::process::geteuid().as_raw(),
            sync_copies: false,
            lanes: LANES,
        }
    }

    /// The same, keeping `n` placements in flight on a client's filesystem.
    pub(crate) fn with_in_flight(self, n: usize) -> Self {
        NativeFs {
            lanes: n.max(1),
            ..self
        }
    }

    /// The same, fsyncing each copy before linking it into place.
    pub(crate) fn syncing_copies(self) -> Self {
        NativeFs {
            sync_copies: true,
            ..self
        }
    }
}

fn kind_of(t: FileType) -> Kind {
    match t {
        FileType::RegularFile => Kind::File,
        FileType::Directory => Kind::Dir,
        FileType::Symlink => Kind::Symlink,
        FileType::Fifo => Kind::Fifo,
        FileType::Socket => Kind::Socket,
        FileType::CharacterDevice => Kind::CharDevice,
        FileType::BlockDevice => Kind::BlockDevice,
        _ => Kind::Unknown,
    }
}

// The field types of `struct stat` differ between platforms (and between
// rustix's backends); every cast below widens or keeps the value.
#[allow(clippy::unnecessary_cast, clippy::cast_sign_loss)]
pub(super) fn ctime(st: &Stat) -> Stamp {
    Stamp {
        secs: st.st_ctime as i64,
        nanos: st.st_ctime_nsec as u32,
    }
}

#[allow(clippy::unnecessary_cast, clippy::cast_sign_loss)]
fn meta_of(st: &Stat) -> Meta {
    Meta {
        kind: kind_of(FileType::from_raw_mode(st.st_mode as _)),
        mode: Some(st.st_mode as u32 & 0o7777),
        uid: Some(st.st_uid as u32),
        size: st.st_size as u64,
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
        rdev: st.st_rdev as u64,
        nlink: st.st_nlink as u64,
        ctime: Some(ctime(st)),
        mtime: Some(Stamp {
            secs: st.st_mtime as i64,
            nanos: st.st_mtime_nsec as u32,
        }),
        atime: Some(Stamp {
            secs: st.st_atime as i64,
            nanos: st.st_atime_nsec as u32,
        }),
    }
}

fn open_dir_fd(parent: &Dir, name: &OsStr) -> io::Result<Dir> {
    let fd = rustix::fs::openat(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(Dir::from_std_file(File::from(fd)))
}

impl Fs for NativeFs {
    type Dir = Dir;
    type File = File;

    fn open_dir(&self, parent: &Dir, name: &OsStr) -> io::Result<Dir> {
        open_dir_fd(parent, name)
    }

    fn read_dir(&self, dir: &Dir) -> io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        os::list(dir, &mut |name, ty| {
            if name != b"." && name != b".." {
                out.push(Entry {
                    name: OsString::from_vec(name.to_vec()),
                    kind: kind_of(ty),
                });
            }
        })?;
        Ok(out)
    }

    fn stat_at(&self, dir: &Dir, name: &OsStr) -> io::Result<Meta> {
        Ok(meta_of(&rustix::fs::statat(
            dir,
            name,
            AtFlags::SYMLINK_NOFOLLOW,
        )?))
    }

    fn stat_dir(&self, dir: &Dir) -> io::Result<Meta> {
        Ok(meta_of(&rustix::fs::fstat(dir)?))
    }

    fn rename_noreplace(
        &self,
        from: &Dir,
        from_name: &OsStr,
        to: &Dir,
        to_name: &OsStr,
    ) -> io::Result<()> {
        os::rename_noreplace(from, from_name, to, to_name)
    }

    fn caches_views(&self, dir: &Dir) -> bool {
        os::caches_views(dir)
    }

    /// A client's round trip per placement (FUSE, NFS, SMB: the
    /// filesystems that cache views) is worth overlapping.
    fn in_flight(&self, dir: &Dir) -> usize {
        if os::caches_views(dir) { self.lanes } else { 1 }
    }

    fn check_placement(&self, dir: &Dir) -> io::Result<()> {
        use rustix::io::Errno;
        // A local filesystem has the no-replace rename or hard links (the
        // ones that refuse the flag, older ZFS, link); a filesystem served
        // by a client (FUSE, NFS, SMB) may have neither. Probing only there
        // also keeps a merge killed at any instant on a local TARGET from
        // leaving a probe behind.
        if !os::caches_views(dir) {
            return Ok(());
        }
        // Probes of merges killed before they removed them.
        let _ = copy::clean_temps(dir);
        // Copy mode's temporaries' names: a probe left by a killed merge
        // is removed by a later one as theirs are.
        let (probe, moved) = (temp_name(), temp_name());
        // Made by `mknod`, never opened: a FUSE filesystem that writes a
        // file out when its last handle is released (which the kernel sends
        // after `close` returns) brings back a file removed right after its
        // close (rclone: 200 of 200 such files came back; the probe was
        // left in TARGET). Opened only where `mknod` is refused.
        match os::make_node(
            dir,
            &probe,
            FileType::RegularFile,
            Mode::from_raw_mode(0o600),
            0,
        ) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied
                ) =>
            {
                let created = rustix::fs::openat(
                    dir,
                    &probe,
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                );
                match created {
                    Ok(fd) => drop(fd),
                    Err(Errno::ACCESS | Errno::PERM | Errno::ROFS) => return Ok(()),
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::ReadOnlyFilesystem => return Ok(()),
            Err(e) => return Err(e),
        }
        let checked = match os::rename_noreplace(dir, &probe, dir, &moved) {
            Ok(()) => Ok(moved.clone()),
            Err(flag) if flag.kind() == io::ErrorKind::Unsupported => {
                match rustix::fs::linkat(dir, &probe, dir, &moved, AtFlags::empty()) {
                    Ok(()) => Ok(moved.clone()),
                    Err(link) => Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        format!(
                            "the filesystem can neither rename without replacing ({flag}) nor \
                             make a hard link ({}): every placement would be a replacing \
                             rename, which can hide what another merge placed",
                            io::Error::from(link)
                        ),
                    )),
                }
            }
            Err(e) => Err(e),
        };
        for name in [&probe, &moved] {
            match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => log::warn!("probe {name:?} left in TARGET: {e}"),
            }
        }
        checked.map(drop)
    }

    fn rename_replace(
        &self,
        from: &Dir,
        from_name: &OsStr,
        to: &Dir,
        to_name: &OsStr,
    ) -> io::Result<()> {
        Ok(rustix::fs::renameat(from, from_name, to, to_name)?)
    }

    fn link(&self, from: &Dir, from_name: &OsStr, to: &Dir, to_name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::linkat(
            from,
            from_name,
            to,
            to_name,
            AtFlags::empty(),
        )?)
    }

    fn create_dir(&self, dir: &Dir, name: &OsStr, mode: Option<u32>) -> io::Result<()> {
        // No mode asked (the store's own directories): mkdir's default,
        // less the umask, in one call.
        let Some(mode) = mode else {
            return Ok(rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o777))?);
        };
        rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(mode as _))?;
        // mkdir's mode passes through the umask; a rename would have kept the
        // staged mode, so the fallback sets it exactly.
        let created = open_dir_fd(dir, name)?;
        Ok(rustix::fs::fchmod(
            &created,
            Mode::from_raw_mode(mode as _),
        )?)
    }

    fn symlink(&self, text: &OsStr, dir: &Dir, name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::symlinkat(text, dir, name)?)
    }

    fn copy_in(
        &self,
        from: &Dir,
        from_name: &OsStr,
        meta: &Meta,
        to: &Dir,
        to_name: &OsStr,
        replace: bool,
    ) -> io::Result<()> {
        copy::copy_in(
            from,
            from_name,
            meta,
            to,
            to_name,
            replace,
            self.sync_copies,
        )
    }

    fn clean_temps(&self, dir: &Dir) -> io::Result<u64> {
        copy::clean_temps(dir)
    }

    fn set_dir_times(&self, dir: &Dir, atime: Stamp, mtime: Stamp) -> io::Result<()> {
        copy::set_dir_times(dir, atime, mtime)
    }

    fn remove_file(&self, dir: &Dir, name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?)
    }

    fn remove_dir(&self, dir: &Dir, name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?)
    }

    fn read_link(&self, dir: &Dir, name: &OsStr) -> io::Result<OsString> {
        let text = rustix::fs::readlinkat(dir, name, Vec::new())?;
        Ok(OsString::from_vec(text.into_bytes()))
    }

    fn open_file(&self, dir: &Dir, name: &OsStr) -> io::Result<File> {
        // NONBLOCK: if the entry was swapped for a fifo, do not hang on it.
        let fd = rustix::fs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
            Mode::empty(),
        )?;
        Ok(File::from(fd))
    }

    fn stat_file(&self, file: &File) -> io::Result<Meta> {
        Ok(meta_of(&rustix::fs::fstat(file)?))
    }

    fn write_synced(&self, dir: &Dir, name: &OsStr, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        let fd = rustix::fs::openat(
            dir,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )?;
        let mut f = File::from(fd);
        f.write_all(bytes)?;
        f.sync_all()
    }

    fn sync_dir(&self, dir: &Dir) -> io::Result<()> {
        Ok(rustix::fs::fsync(dir)?)
    }

    fn reopen_dir(&self, dir: &Dir) -> io::Result<Dir> {
        Ok(Dir::from_std_file(File::from(reopen(dir)?)))
    }

    fn set_dir_mode(&self, dir: &Dir, mode: u32) -> io::Result<()> {
        Ok(rustix::fs::fchmod(dir, Mode::from_raw_mode(mode as _))?)
    }

    fn euid(&self) -> Option<u32> {
        Some(self.euid)
    }

    fn clock(&self, dir: &Dir) -> Stamp {
        os::clock(dir).unwrap_or_else(Stamp::now)
    }

    fn spare_handles(&self) -> usize {
        // Half of what is left under the soft limit on open files, the rest
        // for the walk's own handles, the digests' files and the records.
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        let limit = limit.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        (limit / 2).saturating_sub(64).min(1 << 16)
    }

    fn lock_dir(&self, dir: &Dir) -> io::Result<()> {
        use rustix::io::Errno;
        match rustix::fs::flock(dir, rustix::fs::FlockOperation::LockExclusive) {
            Ok(()) => Ok(()),
            // A filesystem without locks: the caller's fallback.
            Err(Errno::NOLCK | Errno::OPNOTSUPP) => {
                Err(io::Error::from(io::ErrorKind::Unsupported))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Opens a root for reading. cap-std's ambient open gives an `O_PATH`
/// descriptor on Linux, which can be neither listed nor `fchmod`ed.
pub(crate) fn open_root(p: &std::path::Path, role: &str) -> anyhow::Result<Dir> {
    use anyhow::Context;
    let fd = rustix::fs::open(
        p,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("open {role} {}", p.display()))?;
    Ok(Dir::from_std_file(File::from(fd)))
}

/// A lock on a directory (flock(2) on a descriptor of its own); released
/// when dropped.
#[derive(Debug)]
pub(crate) struct TargetLock {
    /// `None`: the filesystem has no locks (said on stderr when taken).
    _file: Option<File>,
}

/// Locks the directory `dir` (shared or exclusive) through a fresh open of
/// it, so the lock is this call's alone. Without `wait`, `Ok(None)` where a
/// conflicting lock is held. A filesystem that has no locks (`ENOLCK`,
/// `EOPNOTSUPP`: some network filesystems) gets a warning and no lock.
pub(crate) fn lock_dir(dir: &Dir, shared: bool, wait: bool) -> io::Result<Option<TargetLock>> {
    use rustix::fs::FlockOperation as Op;
    use rustix::io::Errno;
    let fd = reopen(dir)?;
    let op = match (shared, wait) {
        (true, true) => Op::LockShared,
        (true, false) => Op::NonBlockingLockShared,
        (false, true) => Op::LockExclusive,
        (false, false) => Op::NonBlockingLockExclusive,
    };
    match rustix::fs::flock(&fd, op) {
        Ok(()) => Ok(Some(TargetLock {
            _file: Some(File::from(fd)),
        })),
        Err(Errno::WOULDBLOCK) if !wait => Ok(None),
        Err(e @ (Errno::NOLCK | Errno::OPNOTSUPP)) => {
            log::warn!("TARGET cannot be locked ({e}): merges and uninstalls are not kept apart");
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "stagemerge: warning: TARGET's filesystem has no locks ({e}): \
                     an uninstall running beside merges is not kept apart from them\n"
                )
                .as_bytes(),
            );
            Ok(Some(TargetLock { _file: None }))
        }
        Err(e) => Err(e.into()),
    }
}

/// A name from the bytes a record holds (any bytes are a name here).
pub(crate) fn name_from_bytes(bytes: Vec<u8>) -> Option<OsString> {
    Some(OsString::from_vec(bytes))
}

/// What `uname -a` says, less the operating system's own name at the end
/// (Sage's records carry it).
pub(crate) fn system_description() -> String {
    let u = rustix::system::uname();
    let parts = [
        u.sysname(),
        u.nodename(),
        u.release(),
        u.version(),
        u.machine(),
    ];
    parts
        .iter()
        .map(|p| p.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `path` is not writable by this user for lack of permission (a
/// read-only filesystem is not that).
pub(crate) fn denied_writing(path: &std::path::Path) -> bool {
    use rustix::io::Errno;
    matches!(
        rustix::fs::access(path, rustix::fs::Access::WRITE_OK),
        Err(Errno::ACCESS | Errno::PERM)
    )
}

/// A descriptor of its own for the directory `dir` (its own listing
/// position, its own lock).
fn reopen(dir: &Dir) -> io::Result<std::os::fd::OwnedFd> {
    Ok(rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}
