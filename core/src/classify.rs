//! The placement table of SPEC.md as pure functions of what each side holds.
//!
//! Kept free of I/O so that tests (and a model of the rules) can check the
//! table itself; the walk feeds it what `lstat` says.

use crate::fs::Kind;
use crate::options::OnConflict;
use crate::report::ConflictReason;

/// What to do with STAGE/p given what TARGET/p is (when TARGET/p exists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Both are directories: merge the children.
    Descend,
    /// STAGE has a directory, TARGET a symlink: follow it if it stays inside
    /// TARGET and leads to a directory, then merge the children there.
    FollowLink,
    /// Both are non-directories: compare them, then [`on_difference`].
    Compare,
    /// Refused: nothing changes.
    Conflict(ConflictReason),
}

/// Classifies a staged entry of kind `stage` against an existing TARGET entry
/// of kind `target`. Neither may be [`Kind::Unknown`].
pub fn classify(stage: Kind, target: Kind) -> Verdict {
    match (stage, target) {
        (Kind::Dir, Kind::Dir) => Verdict::Descend,
        (Kind::Dir, Kind::Symlink) => Verdict::FollowLink,
        (Kind::Dir, _) | (_, Kind::Dir) => {
            Verdict::Conflict(ConflictReason::Type { stage, target })
        }
        _ => Verdict::Compare,
    }
}

/// What to do with two different non-directories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Rename the staged one over TARGET's, with a warning.
    Replace,
    /// Keep TARGET's (`--on-conflict keep`), staged one stays in STAGE.
    Keep,
    /// TARGET's was placed by a concurrent merge: the first one wins, so keep
    /// it; the staged one stays in STAGE with a "concurrent write" warning.
    KeepConcurrent,
    /// A conflict (`--on-conflict fail`).
    Fail,
}

/// Decides between two different non-directories. `concurrent` is true when
/// TARGET's entry appeared or changed after this merge started.
pub fn on_difference(policy: OnConflict, concurrent: bool) -> Decision {
    match policy {
        OnConflict::Fail => Decision::Fail,
        OnConflict::Keep => Decision::Keep,
        OnConflict::Replace if concurrent => Decision::KeepConcurrent,
        OnConflict::Replace => Decision::Replace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Kind; 7] = [
        Kind::File,
        Kind::Dir,
        Kind::Symlink,
        Kind::Fifo,
        Kind::Socket,
        Kind::CharDevice,
        Kind::BlockDevice,
    ];

    #[test]
    fn directory_rows_of_the_table() {
        assert_eq!(classify(Kind::Dir, Kind::Dir), Verdict::Descend);
        assert_eq!(classify(Kind::Dir, Kind::Symlink), Verdict::FollowLink);
        for t in ALL
            .into_iter()
            .filter(|t| !matches!(t, Kind::Dir | Kind::Symlink))
        {
            assert!(
                matches!(classify(Kind::Dir, t), Verdict::Conflict(_)),
                "{t:?}"
            );
        }
    }

    #[test]
    fn non_directory_over_real_directory_is_a_conflict() {
        for s in ALL.into_iter().filter(|s| *s != Kind::Dir) {
            assert_eq!(
                classify(s, Kind::Dir),
                Verdict::Conflict(ConflictReason::Type {
                    stage: s,
                    target: Kind::Dir
                })
            );
        }
    }

    #[test]
    fn non_directories_are_compared() {
        for s in ALL.into_iter().filter(|s| *s != Kind::Dir) {
            for t in ALL.into_iter().filter(|t| *t != Kind::Dir) {
                assert_eq!(classify(s, t), Verdict::Compare, "{s:?} over {t:?}");
            }
        }
    }

    #[test]
    fn first_writer_wins_only_for_concurrent_writes() {
        assert_eq!(on_difference(OnConflict::Replace, false), Decision::Replace);
        assert_eq!(
            on_difference(OnConflict::Replace, true),
            Decision::KeepConcurrent
        );
        assert_eq!(on_difference(OnConflict::Keep, false), Decision::Keep);
        assert_eq!(on_difference(OnConflict::Fail, true), Decision::Fail);
    }
}
