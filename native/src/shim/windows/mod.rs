//! Windows: the primitives on cap-std handles (cap-fs-ext for opening a
//! directory without following a link), and the Win32 no-replace move
//! (`win32.rs`). Windows has no permission bits or owners to report;
//! identity (volume serial, file index) and the change time need an open
//! handle, so `stat_at` opens the entry without following it.
//!
//! Run under Wine by the test command (`tests/wine.sh`): see README, Platforms.

mod win32;

use crate::shim::temps::{temp_name, temp_pid};

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, Metadata, OpenOptions};
use stagemerge_core::{Entry, Fs, Kind, Meta, Stamp};

/// The native platform on Windows.
#[derive(Clone, Debug)]
pub struct NativeFs;

impl NativeFs {
    pub(crate) fn new() -> Self {
        NativeFs
    }

    /// `--sync` is refused on Windows before anything is copied (see
    /// [`sync_filesystem`]), so there is nothing to change.
    pub(crate) fn syncing_copies(self) -> Self {
        self
    }

    /// `--in-flight`: Windows places one at a time (the core's default), so
    /// there is nothing to change.
    pub(crate) fn with_in_flight(self, _: usize) -> Self {
        self
    }
}

/// Runs a replacing rename again while Windows refuses it as denied, for up
/// to two seconds. Windows will not replace a file that another process
/// holds open (a concurrent merge comparing it, or opening it for its file
/// index), even when every handle shares deletion: the rename fails with
/// `ERROR_ACCESS_DENIED` until that handle closes, a matter of
/// milliseconds. Found by 16 merges at once under Wine; a denial that
/// lasts (the file's ACL) is reported after the wait.
fn while_held(mut rename: impl FnMut() -> io::Result<()>) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut pause = Duration::from_millis(1);
    loop {
        match rename() {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied && Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            done => return done,
        }
    }
}

fn kind_of(ft: cap_std::fs::FileType) -> Kind {
    if ft.is_dir() {
        Kind::Dir
    } else if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_file() {
        Kind::File
    } else {
        Kind::Unknown
    }
}

fn stamp(t: io::Result<cap_std::time::SystemTime>) -> Option<Stamp> {
    Stamp::from_system_time(t.ok()?.into_std())
}

