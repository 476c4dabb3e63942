//! One level of the walk: a staged directory and the TARGET directory its
//! children go into.

use std::ffi::OsString;

use crate::fs::{Entry, Meta};
use crate::handle::Handle;

use super::decide::How;

/// A staged directory being merged, with what its children inherit.
pub(crate) struct Frame<'a, D, E> {
    pub(crate) stage: Handle<'a, D>,
    /// TARGET's directory; `None` in a dry run below a directory the merge
    /// would create (everything there would be new).
    pub(crate) target: Option<Handle<'a, D>>,
    /// TARGET's directory as it was entered (`None` as for `target`).
    pub(crate) target_meta: Option<Meta>,
    /// Name of `stage` in its parent (empty for the root).
    pub(crate) name: OsString,
    pub(crate) entries: std::vec::IntoIter<Entry>,
    /// Where `target` is, as components below TARGET's root (symlinks
    /// resolved).
    pub(crate) phys: Vec<OsString>,
    /// How the children are merged.
    pub(crate) how: How,
    /// TARGET's directory did not exist when the merge first looked: another
    /// merge made it meanwhile, so everything in it is theirs.
    pub(crate) fresh: bool,
    /// TARGET's directory changed after the merge started, not by it.
    pub(crate) hot: bool,
    /// The previous name looked up here was taken: look before placing.
    pub(crate) taken: bool,
    /// This merge has written into `target` (and said so in the walk's set).
    pub(crate) wrote: bool,
    /// Entries of `stage` that stay in STAGE.
    pub(crate) left: u64,
    /// What the executor keeps for this directory until it is left.
    pub(crate) extra: E,
}

impl<D, E> Frame<'_, D, E> {
    /// TARGET's directory. A merge always has one: only a dry run walks
    /// below directories that do not exist yet.
    pub(crate) fn target(&self) -> &D {
        self.target
            .as_ref()
            .expect("an applying walk enters only directories that exist")
            .get()
    }
}
