//! The decision for one staged entry, as a pure function of what each side
//! holds and how the entry's directory is being merged. Both executors act
//! on what it returns, so a plan and a merge cannot decide differently.

use crate::classify::{Decision, Verdict, classify, on_difference};
use crate::fs::Kind;
use crate::options::OnConflict;
use crate::report::ConflictReason;
use crate::step::Step;

/// What the walk found at the staged entry's name in TARGET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Nothing (or not looked at: a non-directory is placed first).
    Absent,
    /// An entry of this kind.
    Present(Kind),
}

/// How the entry's directory is merged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct How {
    /// Copy instead of moving (`--copy`, or below a directory copied across
    /// filesystems).
    pub(crate) copy: bool,
    /// The copying below here started because a rename crossed filesystems.
    pub(crate) across: bool,
    /// A rename from the staged directory into TARGET's would cross
    /// filesystems.
    pub(crate) crosses: bool,
    /// TARGET's filesystem refuses the no-replace rename (or the fallback is
    /// forced): place files by link + unlink, directories by mkdir.
    pub(crate) fallback: bool,
    /// The `--on-conflict` policy.
    pub(crate) policy: OnConflict,
    /// The clobber store is kept (the merge knows the records).
    pub(crate) store: bool,
}

impl How {
    /// Whether entries go in as copies: copy mode, or a rename from the
    /// staged directory would cross filesystems (then a placement and a
    /// replacement are copies, and the staged original stays).
    pub(crate) fn copies(&self) -> bool {
        self.copy || self.crosses
    }

    /// Whether a staged version that loses to TARGET's goes into the
    /// clobber store (by a rename, so not where entries go in as copies).
    pub(crate) fn stores_lost(&self) -> bool {
        self.store && !self.copies()
    }
}

/// What the walk does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Take this step.
    Do(Step),
    /// Both are directories: enter TARGET's.
    Enter,
    /// TARGET has a symlink where STAGE has a directory: resolve it.
    Follow,
    /// Two non-directories: compare them, then [`compared`].
    Compare,
}

/// Decides what to do with a staged entry of kind `kind` (never
/// [`Kind::Unknown`]) given what TARGET holds.
pub(crate) fn decide(kind: Kind, seen: Seen, how: &How) -> Next {
    match seen {
        Seen::Absent => Next::Do(place(kind, how)),
        Seen::Present(target) => match classify(kind, target) {
            Verdict::Descend => Next::Enter,
            Verdict::FollowLink => Next::Follow,
            Verdict::Conflict(reason) => Next::Do(Step::Conflict(reason)),
            Verdict::Compare => Next::Compare,
        },
    }
}

/// Decides between two non-directories once compared: `same` content, or a
/// difference (`concurrent` by [`crate::classify::concurrent`]) settled by
/// `policy` (the merge's, or `--on-owned` for another package's file). An
/// `edited` protected file stays, whatever the policy, unless another merge
/// just wrote it.
pub(crate) fn compared(same: bool, concurrent: bool, policy: OnConflict, edited: bool) -> Step {
    if same {
        return Step::Identical;
    }
    if edited && !concurrent {
        return Step::Protect;
    }
    match on_difference(policy, concurrent) {
        Decision::Fail => Step::Conflict(ConflictReason::Different),
        Decision::Keep => Step::Keep,
        Decision::KeepConcurrent => Step::KeepConcurrent,
        Decision::Replace => Step::Replace,
    }
}

/// How an entry whose name is free in TARGET is placed.
fn place(kind: Kind, how: &How) -> Step {
    let copying = how.copies();
    match kind {
        Kind::Dir if copying || how.fallback => Step::CreateDir,
        Kind::Dir => Step::PlaceDir,
        kind if copying => Step::Copy {
            kind,
            across: how.across || (how.crosses && !how.copy),
        },
        kind => Step::Place { kind },
    }
}

