//! `--lock FILE [--shared]`: an flock(2) lock held for the whole merge. It
//! is the same kind of lock as Python's `fcntl.flock`, which Sage's
//! sage-flock takes, so the two exclude each other. Correctness never
//! depends on it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use rustix::fs::FlockOperation;
use rustix::io::Errno;

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
    let (try_op, wait_op, what) = if shared {
        (
            FlockOperation::NonBlockingLockShared,
            FlockOperation::LockShared,
            "shared",
        )
    } else {
        (
            FlockOperation::NonBlockingLockExclusive,
            FlockOperation::LockExclusive,
            "exclusive",
        )
    };
    match rustix::fs::flock(&file, try_op) {
        Ok(()) => {}
        Err(Errno::WOULDBLOCK) => {
            let _ = writeln!(
                std::io::stderr(),
                "stagemerge: waiting for {what} lock on {}",
                path.display()
            );
            rustix::fs::flock(&file, wait_op)
                .with_context(|| format!("flock {}", path.display()))?;
        }
        Err(e) => return Err(e).with_context(|| format!("flock {}", path.display())),
    }
    Ok(Lock { _file: file })
}
