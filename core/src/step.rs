//! What happens to one staged entry: the decision the walk makes, which a
//! plan prints and a merge carries out, and the word a merge lists for it.

use std::io;
use std::path::PathBuf;

use crate::error::{Op, Side};
use crate::fs::Kind;
use crate::report::ConflictReason;
use crate::walk::How;

/// What is (or would be) done with one staged entry.
///
/// The walk decides a step from what each side holds; a plan records it and
/// a merge carries it out and reports the step it actually took (a merge
/// that finds the filesystem refusing the no-replace flag, or a rename
/// crossing filesystems, decides again and reports the new step).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The staged directory is placed whole by one rename (TARGET has no
    /// such name).
    PlaceDir,
    /// The staged non-directory is placed by a rename, or by link + unlink
    /// where the filesystem refuses the no-replace flag.
    Place {
        /// What it is.
        kind: Kind,
    },
    /// The staged non-directory is copied into place (copy mode, or STAGE
    /// and TARGET on different filesystems); the original stays in STAGE.
    Copy {
        /// What it is.
        kind: Kind,
        /// The copy is because a rename would cross filesystems.
        across: bool,
    },
    /// An empty directory is created in TARGET (the fallback where the
    /// no-replace flag is refused, or copying); the staged children follow.
    CreateDir,
    /// TARGET has the same directory; the staged children follow.
    MergeDir,
    /// TARGET has a symlink to a directory inside TARGET; the staged children
    /// follow into that directory.
    Follow {
        /// The link text.
        link: PathBuf,
    },
    /// TARGET already holds an identical entry; the staged one is dropped
    /// (kept in STAGE when copying).
    Identical,
    /// TARGET holds a different non-directory, replaced by one atomic rename
    /// (or a copy renamed over it).
    Replace,
    /// TARGET holds a different non-directory that is kept
    /// (`--on-conflict keep`, `--on-owned keep`).
    Keep,
    /// TARGET holds a protected file whose content no record lists (the
    /// user edited it): it stays, and the staged file is placed beside it
    /// as `NAME.stagemerge-new` (replacing an older one there).
    Protect,
    /// TARGET holds a different non-directory another merge placed while this
    /// one ran: the first writer wins. Only a merge takes this step.
    KeepConcurrent,
    /// Not mergeable: the entry stays in STAGE.
    Conflict(ConflictReason),
    /// A system call failed for this entry; it stays in STAGE.
    Error {
        /// What was being done.
        op: Op,
        /// Which tree the failing call was on.
        side: Side,
        /// The kind of the OS error (kinds, unlike errno values, are the same
        /// on every platform, so a plan reads the same natively and in the
        /// sandbox).
        kind: io::ErrorKind,
    },
}

/// What happened to one staged entry, for `--verbose` listings: a merge's
/// name for the [`Step`] it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A directory was moved whole by one rename.
    MovedDir,
    /// A non-directory was moved.
    Moved,
    /// A non-directory was copied into place (STAGE keeps the original).
    Copied,
    /// A directory was created in TARGET by the fallback; its children follow.
    CreatedDir,
    /// A directory merged into an existing one; its children follow.
    MergedDir,
    /// Identical in TARGET; the staged copy was removed.
    Identical,
    /// Replaced a different TARGET entry.
    Replaced,
    /// Kept a different TARGET entry (`--on-conflict keep`).
    Kept,
    /// Kept a different TARGET entry another merge placed meanwhile.
    ConcurrentWrite,
    /// Kept an edited protected file; the staged one went beside it.
    Protected,
    /// Not merged: a conflict.
    Conflict,
    /// Not merged: an I/O error.
    Error,
}

impl Action {
    /// The action's word in `--verbose` listings.
    pub fn word(self) -> &'static str {
        match self {
            Action::MovedDir => "moved-dir",
            Action::Moved => "moved",
            Action::Copied => "copied",
            Action::CreatedDir => "mkdir",
            Action::MergedDir => "merge-dir",
            Action::Identical => "identical",
            Action::Replaced => "replaced",
            Action::Kept => "kept",
            Action::ConcurrentWrite => "concurrent",
            Action::Protected => "protected",
            Action::Conflict => "conflict",
            Action::Error => "error",
        }
    }
}

impl Step {
    /// The action a merge lists for this step: a plan's steps mapped by this
    /// are the lines `merge --verbose` then prints.
    pub fn action(&self) -> Action {
        match self {
            Step::PlaceDir => Action::MovedDir,
            Step::Place { .. } => Action::Moved,
            Step::Copy { .. } => Action::Copied,
            Step::CreateDir => Action::CreatedDir,
            Step::MergeDir | Step::Follow { .. } => Action::MergedDir,
            Step::Identical => Action::Identical,
            Step::Replace => Action::Replaced,
            Step::Keep => Action::Kept,
            Step::KeepConcurrent => Action::ConcurrentWrite,
            Step::Protect => Action::Protected,
            Step::Conflict(_) => Action::Conflict,
            Step::Error { .. } => Action::Error,
        }
    }

    /// Whether the step writes into TARGET's directory of the entry.
    pub(crate) fn writes_target(&self) -> bool {
        matches!(
            self,
            Step::PlaceDir
                | Step::Place { .. }
                | Step::Copy { .. }
                | Step::CreateDir
                | Step::Replace
                | Step::Protect
        )
    }

    /// Whether the staged entry is still in STAGE after this step, in a
    /// directory merged `how`: an identical entry stays only in copy mode
    /// (across filesystems it is dropped as usual), a replacement stays
    /// whenever it went in as a copy, a version that lost stays unless the
    /// clobber store takes it (a file or symlink: the store keeps versions
    /// by digest, so a fifo, socket or device that lost stays). Directories
    /// entered are settled when they are left, so they answer `false`.
    pub(crate) fn stays_staged(&self, how: &How, kind: Kind) -> bool {
        match self {
            Step::Copy { .. } | Step::Conflict(_) | Step::Error { .. } => true,
            Step::Keep | Step::KeepConcurrent => {
                !(how.stores_lost() && matches!(kind, Kind::File | Kind::Symlink))
            }
            Step::Identical => how.copy,
            Step::Replace | Step::Protect => how.copies(),
            Step::PlaceDir
            | Step::Place { .. }
            | Step::CreateDir
            | Step::MergeDir
            | Step::Follow { .. } => false,
        }
    }
}
