//! What a merge did: counts, warnings and problems, in one value every front
//! end renders (`messages.rs` for people, `json.rs` for programs).

mod json;
mod messages;

pub(crate) use json::put_collided;
pub use messages::Severity;

use std::path::{Path, PathBuf};

use std::io;

use crate::error::{Error, Op, Side};
use crate::escape::escape;
use crate::fs::Kind;
use crate::ownership::{Collided, Whose};
use crate::step::Step;

/// How many entries each action touched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Entries placed by a rename or link (a directory moved whole counts once).
    pub moved: u64,
    /// Of `moved`, directories moved whole by one rename.
    pub whole_dirs: u64,
    /// Directories created in TARGET by the fallback or by copying (mkdir,
    /// then children).
    pub created_dirs: u64,
    /// Non-directories copied into place (copy mode, or STAGE and TARGET on
    /// different filesystems); their staged originals stay in STAGE.
    pub copied: u64,
    /// Of `copied`, entries copied because a rename crossed filesystems.
    pub copied_across: u64,
    /// Temporaries of interrupted copies removed from TARGET.
    pub stale_temps: u64,
    /// Entries already present and identical; their staged copy was removed.
    pub identical: u64,
    /// Different non-directories replaced atomically.
    pub replaced: u64,
    /// Different non-directories kept because of `--on-conflict keep`.
    pub kept: u64,
    /// Different entries another merge placed while this one ran; theirs kept.
    pub concurrent: u64,
    /// Edited protected files kept; the staged ones placed beside them.
    pub protected: u64,
    /// Conflicts: the entry was left in STAGE and TARGET unchanged.
    pub conflicts: u64,
    /// I/O errors: the entry was left in STAGE.
    pub errors: u64,
}

/// A warning: the merge went on, but the user should know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// TARGET/path held a different non-directory and was replaced.
    Replaced {
        /// The entry, relative to both roots.
        path: PathBuf,
        /// With ownership: whose file it was.
        collided: Option<Collided>,
    },
    /// TARGET/path held a different non-directory that was kept
    /// (`--on-conflict keep`, `--on-owned keep`).
    Kept {
        /// The entry, relative to both roots.
        path: PathBuf,
        /// With ownership: whose file it is.
        collided: Option<Collided>,
        /// The staged version went into the clobber store (else it is
        /// still in STAGE).
        stored: bool,
    },
    /// Another merge placed a different TARGET/path while this one ran; its
    /// version stays.
    ConcurrentWrite {
        /// The entry, relative to both roots.
        path: PathBuf,
        /// With ownership: whose file it is.
        collided: Option<Collided>,
        /// As for `Kept`.
        stored: bool,
    },
    /// TARGET/path is protected and was edited: it stays, and the staged
    /// version is at `path.stagemerge-new`.
    Protected {
        /// The entry, relative to both roots.
        path: PathBuf,
    },
}

impl Warning {
    /// The entry the warning is about, relative to both roots.
    pub fn path(&self) -> &Path {
        match self {
            Warning::Replaced { path, .. }
            | Warning::Kept { path, .. }
            | Warning::ConcurrentWrite { path, .. }
            | Warning::Protected { path } => path,
        }
    }

    /// Whose TARGET's file is, where the merge knew the records.
    pub fn collided(&self) -> Option<&Collided> {
        match self {
            Warning::Replaced { collided, .. }
            | Warning::Kept { collided, .. }
            | Warning::ConcurrentWrite { collided, .. } => collided.as_ref(),
            Warning::Protected { .. } => None,
        }
    }

    /// The message, with the roots as the user named them.
    pub fn render(&self, stage_root: &Path, target_root: &Path) -> String {
        let t = crate::rel::under(target_root, self.path());
        let whose = match self.collided() {
            // The path is the package's, but the version a peer placed is
            // not its earlier one (that one an upgrade replaces).
            Some(c) if c.whose == Whose::Own && matches!(self, Warning::ConcurrentWrite { .. }) => {
                " (a version no record lists)".to_owned()
            }
            Some(c) => format!(" ({})", describe(c)),
            None => String::new(),
        };
        let staged = |stored: bool| {
            if stored {
                format!(
                    "the staged version is kept in TARGET's clobber store ({}/{})",
                    crate::ownership::store::ROOT,
                    crate::ownership::store::CLOBBERED
                )
            } else {
                format!(
                    "the staged version stays at {}",
                    crate::rel::under(stage_root, self.path()).display()
                )
            }
        };
        match self {
            Warning::Replaced { .. } => {
                format!(
                    "replaced {}{whose}: the staged version differs",
                    t.display()
                )
            }
            Warning::Kept { stored, .. } => format!(
                "kept {}{whose}; the different {}",
                t.display(),
                staged(*stored).trim_start_matches("the ")
            ),
            Warning::ConcurrentWrite { stored, .. } => format!(
                "concurrent write: another merge placed a different {}{whose} while this one \
                 ran; kept it, {}",
                t.display(),
                staged(*stored)
            ),
            Warning::Protected { .. } => format!(
                "kept {}: protected, and edited since installed (no record has its content); \
                 the staged version is at {}{}",
                t.display(),
                t.display(),
                crate::ownership::NEW_SUFFIX
            ),
        }
    }
}

