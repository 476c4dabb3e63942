//! `--lock FILE [--shared]`: a lock held for the whole merge, through std's
//! `File::lock`, which is flock(2) on Unix: the same kind of lock as
//! Python's `fcntl.flock`, which Sage's sage-flock takes, so the two exclude
//! each other. Correctness never depends on it.
//!
//! A lock that does not lock is worse than none: a caller that takes it to
//! keep two builds apart believes they are. So where the lock file's
//! filesystem keeps locks on this machine ([`crate::shim::lock_reach`]: sshfs,
//! NFS mounted `local_lock=flock`, a FUSE filesystem not known to pass them
//! on), the lock is refused with the reason, before anything is done
//! (exit 2), unless `--lock-this-machine` says that is enough.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::shim::lock_reach;
use crate::shim::lock_reach::Reach;

/// `--lock FILE [--shared] [--lock-this-machine]`, as the command line asked.
#[derive(Clone, Debug)]
pub(crate) struct Wanted {
    /// The lock file (created if missing).
    pub(crate) path: std::path::PathBuf,
    /// A shared lock instead of an exclusive one.
    pub(crate) shared: bool,
    /// A lock that excludes only this machine's processes is enough.
    pub(crate) this_machine_ok: bool,
}

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub(crate) struct Lock {
    _file: File,
}

/// Takes the lock `wanted` (creating the file), waiting if another process
/// holds a conflicting one, and saying so on stderr while it waits. Refused
/// where it would exclude only this machine's processes, unless allowed.
pub(crate) fn acquire(wanted: &Wanted) -> Result<Lock> {
    let (path, shared) = (wanted.path.as_path(), wanted.shared);
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("open lock file {}", path.display()))?;
    check_reach(path, lock_reach(&file), wanted.this_machine_ok)?;
    let tried = if shared {
        file.try_lock_shared()
    } else {
        file.try_lock()
    };
    match tried {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let what = if shared { "shared" } else { "exclusive" };
            let _ = writeln!(
                std::io::stderr(),
                "stagemerge: waiting for {what} lock on {}",
                path.display()
            );
            let waited = if shared {
                file.lock_shared()
            } else {
                file.lock()
            };
            waited.with_context(|| format!("lock {}", path.display()))?;
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("lock {}", path.display()));
        }
    }
    Ok(Lock { _file: file })
}

/// Refuses a lock that reaches only this machine, unless `ok`; says on
/// stderr that it takes one anyway when `ok`.
fn check_reach(path: &Path, reach: Reach, ok: bool) -> Result<()> {
    if let Reach::ThisMachine(why) = reach {
        if !ok {
            bail!(
                "--lock {}: a lock there would not exclude other machines ({why}); \
                 nothing done. --lock-this-machine takes it anyway, to exclude this \
                 machine's processes only",
                path.display()
            );
        }
        let _ = writeln!(
            std::io::stderr(),
            "stagemerge: --lock {} excludes this machine's processes only ({why})",
            path.display()
        );
    }
    Ok(())
}
