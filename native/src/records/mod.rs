//! Installation records: stagemerge's manifests (text and JSON) and Sage's
//! installation record, written durably with a journal (see `journal.rs`
//! and `recording.rs`) and read back for `uninstall` and `verify`.
//!
//! JSON manifest (`--manifest-format json`):
//!
//! ```json
//! {"format": "stagemerge-manifest", "version": 1, "files": [
//!   {"path": "lib/libz.so.1.3", "kind": "file", "size": 104, "mode": "0755", "sha256": "…"},
//!   {"path": "lib/libz.so.1", "kind": "symlink", "size": 11, "target": "libz.so.1.3"},
//!   {"path": "lib/python3/ns/__init__.py", "kind": "file", "size": 0, "mode": "0644",
//!    "sha256": "…", "state": "lost"}]}
//! ```
//!
//! `"state": "lost"` marks a path the package staged whose visible version
//! is another package's (a concurrent merge placed its own first, or
//! `--on-conflict keep` kept TARGET's); size, mode and digest are the
//! package's own version.
//!
//! Names are bytes. A path (or link text) that is valid UTF-8 is a JSON
//! string (newlines and quotes escaped as JSON does); one that is not is
//! given as `path_hex` (or `target_hex`): its bytes in lowercase hex.
//! A text manifest has one path a line, raw bytes; a path containing a
//! newline cannot be written there (use JSON).

pub(crate) mod durable;
pub(crate) mod journal;
mod json;
pub(crate) mod owners;
mod read;
mod recording;
mod sage;
mod text;

use std::ffi::OsStr;
use std::path::Path;

use stagemerge_core::{Installed, Kind, Owned};

pub(crate) use read::{Reader, load, resolved};
pub(crate) use recording::Recording;

/// What to tell the user of a record whose journal is still there: a merge
/// that writes it was interrupted, and the record may lack what it moved.
pub(crate) fn incomplete(record: &Path) -> String {
    format!(
        "the install recorded in {} is incomplete: its journal {} is still there (a merge \
         was interrupted); run the same merge again to finish the record (an empty STAGE will do)",
        record.display(),
        journal::path(record).display()
    )
}

/// Whether a file named `name` in a directory of records is a journal or a
/// temporary of a record being written, not a record.
pub(crate) fn is_auxiliary(name: &OsStr) -> bool {
    journal::is_journal(name) || durable::is_temp(name)
}

/// A recorded entry as a merge carries it on: a record that does not say
/// the kind (text, Sage) lists files and symlinks alike, as a file.
fn owned_from(i: Installed) -> Owned {
    Owned {
        path: i.path,
        kind: i.kind.unwrap_or(Kind::File),
        detail: i.detail,
        state: i.state,
    }
}
