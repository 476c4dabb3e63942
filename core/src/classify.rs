//! The placement table of SPEC.md as pure functions of what each side holds.
//!
//! Kept free of I/O so that tests (and a model of the rules) can check the
//! table itself; the walk feeds it what `lstat` says.

use crate::fs::{Kind, Stamp};
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

/// What the walk knows that tells whether a different TARGET entry is
/// another merge's, placed while this one ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clues {
    /// This merge found the name free, then taken when it placed.
    pub raced: bool,
    /// The TARGET directory did not exist when this merge first looked:
    /// another merge made it, so everything in it is theirs.
    pub fresh_dir: bool,
    /// The TARGET directory changed after this merge started, not by this
    /// merge, before this merge entered it.
    pub hot_dir: bool,
    /// The entry's own change time, where the platform gives one.
    pub ctime: Option<Stamp>,
    /// When this merge started, by TARGET's clock (`None` for a plan:
    /// concurrency does not enter it).
    pub start: Option<Stamp>,
    /// This merge itself wrote into the entry's directory (an alias such as
    /// `lib64 -> lib` may bring it back there).
    pub wrote_here: bool,
}

/// Whether something changed at `ctime` after `start`, by someone other than
/// this merge (`wrote_here`: this merge wrote there itself, so a change
/// after the start may be its own).
pub fn changed_since(ctime: Option<Stamp>, start: Option<Stamp>, wrote_here: bool) -> bool {
    match (ctime, start) {
        (Some(c), Some(s)) => c > s && !wrote_here,
        _ => false,
    }
}

/// The concurrency rule: a different TARGET entry is a concurrent merge's
/// (the first writer wins) when the name was taken in a race, its directory
/// is another merge's or changed under this one, or the entry itself changed
/// after this merge started. A peer's write missed by all of these still
/// gets a "replaced" warning.
pub fn concurrent(c: &Clues) -> bool {
    c.raced || c.fresh_dir || c.hot_dir || changed_since(c.ctime, c.start, c.wrote_here)
}

/// What the records read when the merge started say of TARGET's different
/// version of a path (the merge's own record among them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Known {
    /// The merge's own record (or its journal) lists this very version: the
    /// package's earlier version, which an upgrade replaces.
    OwnVersion,
    /// The merge's own record lists the path without a digest (a text or
    /// Sage record): by its listing, the package's earlier version.
    OwnPath,
    /// The merge's own record does not list this version (another
    /// package's, or one no record lists).
    Other,
}

/// The concurrency rule with the records: whether TARGET's different
/// version is a peer's write made while this merge ran (the first writer
/// wins: it is kept, the staged one loses). `late` is true when a merge
/// that began after the records were read lists the path.
///
/// The package's own earlier version is never a peer's write: an upgrade
/// replaces it, whatever changed in its directory. Where the own record
/// has no digests, only the entry's own clues (its name taken in a race,
/// its change time after the start) can still make it a peer's write,
/// never its directory's. Any other version is a peer's where a clue says
/// so, or a merge that began later lists the path (the first writer wins;
/// with records, the staged version that lost is kept in the store).
pub fn peer_write(c: &Clues, known: Known, late: bool) -> bool {
    match known {
        Known::OwnVersion => false,
        Known::OwnPath => c.raced || changed_since(c.ctime, c.start, c.wrote_here),
        Known::Other => late || concurrent(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Kind; 7] = Kind::KNOWN;

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

    fn at(secs: i64) -> Option<Stamp> {
        Some(Stamp { secs, nanos: 0 })
    }

    #[test]
    fn a_change_after_the_start_is_someone_elses_unless_this_merge_wrote_there() {
        assert!(changed_since(at(2), at(1), false));
        assert!(!changed_since(at(2), at(1), true));
        assert!(!changed_since(at(1), at(1), false), "not after the start");
        assert!(!changed_since(at(0), at(1), false));
        assert!(
            !changed_since(None, at(1), false),
            "no change time: unknown"
        );
        assert!(!changed_since(at(2), None, false), "a plan has no start");
    }

    #[test]
    fn each_clue_alone_makes_a_write_concurrent() {
        let calm = Clues {
            ctime: at(1),
            start: at(5),
            ..Clues::default()
        };
        assert!(!concurrent(&calm));
        for c in [
            Clues {
                raced: true,
                ..calm
            },
            Clues {
                fresh_dir: true,
                ..calm
            },
            Clues {
                hot_dir: true,
                ..calm
            },
            Clues {
                ctime: at(9),
                ..calm
            },
        ] {
            assert!(concurrent(&c), "{c:?}");
        }
        assert!(!concurrent(&Clues {
            ctime: at(9),
            wrote_here: true,
            ..calm
        }));
    }

    /// Regression (issue 23, finding 1): an upgrade kept the package's own
    /// earlier file as "a concurrent write" because a peer merged another
    /// file into the same directory meanwhile.
    #[test]
    fn the_packages_own_earlier_version_is_upgraded_whatever_its_directory_saw() {
        let every = Clues {
            raced: true,
            fresh_dir: true,
            hot_dir: true,
            ctime: at(9),
            start: at(5),
            wrote_here: false,
        };
        assert!(!peer_write(&every, Known::OwnVersion, true));
        assert!(peer_write(&every, Known::Other, false));
        let hot = Clues {
            hot_dir: true,
            fresh_dir: true,
            ctime: at(1),
            start: at(5),
            ..Clues::default()
        };
        assert!(
            !peer_write(&hot, Known::OwnPath, false),
            "directory clues only"
        );
        assert!(peer_write(&hot, Known::Other, false));
    }

    #[test]
    fn another_version_is_a_peers_when_any_clue_says_so() {
        let calm = Clues {
            ctime: at(1),
            start: at(5),
            ..Clues::default()
        };
        assert!(!peer_write(&calm, Known::Other, false));
        assert!(
            peer_write(&calm, Known::Other, true),
            "a late merge lists it"
        );
        for c in [
            Clues {
                raced: true,
                ..calm
            },
            Clues {
                ctime: at(9),
                ..calm
            },
        ] {
            assert!(peer_write(&c, Known::Other, false), "{c:?}");
            // Without digests the entry's own clues still count.
            assert!(peer_write(&c, Known::OwnPath, false), "{c:?}");
        }
        let own_write = Clues {
            ctime: at(9),
            wrote_here: true,
            ..calm
        };
        assert!(!peer_write(&own_write, Known::OwnPath, false));
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
