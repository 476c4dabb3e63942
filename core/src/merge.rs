//! `merge`: the walk with the applying executor.

use std::path::Path;

use crate::error::Error;
use crate::fs::Fs;
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
    listings: Listings,
    on_action: &mut dyn FnMut(&Path, Action),
) -> Result<Report, Error> {
    let start = Some(fs.clock(target));
    let apply = walk(
        fs,
        stage,
        target,
        opts,
        listings,
        start,
        Apply::new(on_action),
    )?;
    Ok(apply.report)
}
