//! A directory handle that is either one of the two roots (borrowed from the
//! caller) or opened by the merge (owned), so the walk never needs to clone a
//! handle (WASI cannot).

/// A borrowed root or an owned directory.
#[derive(Debug)]
pub(crate) enum Handle<'a, D> {
    Borrowed(&'a D),
    Owned(D),
    /// A handle the scan of STAGE kept, shared with the digests' workers.
    Shared(std::sync::Arc<D>),
}

impl<D> Handle<'_, D> {
    pub(crate) fn get(&self) -> &D {
        match self {
            Handle::Borrowed(d) => d,
            Handle::Owned(d) => d,
            Handle::Shared(d) => d,
        }
    }
}
