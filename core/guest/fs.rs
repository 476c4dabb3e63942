//! The core's platform trait under WASI preview 1: reads of metadata,
//! listings and link texts through the host's read-only imports, every
//! other call through WASI on the preopened directories (rustix on
//! wasi-libc). WASI has no rename flags and no permission bits, so
//! placement always takes the portable fallback (link + unlink, mkdir +
//! children) and modes are never changed.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::{AtFlags, Mode, OFlags, Timespec, Timestamps};
use stagemerge_core::{Entry, Fs, Kind, Meta, Stamp};

use crate::host;

/// A directory opened inside a preopen, with where it is below it (so the
/// host's imports can name it).
#[derive(Debug)]
pub(crate) struct Dir {
    fd: OwnedFd,
    root: u32,
    path: Vec<u8>,
}

impl Dir {
    /// Opens the preopen at `guest_path` as host root `root`.
    pub(crate) fn open_root(guest_path: &str, root: u32) -> io::Result<Dir> {
        let fd = rustix::fs::open(
            guest_path,
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )?;
        Ok(Dir {
            fd,
            root,
            path: Vec::new(),
        })
    }

    /// The descriptor, for the write probe.
    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.fd
    }
}

/// A WASI error as the kind the core matches on. std's table for
/// `wasm32-wasip1` leaves some of WASI's codes (`ENOTEMPTY` among them)
/// as `Other`, so an uninstall's prune of a directory still in use would
/// be a failure instead of a directory kept.
fn errno(e: rustix::io::Errno) -> io::Error {
    use rustix::io::Errno;
    let kind = match e {
        Errno::NOTEMPTY => io::ErrorKind::DirectoryNotEmpty,
        Errno::NOTDIR => io::ErrorKind::NotADirectory,
        Errno::ISDIR => io::ErrorKind::IsADirectory,
        Errno::EXIST => io::ErrorKind::AlreadyExists,
        Errno::NOENT => io::ErrorKind::NotFound,
        Errno::XDEV => io::ErrorKind::CrossesDevices,
        _ => return e.into(),
    };
    io::Error::new(kind, io::Error::from(e))
}

/// [`Fs`] for the guest.
#[derive(Clone, Debug)]
pub(crate) struct WasiFs;

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} is not available in the sandbox (WASI preview 1)"),
    )
}

impl Fs for WasiFs {
    type Dir = Dir;
    type File = File;