/// `owned by foo-1.2`, `unowned`, with `--allow-overwrite` when it applied.
pub(crate) fn describe(c: &Collided) -> String {
    let mut s = c.whose.describe();
    if c.allowed {
        s.push_str(", --allow-overwrite");
    }
    s
}

/// Why an entry could not be merged although no system call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConflictReason {
    /// The two sides hold different types, and neither may replace the other.
    Type {
        /// What STAGE has.
        stage: Kind,
        /// What TARGET has.
        target: Kind,
    },
    /// TARGET has a symlink where STAGE has a directory, and the link would
    /// have to be followed out of TARGET (absolute, or `..` past its root).
    SymlinkEscapes {
        /// The link text.
        link: PathBuf,
    },
    /// TARGET has a symlink where STAGE has a directory, and it does not lead
    /// to a directory (dangling, a loop, or a non-directory).
    SymlinkNotDir {
        /// The link text.
        link: PathBuf,
        /// What was found instead.
        why: String,
    },
    /// The destination is STAGE itself or inside it.
    IntoStage,
    /// The files differ and `--on-conflict fail` was given.
    Different,
    /// TARGET kept changing under this merge; it gave up after several tries.
    Unstable,
}

/// An entry that was not merged: it is still in STAGE.
#[derive(Debug)]
pub enum Problem {
    /// The rules refuse this entry.
    Conflict {
        /// The entry, relative to both roots.
        path: PathBuf,
        /// Why.
        reason: ConflictReason,
        /// With ownership: whose different file it met.
        collided: Option<Collided>,
    },
    /// A system call failed.
    Io(Error),
}

impl Problem {
    /// The message, with the roots as the user named them.
    pub fn render(&self, stage_root: &Path, target_root: &Path) -> String {
        match self {
            Problem::Io(e) => e.render(stage_root, target_root),
            Problem::Conflict {
                path,
                reason,
                collided,
            } => {
                let s = crate::rel::under(stage_root, path);
                let t = crate::rel::under(target_root, path);
                let (s, t) = (s.display(), t.display());
                match reason {
                    ConflictReason::Type { stage, target } => format!(
                        "conflict: {s} is a {} but {t} is a {}; left in STAGE, TARGET unchanged",
                        stage.describe(),
                        target.describe()
                    ),
                    ConflictReason::SymlinkEscapes { link } => format!(
                        "conflict: {t} is a symlink to {} which leads out of TARGET; not followed, \
                         {s} left in STAGE",
                        link.display()
                    ),
                    ConflictReason::SymlinkNotDir { link, why } => format!(
                        "conflict: {t} is a symlink to {} which {why}; {s} left in STAGE",
                        link.display()
                    ),
                    ConflictReason::IntoStage => format!(
                        "conflict: the destination {t} is STAGE itself or inside it; {s} left in STAGE"
                    ),
                    ConflictReason::Different => match collided {
                        Some(c) if !c.allowed && matches!(c.whose, Whose::Owned(_)) => format!(
                            "conflict: {t} ({}) differs from {s} (--on-owned fail); left in STAGE",
                            describe(c)
                        ),
                        Some(c) => format!(
                            "conflict: {t} ({}) differs from {s} (--on-conflict fail); left in STAGE",
                            describe(c)
                        ),
                        None => format!(
                            "conflict: {t} differs from {s} (--on-conflict fail); left in STAGE"
                        ),
                    },
                    ConflictReason::Unstable => {
                        format!("conflict: {t} kept changing while merging {s}; left in STAGE")
                    }
                }
            }
        }
    }
}

/// The outcome of a merge.
#[derive(Debug, Default)]
pub struct Report {
    /// How many entries each action touched.
    pub counts: Counts,
    /// Warnings, in the order they arose.
    pub warnings: Vec<Warning>,
    /// Entries not merged, in the order they arose. Empty means success.
    pub problems: Vec<Problem>,
    /// Staged entries the merge did not place, and why, in walk order: what
    /// [`crate::record::settle`] needs to know of the outcome. They are still
    /// in STAGE, except a shadowed version that went into the clobber store.
    pub left: Vec<(PathBuf, Left)>,
}

/// Why a staged entry is still in STAGE after the merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Left {
    /// Not merged: a conflict or an I/O error. For a directory, nothing
    /// below it was merged either.
    Unplaced,
    /// TARGET keeps another version of this non-directory: a concurrent
    /// merge placed it first, or `--on-conflict keep` kept it. The staged
    /// version is in STAGE, or in the clobber store with `--manifest-dir`.
    Shadowed,
}