/// An identity that equals no other, for an entry whose file index Windows
/// did not give: two unknowns must never look like one inode.
fn unique_id() -> (u64, u64) {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    (u64::MAX, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// What `m` says, with the change time read from the entry's handle (see
/// [`win32::change_time`]).
fn meta_of(m: &Metadata, ctime: Option<Stamp>) -> Meta {
    use cap_primitives::fs::_WindowsByHandle as _;
    let (dev, ino) = match (m.volume_serial_number(), m.file_index()) {
        (Some(v), Some(i)) => (u64::from(v), i),
        _ => unique_id(),
    };
    Meta {
        kind: kind_of(m.file_type()),
        mode: None,
        uid: None,
        size: m.len(),
        dev,
        ino,
        rdev: 0,
        nlink: m.number_of_links().map_or(1, u64::from),
        ctime,
        mtime: stamp(m.modified()),
        atime: stamp(m.accessed()),
    }
}

impl Fs for NativeFs {
    type Dir = Dir;
    type File = File;

    fn open_dir(&self, parent: &Dir, name: &OsStr) -> io::Result<Dir> {
        parent.open_dir_nofollow(name)
    }

    fn read_dir(&self, dir: &Dir) -> io::Result<Vec<Entry>> {
        dir.entries()?
            .map(|e| {
                let e = e?;
                Ok(Entry {
                    name: e.file_name(),
                    kind: e.file_type().map_or(Kind::Unknown, kind_of),
                })
            })
            .collect()
    }

    fn stat_at(&self, dir: &Dir, name: &OsStr) -> io::Result<Meta> {
        let mut opts = OpenOptions::new();
        opts.read(true).follow(FollowSymlinks::No);
        match dir.open_with(name, &opts) {
            Ok(f) => Ok(meta_of(&f.metadata()?, win32::change_time(&f))),
            // A directory does not open as a file: as a directory, then.
            Err(_) => match dir.open_dir_nofollow(name) {
                Ok(d) => Ok(meta_of(&d.dir_metadata()?, win32::change_time(&d))),
                // A link to a directory opens as neither.
                Err(_) => Ok(meta_of(&dir.symlink_metadata(name)?, None)),
            },
        }
    }

    fn stat_dir(&self, dir: &Dir) -> io::Result<Meta> {
        Ok(meta_of(&dir.dir_metadata()?, win32::change_time(dir)))
    }

    fn rename_noreplace(
        &self,
        from: &Dir,
        from_name: &OsStr,
        to: &Dir,
        to_name: &OsStr,
    ) -> io::Result<()> {
        win32::move_noreplace(from, from_name, to, to_name)
    }

    fn rename_replace(
        &self,
        from: &Dir,
        from_name: &OsStr,
        to: &Dir,
        to_name: &OsStr,
    ) -> io::Result<()> {
        while_held(|| from.rename(from_name, to, to_name))
    }

    fn link(&self, from: &Dir, from_name: &OsStr, to: &Dir, to_name: &OsStr) -> io::Result<()> {
        from.hard_link(from_name, to, to_name)
    }

    fn create_dir(&self, dir: &Dir, name: &OsStr, _mode: Option<u32>) -> io::Result<()> {
        dir.create_dir(name)
    }

    fn symlink(&self, text: &OsStr, dir: &Dir, name: &OsStr) -> io::Result<()> {
        // Windows links are of a file or of a directory; what the text
        // names decides, and a dangling one is made a file link.
        let is_dir = dir
            .metadata(Path::new(name).with_file_name(text))
            .is_ok_and(|m| m.is_dir());
        if is_dir {
            dir.symlink_dir(text, name)
        } else {
            dir.symlink_file(text, name)
        }
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
        let tmp = temp_name();
        match meta.kind {
            Kind::File => {
                let mut src = self.open_file(from, from_name)?;
                let mut dst = to.create(&tmp)?;
                let written = io::copy(&mut src, &mut dst).and_then(|_| {
                    let times = std::fs::FileTimes::new();
                    let at = |s: Stamp| UNIX_EPOCH + Duration::new(s.secs.max(0) as u64, s.nanos);
                    let times = match (meta.atime, meta.mtime) {
                        (Some(a), Some(m)) => times.set_accessed(at(a)).set_modified(at(m)),
                        _ => times,
                    };
                    dst.into_std().set_times(times)
                });
                if let Err(e) = written {
                    let _ = to.remove_file(&tmp);
                    return Err(e);
                }
            }
            Kind::Symlink => {
                let text = from.read_link_contents(from_name)?;
                self.symlink(text.as_os_str(), to, &tmp)?;
            }
            k => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("copying a {} is not possible on Windows", k.describe()),
                ));
            }
        }
        let placed = if replace {
            while_held(|| to.rename(&tmp, to, to_name))
        } else {
            win32::move_noreplace(to, &tmp, to, to_name)
        };
        if placed.is_err() {
            let _ = to.remove_file(&tmp);
        }
        placed
    }

    fn clean_temps(&self, dir: &Dir) -> io::Result<u64> {
        let mut removed = 0;
        for e in dir.entries()? {
            let name = e?.file_name();
            let Some(pid) = temp_pid(&name) else { continue };
            if pid != std::process::id()
                && !win32::process_alive(pid)
                && dir.remove_file(&name).is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn set_dir_times(&self, _dir: &Dir, _atime: Stamp, _mtime: Stamp) -> io::Result<()> {
        // A directory handle from cap-std is not opened for writing
        // attributes; copied directories keep the time of their creation.
        Ok(())
    }

    fn remove_file(&self, dir: &Dir, name: &OsStr) -> io::Result<()> {
        dir.remove_file_or_symlink(name)
    }

    fn remove_dir(&self, dir: &Dir, name: &OsStr) -> io::Result<()> {
        dir.remove_dir(name)
    }

    fn read_link(&self, dir: &Dir, name: &OsStr) -> io::Result<OsString> {
        Ok(dir.read_link_contents(name)?.into_os_string())
    }

    fn open_file(&self, dir: &Dir, name: &OsStr) -> io::Result<File> {
        let mut opts = OpenOptions::new();
        opts.read(true).follow(FollowSymlinks::No);
        Ok(dir.open_with(name, &opts)?.into_std())
    }

    fn stat_file(&self, file: &File) -> io::Result<Meta> {
        Ok(meta_of(&Metadata::from_file(file)?, None))
    }

    fn write_synced(&self, dir: &Dir, name: &OsStr, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        let mut opts = OpenOptions::new();
        opts.write(true)
            .create(true)
            .truncate(true)
            .follow(FollowSymlinks::No);
        let mut f = dir.open_with(name, &opts)?.into_std();
        f.write_all(bytes)?;
        f.sync_all()
    }

    fn sync_dir(&self, _dir: &Dir) -> io::Result<()> {
        // Windows cannot flush a directory handle opened for reading; a
        // record's data is flushed before its rename, the rename itself
        // is not forced to disk (README, Platforms).
        Ok(())
    }

    fn reopen_dir(&self, dir: &Dir) -> io::Result<Dir> {
        // cap-std lists a directory through a handle of its own each time.
        dir.try_clone()
    }

    fn set_dir_mode(&self, _dir: &Dir, _mode: u32) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "Windows has no permission bits",
        ))
    }

    fn euid(&self) -> Option<u32> {
        None
    }

    fn clock(&self, _dir: &Dir) -> Stamp {
        Stamp::now()
    }

    fn spare_handles(&self) -> usize {
        // None kept: Windows refuses to rename a directory while a handle
        // to it is open (a sharing violation), and the merge moves staged
        // directories whole.
        0
    }
}

