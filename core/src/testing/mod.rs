//! Test support: an in-memory filesystem, so the engine's own tests run the
//! same on every target, `wasm32-wasip1` included.

pub(crate) mod memfs;
