//! A dry run: what [`crate::merge`] would do with STAGE and TARGET as they
//! are now, computed by the same rules and changing nothing.
//!
//! The walk (`crate::walk`, with its dry-run executor) only opens, lists,
//! `lstat`s and reads, so it can run on handles that allow nothing else
//! (the read-only sandbox).

mod render;
#[cfg(test)]
mod tests;

pub use render::Totals;

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::fs::Fs;
use crate::options::Options;
use crate::ownership::Collided;
use crate::record::Listings;
pub use crate::step::Step;
use crate::walk::{DryRun, walk};

/// One line of a plan: a staged entry and what would happen to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The entry, relative to both roots.
    pub path: PathBuf,
    /// What would happen.
    pub step: Step,
    /// With ownership: whose different file the entry meets, for the
    /// collision report.
    pub collided: Option<Collided>,
}

/// A whole plan, in walk order (each directory's names sorted by bytes,
/// parents before children), which is stable for a given pair of trees.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Every staged entry the merge would examine.
    pub steps: Vec<Planned>,
}

impl Plan {
    /// True when the merge would report problems (conflicts or errors), which
    /// is when `stagemerge plan` exits 1.
    pub fn has_problems(&self) -> bool {
        self.steps
            .iter()
            .any(|p| matches!(p.step, Step::Conflict(_) | Step::Error { .. }))
    }
}

/// Plans the merge of `stage` into `target` by the rules of SPEC.md, without
/// changing either tree: the same walk and decisions as [`crate::merge`],
/// with an executor that only records each step. It predicts copy mode,
/// copying across filesystems (by the two sides' devices) and the forced
/// fallback; concurrency does not enter (a plan describes a merge that runs
/// alone).
///
/// Returns `Err` only where [`crate::merge`] would do nothing at all: a root
/// cannot be examined or listed, or both are the same directory.
pub fn plan<F: Fs>(fs: &F, stage: &F::Dir, target: &F::Dir, opts: &Options) -> Result<Plan, Error> {
    let dry = walk(
        fs,
        stage,
        target,
        opts,
        Listings::default(),
        None,
        DryRun::default(),
    )?;
    Ok(dry.plan)
}

/// The path of a planned step as the text form prints it.
pub fn display_path(path: &Path) -> String {
    crate::escape::escape(path.as_os_str().as_encoded_bytes())
}
