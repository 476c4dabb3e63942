//! The lifecycle lock: merges and uninstalls of one TARGET exclude each
//! other, merges never each other.
//!
//! Every command that changes TARGET or reads it to decide holds a lock on
//! TARGET's directory itself for its whole run: `merge` (and `--sandbox`,
//! whose helper the front end starts while holding it) a shared one, so any
//! number of merges still run at once and the merge's own concurrency rule
//! decides between them; `uninstall` an exclusive one, so that it reads the
//! records, removes, restores and prunes while no merge is between its
//! journal and its record. `verify` and `owner` take a shared one, so they
//! never see an uninstall half done. The lock is flock(2) on a fresh open of
//! the directory: no file is created in TARGET (an emptied TARGET stays
//! empty), a killed holder releases it with its last descriptor, and it
//! does not interfere with `--lock FILE` (a file of the caller's).
//!
//! What it closes (docs/architecture.md, "A package's life"): an uninstall
//! removing a file a running merge just found identical or placed, pruning
//! a directory a merge is placing into, a restore hiding a version a merge
//! placed after the uninstall read the records, and two uninstalls each
//! reading the other's record as still installed.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use cap_std::fs::Dir;

use crate::shim::lock_reach::Reach;
use crate::shim::{TargetLock, lock_dir, lock_reach};

/// Who takes the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A merge: shared with other merges.
    Merge,
    /// `verify`, `owner`: shared, only to see no uninstall half done.
    Reader,
    /// An uninstall: alone.
    Uninstall,
}

/// A held lifecycle lock; released when dropped or when the process ends.
#[derive(Debug)]
pub(crate) struct Held {
    _lock: TargetLock,
}

/// Takes the lifecycle lock on `target` (named `path` in messages) for
/// `role`, waiting for a conflicting holder and saying so on stderr.
pub(crate) fn acquire(target: &Dir, path: &Path, role: Role) -> Result<Held> {
    let shared = role != Role::Uninstall;
    let lock = match lock_dir(target, shared, false)
        .with_context(|| format!("lock TARGET {}", path.display()))?
    {
        Some(l) => l,
        None => {
            let waiting_for = if shared {
                "an uninstall"
            } else {
                "running merges"
            };
            let _ = writeln!(
                std::io::stderr(),
                "stagemerge: waiting for {waiting_for} in {} to finish",
                path.display()
            );
            lock_dir(target, shared, true)
                .with_context(|| format!("lock TARGET {}", path.display()))?
                .expect("a blocking lock is taken or fails")
        }
    };
    // The lock keeps merges out of an uninstall on this machine; where
    // TARGET's filesystem keeps locks here (sshfs), merges through other
    // machines are not kept out, and the user is told so.
    if role == Role::Uninstall
        && let Reach::ThisMachine(why) = lock_reach(target)
    {
        let _ = writeln!(
            std::io::stderr(),
            "stagemerge: warning: TARGET {} keeps locks on this machine ({why}): \
             merges through other machines are not kept apart from this uninstall",
            path.display()
        );
    }
    Ok(Held { _lock: lock })
}
