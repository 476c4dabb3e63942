//! Writing and removing records and journals so that a crash or a power cut
//! leaves each either absent or whole: data fsynced before the rename that
//! names it, the directory fsynced after (dpkg's order for its database).

use std::ffi::OsStr;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::shim::sync_dir;

/// Suffix of a record's temporary while it is written.
const TEMP_SUFFIX: &str = ".stagemerge-tmp";

/// The directory holding `path`.
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The temporary `path` is written to: a fixed hidden name beside it, so a
/// write killed half-way leaves one file that the next write of the same
/// record replaces (one record path belongs to one merge at a time).
fn temp_of(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or(OsStr::new("record")));
    name.push(TEMP_SUFFIX);
    parent(path).join(name)
}

/// Whether `name` is a temporary this module writes.
pub(super) fn is_temp(name: &OsStr) -> bool {
    name.as_encoded_bytes().ends_with(TEMP_SUFFIX.as_bytes())
}

/// Replaces `path` with `bytes`, durably: the bytes are on disk before the
/// rename gives them the name, and the rename is on disk when this returns.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_of(path);
    let mut f = File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("write {}", tmp.display()))?;
    f.sync_all()
        .with_context(|| format!("fsync {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path)
        .with_context(|| format!("rename {} to {}", tmp.display(), path.display()))?;
    sync_parent(path)
}

/// Removes `path` durably.
pub(crate) fn remove(path: &Path) -> Result<()> {
    std::fs::remove_file(path).with_context(|| format!("remove {}", path.display()))?;
    sync_parent(path)
}

fn sync_parent(path: &Path) -> Result<()> {
    let dir = parent(path);
    sync_dir(dir).with_context(|| format!("fsync directory {}", dir.display()))
}
