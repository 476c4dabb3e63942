//! Installation records on disk: where they and their journals lie, how
//! they are written durably (`durable.rs`) with a journal first
//! (`journal.rs`, `recording.rs`), read with bounds (`read.rs`), and a
//! directory of them indexed (`owners.rs`). The formats themselves (every
//! writer, and the one validating reader) are the core's:
//! `stagemerge_core::record::{write, read}`.

pub(crate) mod durable;
pub(crate) mod journal;
pub(crate) mod owners;
mod read;
mod recording;

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
