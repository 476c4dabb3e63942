//! The platform, chosen once: everything else in the binary uses what this
//! module re-exports and never looks at `cfg`.
//!
//! `unix/` implements the primitives with rustix on cap-std directory
//! handles (with a file per OS for what differs), `windows/` with cap-std
//! and the Win32 no-replace move.

#[cfg(unix)]
#[path = "unix/mod.rs"]
mod family;

#[cfg(windows)]
#[path = "windows/mod.rs"]
mod family;

mod temps;

pub use family::NativeFs;
pub(crate) use family::{
    TargetLock, denied_writing, lock_dir, name_from_bytes, open_root, raise_open_files,
    sync_filesystem, system_description,
};
