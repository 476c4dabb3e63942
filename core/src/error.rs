//! Typed errors with the operation, the side and the path they concern.

use std::io;
use std::path::{Path, PathBuf};

/// Which of the two trees a path is relative to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The staged tree being merged.
    Stage,
    /// The live prefix being merged into.
    Target,
}

/// The filesystem operation that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Opening a directory.
    OpenDir,
    /// Listing a directory.
    ReadDir,
    /// `lstat` of an entry.
    Stat,
    /// Renaming a staged entry into TARGET (no-replace or replacing).
    Rename,
    /// Hard-linking a staged entry into TARGET (fallback placement).
    Link,
    /// Creating a directory in TARGET (fallback placement, copy mode).
    CreateDir,
    /// Copying a staged entry into TARGET.
    Copy,
    /// Setting a copied directory's times.
    SetTimes,
    /// Removing a staged entry after it was found identical or placed.
    Remove,
    /// Removing an emptied staged directory.
    RemoveDir,
    /// Reading a symlink's text.
    ReadLink,
    /// Reading a file to compare contents.
    Read,
    /// Changing a directory's permissions.
    Chmod,
    /// Checking that TARGET's filesystem can place without replacing.
    CheckPlacement,
}

impl Side {
    /// The tree's name in messages and JSON: `STAGE` or `TARGET`.
    pub fn word(self) -> &'static str {
        match self {
            Side::Stage => "STAGE",
            Side::Target => "TARGET",
        }
    }
}

impl Op {
    /// The verb used in messages ("rename", "open directory", ...).
    pub fn verb(self) -> &'static str {
        match self {
            Op::OpenDir => "open directory",
            Op::ReadDir => "read directory",
            Op::Stat => "stat",
            Op::Rename => "rename",
            Op::Link => "link",
            Op::CreateDir => "create directory",
            Op::Copy => "copy",
            Op::SetTimes => "set times of",
            Op::Remove => "remove",
            Op::RemoveDir => "remove directory",
            Op::ReadLink => "read link",
            Op::Read => "read",
            Op::Chmod => "chmod",
            Op::CheckPlacement => "place files in",
        }
    }

    /// Whether the operation goes from a STAGE path to a TARGET path, so a
    /// message names both.
    fn has_two_paths(self) -> bool {
        matches!(self, Op::Rename | Op::Link | Op::Copy)
    }
}

/// A failed filesystem operation on `path` (relative to the root of `side`).
///
/// Renders, given the roots as the user named them, as
/// `rename /stage/p -> /target/p: Permission denied (os error 13)`.
#[derive(Debug, thiserror::Error)]
#[error("{} {}: {source}", op.verb(), path.display())]
pub struct Error {
    /// What was being done.
    pub op: Op,
    /// The tree `path` is in (for two-path operations: the source side).
    pub side: Side,
    /// The entry, relative to its root.
    pub path: PathBuf,
    /// What the system said.
    #[source]
    pub source: io::Error,
}

impl Error {
    /// Builds an error for `op` on `side`/`path`.
    pub fn new(op: Op, side: Side, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error {
            op,
            side,
            path: path.into(),
            source,
        }
    }

    /// The full message with the roots joined in front of the relative path,
    /// plus a hint where the system's words alone do not say what to do.
    pub fn render(&self, stage_root: &Path, target_root: &Path) -> String {
        let root = match self.side {
            Side::Stage => stage_root,
            Side::Target => target_root,
        };
        let mut s = if self.op.has_two_paths() {
            format!(
                "{} {} -> {}: {}",
                self.op.verb(),
                crate::rel::under(stage_root, &self.path).display(),
                crate::rel::under(target_root, &self.path).display(),
                self.source
            )
        } else {
            format!(
                "{} {}: {}",
                self.op.verb(),
                crate::rel::under(root, &self.path).display(),
                self.source
            )
        };
        match (self.source.kind(), self.side) {
            (io::ErrorKind::CrossesDevices, _) => {
                s.push_str(" (STAGE and TARGET are on different filesystems)");
            }
            (io::ErrorKind::PermissionDenied, Side::Target) => s.push_str(
                " (run as the owner of TARGET, or set SAGE_SUDO, e.g. SAGE_SUDO='sudo -E', \
                 to have stagemerge escalate)",
            ),
            (io::ErrorKind::StorageFull, _) => {
                s.push_str(" (TARGET's filesystem is full; what was not merged is still in STAGE)");
            }
            _ => {}
        }
        s
    }
}
