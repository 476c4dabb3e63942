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

// Read by the Linux side only (its mount table); elsewhere no lock is
// judged and the classifier is unused.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) mod lock_reach;
mod temps;

pub use family::NativeFs;
pub(crate) use family::{
    TargetLock, denied_writing, lock_dir, lock_reach, name_from_bytes, open_root, raise_open_files,
    sync_filesystem, system_description,
};
