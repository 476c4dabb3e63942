//! Process limits the walk needs.

use rustix::process::{Resource, getrlimit, setrlimit};

/// The walk holds two directory handles per level of the tree, so a tree
/// deeper than PATH_MAX needs more descriptors than the usual soft limit of
/// 1024: raise the soft limit to the hard one. Failure only lowers the
/// depth that can be merged, so it is not an error.
pub(crate) fn raise_open_files() {
    let mut lim = getrlimit(Resource::Nofile);
    if lim.current != lim.maximum {
        lim.current = lim.maximum;
        let _ = setrlimit(Resource::Nofile, lim);
    }
}
