//! The platform, chosen once: everything else in the binary uses [`NativeFs`]
//! and never looks at `cfg`.
//!
//! `unix.rs` implements the primitives every Unix shares with rustix on
//! cap-std directory handles; the per-OS files supply the two that differ:
//! the no-replace rename and the filesystem clock.

#[cfg(target_os = "linux")]
#[path = "linux.rs"]
mod os;

#[cfg(target_os = "macos")]
#[path = "macos.rs"]
mod os;

#[cfg(all(unix, not(any(target_os = "linux", target_os = "macos"))))]
#[path = "other_unix.rs"]
mod os;

mod copy;
#[cfg(not(target_os = "linux"))]
mod portable;
mod unix;

pub(crate) use os::sync_filesystem;
pub(crate) use unix::NativeFs;
