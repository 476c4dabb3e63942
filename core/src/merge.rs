//! `merge`: the walk with the applying executor.

use std::path::{Path, PathBuf};

use crate::error::{Error, Op, Side};
use crate::fs::{Fs, Stamp};
use crate::options::Options;
use crate::record::Listings;
use crate::report::Report;
use crate::step::Action;
use crate::walk::{Apply, walk};

/// Merges the tree below `stage` into `target`, by the rules of SPEC.md.
///
/// Every staged entry ends either in TARGET or still in STAGE; staged
/// directories emptied by the merge are removed (never `stage` itself).
/// `on_action` is called once per entry examined, with its path relative to
/// both roots.
///
/// Returns `Err` only when nothing could be done: a root cannot be examined or
/// listed, or both handles are the same directory. Everything else, including
/// I/O errors on single entries, is in the [`Report`].
pub fn merge<F: Fs>(
    fs: &F,
    stage: &F::Dir,
    target: &F::Dir,
    opts: &Options,
    on_action: &mut dyn FnMut(&Path, Action),
) -> Result<Report, Error> {
    merge_listed(fs, stage, target, opts, Listings::default(), on_action)
}

/// [`merge`], taking each staged directory's listing from `listings` (a
/// [`crate::record::scan`] of this STAGE made just before) where it has
/// one, instead of listing the directory again.
pub fn merge_listed<F: Fs>(
    fs: &F,
    stage: &F::Dir,
    target: &F::Dir,
    opts: &Options,
    listings: Listings<F::Dir>,
    on_action: &mut dyn FnMut(&Path, Action),
) -> Result<Report, Error> {
    let start = start(fs, target, false);
    merge_since(fs, stage, target, opts, listings, start, on_action)
}

/// [`merge_listed`] for a merge that started at `start` by TARGET's clock
/// ([`Fs::clock`]): a front end that reads the installed packages' records
/// takes the stamp first, so that every file placed before it has an owner
/// among the records read, and every one placed after it is a concurrent
/// write.
pub fn merge_since<F: Fs>(
    fs: &F,
    stage: &F::Dir,
    target: &F::Dir,
    opts: &Options,
    listings: Listings<F::Dir>,
    start: Stamp,
    on_action: &mut dyn FnMut(&Path, Action),
) -> Result<Report, Error> {
    // Before anything moves: a filesystem that can place nothing without
    // replacing is refused whole (issue 26, 7), rather than merged with
    // replacing renames until the first placement fails.
    fs.check_placement(target)
        .map_err(|e| Error::new(Op::CheckPlacement, Side::Target, PathBuf::new(), e))?;
    let start = Some(start);
    let apply = walk(
        fs,
        stage,
        target,
        opts,
        listings,
        start,
        Apply::new(on_action),
    )?;
    // Versions this or an earlier merge set aside for other machines'
    // readers go once they are old enough; failing to remove one only
    // leaves it for the next merge.
    if fs.caches_views(target)
        && let Err(e) = crate::aside::prune(fs, target, fs.clock(target))
    {
        log::debug!("pruning versions set aside: {e}");
    }
    Ok(apply.report)
}

/// The start of a merge by TARGET's clock ([`Fs::clock`]), stamped before
/// the installed packages' records are read (`records`: whether they are)
/// and before anything in TARGET is looked at: an entry with a later change
/// time was changed by someone else while the merge ran. Waited past
/// ([`wait_past`]) where a change in the start's own tick would otherwise
/// be misread:
///
/// - with records, on a clock finer than seconds (one tick, a few
///   milliseconds): a peer's file placed in that tick then has its journal
///   among those read. On a whole-second clock a peer that journals after
///   the read is found by the records and journals that appeared since
///   (`Late`), as before; waiting a second per merge would buy nothing.
/// - without records, on a clock that steps whole seconds (MooseFS, sshfs:
///   the shim stamps such a start so): nothing but the change time tells a
///   peer's write, and a file another client placed in the merge's first
///   second had the start's own second and was replaced (issue 26, 2).
///   Once the wait is over, everything placed later has a later second.
///   The cost is up to a second per merge there.
pub(crate) fn start<F: Fs>(fs: &F, target: &F::Dir, records: bool) -> Stamp {
    let start = fs.clock(target);
    if records != whole_seconds(start) {
        let waited = std::time::Instant::now();
        wait_past(fs, target, start);
        log::debug!(
            "waited {:?} for TARGET's clock to pass the start",
            waited.elapsed()
        );
    }
    start
}

/// Whether `start` came from a clock that steps whole seconds (no part of
/// a second). A finer clock lands on a whole second once in 10^9 stamps;
/// such a merge then waits as on a whole-second clock, or does not wait
/// one tick with records.
pub(crate) fn whole_seconds(start: Stamp) -> bool {
    start.nanos == 0
}

/// Waits until `dir`'s filesystem clock has passed `stamp` (at most one
/// tick of its clock: a few milliseconds, a second where it steps whole
/// seconds): anything written after this returns has a change time after
/// `stamp`.
pub fn wait_past<F: Fs>(fs: &F, dir: &F::Dir, stamp: Stamp) {
    // A clock that does not move (a platform without change times) is
    // given up on after a little over a second (a whole-second clock moves
    // within one) rather than waited for.
    let waiting = std::time::Instant::now();
    while waiting.elapsed() < std::time::Duration::from_millis(1200) {
        if fs.clock(dir) > stamp {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_without_a_part_of_a_second_is_from_a_whole_second_clock() {
        assert!(whole_seconds(Stamp { secs: 7, nanos: 0 }));
        assert!(!whole_seconds(Stamp { secs: 7, nanos: 1 }));
    }

    #[test]
    fn a_fine_clock_is_waited_for_only_with_records() {
        use crate::testing::memfs::MemFs;
        // MemFs's clock is finer than seconds and never moves: a wait
        // would last until wait_past gives up (1.2 s).
        let fs = MemFs::new();
        let t = fs.mkdirs("t");
        let took = |records| {
            let at = std::time::Instant::now();
            start(&fs, &t, records);
            at.elapsed()
        };
        assert!(took(false) < std::time::Duration::from_millis(500));
        assert!(took(true) >= std::time::Duration::from_millis(1200));
    }
}
