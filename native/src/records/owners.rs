//! Who lists what: every record in a directory of records (`--manifest-dir`,
//! such as Sage's `var/lib/sage/installed`), read once.
//!
//! A record is a package's; its name is the record's file name (Sage names
//! them `<package>-<version>`). The journal of an interrupted merge counts
//! for the record it belongs to: that merge may have placed what it lists,
//! and the package needs those files as much as its recorded ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use stagemerge_core::Installed;
use stagemerge_core::ownership::{Owner, Owners};

use super::journal;

/// Reads every record in `dir`, leaving out `skip` (a record and its
/// journal; the package being uninstalled) and marking `own` (the record
/// a merge writes: its versions count as known, but it is not another
/// owner). A file that is not a record in one of the three formats is an
/// error naming it, never skipped: an owner left out could lose its files.
pub(crate) fn read(dir: &Path, skip: Option<&Path>, own: &[&Path]) -> Result<Owners> {
    let skip = match skip {
        Some(p) => Some(
            p.canonicalize()
                .with_context(|| format!("resolve {}", p.display()))?,
        ),
        None => None,
    };
    // The own record may not exist yet (a first install): resolve its
    // directory.
    let own: Vec<PathBuf> = own.iter().filter_map(|p| resolved_name(p)).collect();
    // Resolved once, so that a record's path compares with `skip`.
    let dir = dir
        .canonicalize()
        .with_context(|| format!("resolve {}", dir.display()))?;
    // Each record with its journal, if any; one owner for both, in name
    // order so that what is printed is stable.
    let mut found: BTreeMap<PathBuf, Option<PathBuf>> = BTreeMap::new();
    let entries =
        std::fs::read_dir(&dir).with_context(|| format!("read directory {}", dir.display()))?;
    for e in entries {
        let e = e.with_context(|| format!("read directory {}", dir.display()))?;
        let kind = e
            .file_type()
            .with_context(|| format!("stat {}", e.path().display()))?;
        if !kind.is_file() {
            continue;
        }
        let (name, path) = (e.file_name(), e.path());
        if journal::is_journal(&name) {
            let record = journal::record_of(&path).unwrap_or_else(|| path.clone());
            found.insert(record, Some(path));
        } else if !super::is_auxiliary(&name) {
            found.entry(path).or_insert(None);
        }
    }
    let mut owners = Owners::default();
    for (record, journal) in found {
        if skip.as_ref() != Some(&record) {
            let is_own = own.contains(&record);
            owners.add(read_owner(&record, journal.as_deref(), is_own)?);
        }
    }
    Ok(owners)
}

/// `path` with its directory resolved (the file itself need not exist).
fn resolved_name(path: &Path) -> Option<PathBuf> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return None;
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    parent.canonicalize().ok().map(|p| p.join(name))
}

/// A record (if there: an interrupted first install has only its journal)
/// and its journal, if any.
fn read_owner(record: &Path, journal_file: Option<&Path>, own: bool) -> Result<Owner> {
    let mut entries = if record.symlink_metadata().is_ok() {
        super::read(record)?
    } else {
        Vec::new()
    };
    if let Some(file) = journal_file {
        let listed = journal::read_file(file)?;
        entries.extend(listed.into_iter().map(|o| Installed {
            path: o.path,
            kind: Some(o.kind),
            detail: o.detail,
            state: o.state,
        }));
    }
    let name = record
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Owner {
        name,
        own,
        incomplete: journal_file.is_some(),
        entries,
    })
}
