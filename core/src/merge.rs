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
    let start = fs.clock(target);
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

/// Waits until `dir`'s filesystem clock has passed `stamp` (at most one
/// tick of its coarse clock, a few milliseconds): anything written after
/// this returns has a change time after `stamp`. A merge that reads the
/// installed packages' records does so after this, so that a file with a
/// change time at or before its start was placed before the read (and its
/// owner's journal or record is among those read), and every later one is
/// a concurrent write.
pub fn wait_past<F: Fs>(fs: &F, dir: &F::Dir, stamp: Stamp) {
    // A clock that does not move (a platform without change times) is
    // given up on after a second rather than waited for.
    for _ in 0..1000 {
        if fs.clock(dir) > stamp {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
