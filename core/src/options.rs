//! Settings of one merge, validated by the front end before the merge starts.

use std::sync::Arc;

use crate::ownership::{Owners, Ownership};

/// What to do when STAGE/p and TARGET/p are different non-directories.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnConflict {
    /// Replace TARGET/p atomically and warn (the default).
    #[default]
    Replace,
    /// Keep TARGET/p, leave the staged one in STAGE, and warn.
    Keep,
    /// Report a conflict: the merge exits with problems.
    Fail,
}

/// Settings of one merge.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Policy for different non-directories.
    pub on_conflict: OnConflict,
    /// Never use the platform's no-replace rename; place files by link +
    /// unlink and directories by mkdir + their children, as on filesystems
    /// that refuse the flag. Lets tests run the fallback on every filesystem.
    pub force_fallback: bool,
    /// Copy instead of moving: STAGE is left intact, each entry is written
    /// into its final directory and placed by the same rules.
    pub copy: bool,
    /// The installed packages' records and what to do with the files they
    /// own (`--manifest-dir`): when set, replacements name their owners,
    /// `--on-owned`, `--allow-overwrite` and `--protect` apply, and every
    /// version a merge makes invisible that a package still lists is kept
    /// in the clobber store.
    pub ownership: Option<Arc<Ownership>>,
    /// The package's own earlier record (and journal) where `ownership` is
    /// not given: with it, the concurrency rule tells the package's earlier
    /// version (which an upgrade replaces) from a peer's concurrent write.
    pub earlier: Option<Arc<Owners>>,
}
