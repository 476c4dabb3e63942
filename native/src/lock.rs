//! `--lock FILE [--shared]`: a lock held for the whole merge, through std's
//! `File::lock`, which is flock(2) on Unix: the same kind of lock as
//! Python's `fcntl.flock`, which Sage's sage-flock takes, so the two exclude
//! each other. Correctness never depends on it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub(crate) struct Lock {
    _file: File,
}

/// Takes the lock on `path` (creating the file), waiting if another process
/// holds a conflicting one, and saying so on stderr while it waits.
pub(crate) fn acquire(path: &Path, shared: bool) -> Result<Lock> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("open lock file {}", path.display()))?;
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