impl Report {
    /// Counts the step a merge took for the staged entry `path`, with its
    /// warning or problem, and what it leaves in STAGE. `err` is the error
    /// of a [`Step::Error`].
    ///
    /// `collided` is what the records say of TARGET's different file, and
    /// `stored` whether a staged version that lost went into the clobber
    /// store.
    pub(crate) fn record(
        &mut self,
        path: &Path,
        step: &Step,
        err: Option<io::Error>,
        collided: Option<Collided>,
        stored: bool,
    ) {
        let c = &mut self.counts;
        let shadowed = match step {
            Step::PlaceDir => {
                c.moved += 1;
                c.whole_dirs += 1;
                return;
            }
            Step::Place { .. } => return c.moved += 1,
            Step::Copy { across, .. } => {
                c.copied += 1;
                c.copied_across += u64::from(*across);
                return;
            }
            Step::CreateDir => return c.created_dirs += 1,
            Step::MergeDir | Step::Follow { .. } => return,
            Step::Identical => return c.identical += 1,
            Step::Replace => {
                c.replaced += 1;
                let path = path.to_owned();
                return self.warnings.push(Warning::Replaced { path, collided });
            }
            Step::Protect => {
                c.protected += 1;
                let path = path.to_owned();
                return self.warnings.push(Warning::Protected { path });
            }
            Step::Keep => {
                c.kept += 1;
                Warning::Kept {
                    path: path.to_owned(),
                    collided,
                    stored,
                }
            }
            Step::KeepConcurrent => {
                c.concurrent += 1;
                Warning::ConcurrentWrite {
                    path: path.to_owned(),
                    collided,
                    stored,
                }
            }
            Step::Conflict(reason) => {
                c.conflicts += 1;
                self.left.push((path.to_owned(), Left::Unplaced));
                let (path, reason) = (path.to_owned(), reason.clone());
                return self.problems.push(Problem::Conflict {
                    path,
                    reason,
                    collided,
                });
            }
            Step::Error { op, side, kind } => {
                self.left.push((path.to_owned(), Left::Unplaced));
                let err = err.unwrap_or_else(|| (*kind).into());
                return self.problem(path, *op, *side, err);
            }
        };
        self.left.push((path.to_owned(), Left::Shadowed));
        self.warnings.push(shadowed);
    }

    /// An I/O error at `path` that is not an entry's step (restoring a mode,
    /// removing an emptied staged directory).
    pub(crate) fn problem(&mut self, path: &Path, op: Op, side: Side, err: io::Error) {
        self.counts.errors += 1;
        let e = Error::new(op, side, path.to_owned(), err);
        self.problems.push(Problem::Io(e));
    }

    /// True when every staged entry was merged (warnings allowed).
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// One line for humans: what moved, what was already there, what went wrong.
    pub fn summary(&self) -> String {
        let c = &self.counts;
        let mut s = format!("{} moved ({} whole directories)", c.moved, c.whole_dirs);
        if c.created_dirs > 0 {
            s.push_str(&format!(", {} directories created", c.created_dirs));
        }
        if c.copied > 0 {
            s.push_str(&format!(", {} copied", c.copied));
            if c.copied_across > 0 {
                s.push_str(&format!(
                    " ({} because STAGE and TARGET are on different filesystems)",
                    c.copied_across
                ));
            }
        }
        if c.stale_temps > 0 {
            s.push_str(&format!(
                ", {} temporaries of an interrupted copy removed",
                c.stale_temps
            ));
        }
        s.push_str(&format!(
            ", {} identical, {} replaced",
            c.identical, c.replaced
        ));
        if c.kept > 0 {
            s.push_str(&format!(", {} kept", c.kept));
        }
        if c.concurrent > 0 {
            s.push_str(&format!(", {} concurrent writes", c.concurrent));
        }
        if c.protected > 0 {
            s.push_str(&format!(", {} protected", c.protected));
        }
        s.push_str(&format!(", {} conflicts", c.conflicts));
        if c.errors > 0 {
            s.push_str(&format!(", {} errors", c.errors));
        }
        s
    }
}

impl ConflictReason {
    /// The reason in a few words, without the roots (plans print paths
    /// relative to both trees).
    pub fn brief(&self) -> String {
        match self {
            ConflictReason::Type { stage, target } => format!(
                "STAGE has a {}, TARGET a {}",
                stage.describe(),
                target.describe()
            ),
            ConflictReason::SymlinkEscapes { link } => format!(
                "TARGET has a symlink to {} which leads out of TARGET",
                escape(link.as_os_str().as_encoded_bytes())
            ),
            ConflictReason::SymlinkNotDir { link, why } => format!(
                "TARGET has a symlink to {} which {why}",
                escape(link.as_os_str().as_encoded_bytes())
            ),
            ConflictReason::IntoStage => "the destination is STAGE itself or inside it".into(),
            ConflictReason::Different => "the files differ and the policy is fail".into(),
            ConflictReason::Unstable => "TARGET kept changing".into(),
        }
    }
}