    fn open_dir(&self, parent: &Dir, name: &OsStr) -> io::Result<Dir> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW;
        let fd = rustix::fs::openat(&parent.fd, name, flags, Mode::empty()).map_err(errno)?;
        let mut path = parent.path.clone();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(name.as_encoded_bytes());
        Ok(Dir {
            fd,
            root: parent.root,
            path,
        })
    }

    fn read_dir(&self, dir: &Dir) -> io::Result<Vec<Entry>> {
        host::list(dir.root, &dir.path)
    }

    fn stat_at(&self, dir: &Dir, name: &OsStr) -> io::Result<Meta> {
        host::lstat(dir.root, &dir.path, name.as_encoded_bytes())
    }

    fn stat_dir(&self, dir: &Dir) -> io::Result<Meta> {
        host::lstat(dir.root, &dir.path, b"")
    }

    fn rename_noreplace(&self, _: &Dir, _: &OsStr, _: &Dir, _: &OsStr) -> io::Result<()> {
        Err(unsupported("a no-replace rename"))
    }

    fn rename_replace(
        &self,
        from: &Dir,
        from_name: &OsStr,
        to: &Dir,
        to_name: &OsStr,
    ) -> io::Result<()> {
        rustix::fs::renameat(&from.fd, from_name, &to.fd, to_name).map_err(errno)
    }

    fn link(&self, from: &Dir, from_name: &OsStr, to: &Dir, to_name: &OsStr) -> io::Result<()> {
        rustix::fs::linkat(&from.fd, from_name, &to.fd, to_name, AtFlags::empty()).map_err(errno)
    }

    fn create_dir(&self, dir: &Dir, name: &OsStr, mode: Option<u32>) -> io::Result<()> {
        rustix::fs::mkdirat(&dir.fd, name, Mode::from_bits_truncate(0o755)).map_err(errno)?;
        // WASI's mkdir takes no mode: the host sets the staged one.
        match mode {
            Some(m) => host::set_mode(dir.root, &dir.path, name.as_encoded_bytes(), m),
            None => Ok(()),
        }
    }

    fn symlink(&self, text: &OsStr, dir: &Dir, name: &OsStr) -> io::Result<()> {
        rustix::fs::symlinkat(text, &dir.fd, name).map_err(errno)
    }

    fn copy_in(&self, _: &Dir, _: &OsStr, _: &Meta, _: &Dir, _: &OsStr, _: bool) -> io::Result<()> {
        Err(unsupported("copying"))
    }

    fn clean_temps(&self, _: &Dir) -> io::Result<u64> {
        // Nothing in the sandbox ever makes a temporary.
        Ok(0)
    }

    fn set_dir_times(&self, dir: &Dir, atime: Stamp, mtime: Stamp) -> io::Result<()> {
        let ts = |s: Stamp| Timespec {
            tv_sec: s.secs,
            tv_nsec: s.nanos as _,
        };
        let times = Timestamps {
            last_access: ts(atime),
            last_modification: ts(mtime),
        };
        Ok(rustix::fs::futimens(&dir.fd, &times)?)
    }

    fn remove_file(&self, dir: &Dir, name: &OsStr) -> io::Result<()> {
        rustix::fs::unlinkat(&dir.fd, name, AtFlags::empty()).map_err(errno)
    }

    fn remove_dir(&self, dir: &Dir, name: &OsStr) -> io::Result<()> {
        rustix::fs::unlinkat(&dir.fd, name, AtFlags::REMOVEDIR).map_err(errno)
    }

    fn read_link(&self, dir: &Dir, name: &OsStr) -> io::Result<OsString> {
        host::readlink(dir.root, &dir.path, name.as_encoded_bytes())
    }

    fn open_file(&self, dir: &Dir, name: &OsStr) -> io::Result<File> {
        let fd = rustix::fs::openat(
            &dir.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW,
            Mode::empty(),
        )?;
        Ok(File::from(fd))
    }

    fn stat_file(&self, file: &File) -> io::Result<Meta> {
        let st = rustix::fs::fstat(file)?;
        let kind = match rustix::fs::FileType::from_raw_mode(st.st_mode) {
            rustix::fs::FileType::RegularFile => Kind::File,
            rustix::fs::FileType::Directory => Kind::Dir,
            rustix::fs::FileType::Symlink => Kind::Symlink,
            rustix::fs::FileType::CharacterDevice => Kind::CharDevice,
            rustix::fs::FileType::BlockDevice => Kind::BlockDevice,
            // WASI names no FIFOs or sockets: what is not one of the
            // above is not read as a record.
            _ => Kind::Unknown,
        };
        // What the readers need: the kind and the size (WASI has no modes
        // or owners to report).
        Ok(Meta {
            kind,
            mode: None,
            uid: None,
            size: st.st_size as u64,
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            rdev: 0,
            nlink: st.st_nlink as u64,
            ctime: None,
            mtime: None,
            atime: None,
        })
    }

    fn write_synced(&self, dir: &Dir, name: &OsStr, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        let fd = rustix::fs::openat(
            &dir.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::NOFOLLOW,
            Mode::from_bits_truncate(0o644),
        )?;
        let mut f = File::from(fd);
        f.write_all(bytes)?;
        f.sync_all()
    }

    fn sync_dir(&self, dir: &Dir) -> io::Result<()> {
        // WASI preview 1 syncs only files: the host syncs its own handle.
        host::sync_dir(dir.root, &dir.path)
    }

    fn reopen_dir(&self, dir: &Dir) -> io::Result<Dir> {
        let fd = rustix::fs::openat(
            &dir.fd,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )?;
        Ok(Dir {
            fd,
            root: dir.root,
            path: dir.path.clone(),
        })
    }

    fn set_dir_mode(&self, _: &Dir, _: u32) -> io::Result<()> {
        Err(unsupported("changing permissions"))
    }

    fn euid(&self) -> Option<u32> {
        None
    }

    fn clock(&self, _: &Dir) -> Stamp {
        // WASI has no filesystem clock; the wall clock is the closest. A
        // peer's write stamped just before it is then announced as
        // "replaced" rather than as a concurrent write.
        Stamp::now()
    }
}