/// How the children of a directory created or entered from a directory
/// merged `how` are merged: copying continues below a copied directory, and
/// starts below one created because renames would cross filesystems.
pub(crate) fn below(how: &How, created: bool) -> (bool, bool) {
    let starts = created && how.crosses && !how.copy;
    (how.copy || starts, how.across || starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn how() -> How {
        How {
            copy: false,
            across: false,
            crosses: false,
            fallback: false,
            policy: OnConflict::Replace,
            store: false,
        }
    }

    #[test]
    fn a_free_name_is_renamed_into_unless_something_forbids_it() {
        let h = how();
        assert_eq!(
            decide(Kind::Dir, Seen::Absent, &h),
            Next::Do(Step::PlaceDir)
        );
        let file = Step::Place { kind: Kind::File };
        assert_eq!(decide(Kind::File, Seen::Absent, &h), Next::Do(file.clone()));
        let fallback = How {
            fallback: true,
            ..h
        };
        assert_eq!(
            decide(Kind::Dir, Seen::Absent, &fallback),
            Next::Do(Step::CreateDir)
        );
        assert_eq!(decide(Kind::File, Seen::Absent, &fallback), Next::Do(file));
    }

    #[test]
    fn copying_creates_directories_and_copies_the_rest() {
        for (h, across) in [
            (
                How {
                    copy: true,
                    ..how()
                },
                false,
            ),
            (
                How {
                    crosses: true,
                    ..how()
                },
                true,
            ),
            (
                How {
                    copy: true,
                    across: true,
                    ..how()
                },
                true,
            ),
        ] {
            assert_eq!(
                decide(Kind::Dir, Seen::Absent, &h),
                Next::Do(Step::CreateDir)
            );
            let copy = Step::Copy {
                kind: Kind::Symlink,
                across,
            };
            assert_eq!(
                decide(Kind::Symlink, Seen::Absent, &h),
                Next::Do(copy),
                "{h:?}"
            );
        }
        let crossing = How {
            crosses: true,
            ..how()
        };
        assert_eq!(below(&crossing, true), (true, true));
        assert_eq!(
            below(&crossing, false),
            (false, false),
            "an existing directory"
        );
        assert_eq!(
            below(
                &How {
                    copy: true,
                    ..how()
                },
                true
            ),
            (true, false)
        );
    }

    #[test]
    fn a_difference_follows_the_policy_and_the_first_writer() {
        let diff = |concurrent, policy| compared(false, concurrent, policy, false);
        assert_eq!(diff(false, OnConflict::Replace), Step::Replace);
        assert_eq!(diff(true, OnConflict::Replace), Step::KeepConcurrent);
        assert_eq!(diff(false, OnConflict::Keep), Step::Keep);
        let fail = Step::Conflict(ConflictReason::Different);
        assert_eq!(diff(true, OnConflict::Fail), fail);
        assert_eq!(
            compared(true, true, OnConflict::Fail, true),
            Step::Identical,
            "same is never a conflict"
        );
        let edited = |concurrent, policy| compared(false, concurrent, policy, true);
        assert_eq!(edited(false, OnConflict::Fail), Step::Protect);
        assert_eq!(edited(false, OnConflict::Replace), Step::Protect);
        assert_eq!(
            edited(true, OnConflict::Replace),
            Step::KeepConcurrent,
            "another merge's write is not the user's edit"
        );
    }

    #[test]
    fn what_target_holds_picks_the_next_look() {
        let h = how();
        let at = |s, t| decide(s, Seen::Present(t), &h);
        assert_eq!(at(Kind::Dir, Kind::Dir), Next::Enter);
        assert_eq!(at(Kind::Dir, Kind::Symlink), Next::Follow);
        assert_eq!(at(Kind::File, Kind::Symlink), Next::Compare);
        assert!(matches!(
            at(Kind::File, Kind::Dir),
            Next::Do(Step::Conflict(_))
        ));
    }
}
