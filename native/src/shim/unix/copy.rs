//! Copying a staged entry into its final directory so that it appears whole:
//! written to a temporary in that directory, given its mode and times, then
//! linked (no-replace) or renamed (replace) to its name.
//!
//! The temporary is anonymous (`O_TMPFILE`, see `linux.rs`) where the
//! filesystem allows, so a crash leaves nothing behind. Elsewhere it is
//! named `.stagemerge-<pid>-<n>.tmp`; [`clean_temps`] removes those whose
//! process is gone.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use cap_std::fs::Dir;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags, Timespec, Timestamps};
use rustix::io::Errno;
use stagemerge_core::{Kind, Meta, Stamp};

use super::os;
use crate::shim::temps::{temp_name, temp_pid};

/// Forces named temporaries (no `O_TMPFILE`) so tests cover them and the
/// cleanup of what a killed copy leaves. Not a user option.
const NO_TMPFILE_ENV: &str = "STAGEMERGE_NO_TMPFILE";

fn timespec(s: Stamp) -> Timespec {
    Timespec {
        tv_sec: s.secs,
        tv_nsec: i64::from(s.nanos) as _,
    }
}

fn times(meta: &Meta) -> Option<Timestamps> {
    Some(Timestamps {
        last_access: timespec(meta.atime?),
        last_modification: timespec(meta.mtime?),
    })
}

/// A written temporary in the destination directory, not yet visible.
enum Temp {
    Anonymous(OwnedFd),
    Named(OsString),
}

pub(super) fn copy_in(
    from: &Dir,
    from_name: &OsStr,
    meta: &Meta,
    to: &Dir,
    to_name: &OsStr,
    replace: bool,
    sync: bool,
) -> io::Result<()> {
    let temp = match meta.kind {
        Kind::File => write_file(from, from_name, meta, to, sync)?,
        Kind::Symlink => {
            let text = rustix::fs::readlinkat(from, from_name, Vec::new())?;
            if !replace {
                // A symlink is created whole: no temporary needed.
                return Ok(rustix::fs::symlinkat(text.as_c_str(), to, to_name)?);
            }
            let name = temp_name();
            rustix::fs::symlinkat(text.as_c_str(), to, &name)?;
            Temp::Named(name)
        }
        Kind::Fifo | Kind::Socket | Kind::CharDevice | Kind::BlockDevice => {
            let ty = match meta.kind {
                Kind::Fifo => FileType::Fifo,
                Kind::Socket => FileType::Socket,
                Kind::CharDevice => FileType::CharacterDevice,
                _ => FileType::BlockDevice,
            };
            let mode = Mode::from_raw_mode(meta.mode.unwrap_or(0o644) as _);
            let name = if replace {
                temp_name()
            } else {
                to_name.to_owned()
            };
            os::make_node(to, &name, ty, mode, meta.rdev)?;
            if !replace {
                return Ok(());
            }
            Temp::Named(name)
        }
        Kind::Dir | Kind::Unknown => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a non-directory",
            ));
        }
    };
    let placed = place(&temp, to, to_name, replace);
    if let (Err(_), Temp::Named(name)) = (&placed, &temp) {
        let _ = rustix::fs::unlinkat(to, name, AtFlags::empty());
    }
    placed
}

/// Writes the bytes, mode and times of `from/from_name` to a temporary in
/// `to`; with `sync`, durably.
fn write_file(
    from: &Dir,
    from_name: &OsStr,
    meta: &Meta,
    to: &Dir,
    sync: bool,
) -> io::Result<Temp> {
    let src = rustix::fs::openat(
        from,
        from_name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    let anonymous = if std::env::var_os(NO_TMPFILE_ENV).is_some() {
        None
    } else {
        os::anonymous_temp(to)?
    };
    let (dst, name) = match anonymous {
        Some(fd) => (fd, None),
        None => {
            let name = temp_name();
            let fd = rustix::fs::openat(
                to,
                &name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )?;
            (fd, Some(name))
        }
    };
    let filled = (|| -> io::Result<()> {
        os::copy_data(&src, &dst, meta.size)?;
        rustix::fs::fchmod(&dst, Mode::from_raw_mode(meta.mode.unwrap_or(0o644) as _))?;
        if let Some(t) = times(meta) {
            rustix::fs::futimens(&dst, &t)?;
        }
        if sync {
            rustix::fs::fsync(&dst)?;
        }
        Ok(())
    })();
    match (filled, name) {
        (Ok(()), None) => Ok(Temp::Anonymous(dst)),
        (Ok(()), Some(name)) => Ok(Temp::Named(name)),
        (Err(e), name) => {
            if let Some(name) = name {
                let _ = rustix::fs::unlinkat(to, &name, AtFlags::empty());
            }
            Err(e)
        }
    }
}

/// Copies what is left of `src` to `dst` by read and write: the portable
/// way, and where the kernel cannot copy between the two files itself.
pub(super) fn copy_by_reading(src: &OwnedFd, dst: &OwnedFd) -> io::Result<()> {
    let mut buf = vec![0u8; 128 * 1024];
    loop {
        let n = match rustix::io::read(src, &mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut done = 0;
        while done < n {
            match rustix::io::write(dst, &buf[done..n]) {
                Ok(k) => done += k,
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Makes the temporary visible as `to/to_name`.
fn place(temp: &Temp, to: &Dir, to_name: &OsStr, replace: bool) -> io::Result<()> {
    match (temp, replace) {
        (Temp::Anonymous(fd), false) => os::link_anonymous(fd.as_fd(), to, to_name),
        (Temp::Anonymous(fd), true) => {
            // An anonymous file cannot be renamed over a name: give it a
            // hidden name first.
            let name = temp_name();
            os::link_anonymous(fd.as_fd(), to, &name)?;
            let r = rustix::fs::renameat(to, &name, to, to_name);
            if r.is_err() {
                let _ = rustix::fs::unlinkat(to, &name, AtFlags::empty());
            }
            Ok(r?)
        }
        (Temp::Named(name), true) => Ok(rustix::fs::renameat(to, name, to, to_name)?),
        (Temp::Named(name), false) => {
            match rustix::fs::renameat_with(to, name, to, to_name, RenameFlags::NOREPLACE) {
                Ok(()) => Ok(()),
                Err(e) if e == Errno::INVAL || e == Errno::NOSYS || e == Errno::OPNOTSUPP => {
                    rustix::fs::linkat(to, name, to, to_name, AtFlags::empty())?;
                    Ok(rustix::fs::unlinkat(to, name, AtFlags::empty())?)
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Removes `.stagemerge-<pid>-<n>.tmp` entries of `dir` whose process is
/// gone (a running merge's temporaries are left alone).
pub(super) fn clean_temps(dir: &Dir) -> io::Result<u64> {
    let mut removed = 0;
    for e in rustix::fs::Dir::read_from(dir)? {
        let e = e?;
        let name = OsStr::from_bytes(e.file_name().to_bytes());
        let Some(pid) = temp_pid(name) else { continue };
        let alive = match i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            Some(p) => !matches!(rustix::process::test_kill_process(p), Err(Errno::SRCH)),
            None => true,
        };
        if !alive {
            match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
                Ok(()) => removed += 1,
                Err(Errno::NOENT) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(removed)
}

pub(super) fn set_dir_times(dir: &Dir, atime: Stamp, mtime: Stamp) -> io::Result<()> {
    let t = Timestamps {
        last_access: timespec(atime),
        last_modification: timespec(mtime),
    };
    Ok(rustix::fs::futimens(dir, &t)?)
}
