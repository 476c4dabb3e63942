//! The bytes of each record format, written by the merge and read back by
//! [`super::read`]: what one writes the other reads, name for name.
//!
//! Every writer is lossless or says what it left out: a text manifest
//! cannot hold a name with a newline, Sage's record one that is not UTF-8;
//! those are left out and returned, never written as another name.

mod json;
mod sage;
#[cfg(test)]
mod tests;
mod text;

pub use json::{journal, manifest};
pub use sage::{SageHeader, sage, sage_lists_same};
pub use text::text;