/// Opens a root for reading.
pub(crate) fn open_root(p: &Path, role: &str) -> anyhow::Result<Dir> {
    use anyhow::Context;
    Dir::open_ambient_dir(p, cap_std::ambient_authority())
        .with_context(|| format!("open {role} {}", p.display()))
}

/// Nothing to raise: Windows has no per-process descriptor limit to speak of.
pub(crate) fn raise_open_files() {}

/// A lock on a directory: Windows cannot lock a directory handle, so none
/// is taken (README "Platforms": merges and uninstalls are not kept apart
/// there).
#[derive(Debug)]
pub(crate) struct TargetLock;

/// No lock on Windows (see [`TargetLock`]).
pub(crate) fn lock_dir(_dir: &Dir, _shared: bool, _wait: bool) -> io::Result<Option<TargetLock>> {
    log::debug!("no directory lock on Windows: merges and uninstalls are not kept apart");
    Ok(Some(TargetLock))
}

/// `--sync` needs a flush of every placed file on Windows: not written yet.
pub(crate) fn sync_filesystem(_dir: &Dir) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "--sync is only implemented on Linux (syncfs)",
    ))
}

/// A name from a record's bytes: Windows names are UTF-16, so only UTF-8
/// bytes name anything.
pub(crate) fn name_from_bytes(bytes: Vec<u8>) -> Option<OsString> {
    String::from_utf8(bytes).ok().map(OsString::from)
}

/// The system, for Sage's records.
pub(crate) fn system_description() -> String {
    format!("Windows {}", std::env::consts::ARCH)
}

/// SAGE_SUDO escalation is a Unix idea: never on Windows.
pub(crate) fn denied_writing(_path: &Path) -> bool {
    false
}

/// How far a lock on `file` reaches: not looked at on Windows.
pub(crate) fn lock_reach<T>(_file: &T) -> crate::shim::lock_reach::Reach {
    crate::shim::lock_reach::Reach::Unchecked
}
