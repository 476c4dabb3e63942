//! Who lists what: every record in a directory of records (`--manifest-dir`,
//! such as Sage's `var/lib/sage/installed`), read once.
//!
//! A record is a package's; its name is the record's file name (Sage names
//! them `<package>-<version>`). The journal of an interrupted merge counts
//! for the record it belongs to: that merge may have placed what it lists,
//! and the package needs those files as much as its recorded ones.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use stagemerge_core::Installed;
use stagemerge_core::ownership::{LateOwners, Owner, Owners, Version, version_of};

use super::{Reader, journal};

/// Reads every record in `dir`, leaving out `skip` (a record and its
/// journal; the package being uninstalled) and marking `own` (the record
/// a merge writes: its versions count as known, but it is not another
/// owner). A file that is not a record in one of the three formats is an
/// error naming it, never skipped: an owner left out could lose its files.
pub(crate) fn read(
    dir: &Path,
    skip: Option<&Path>,
    own: &[&Path],
    reader: &Reader,
) -> Result<Owners> {
    Ok(read_noting(dir, skip, own, reader)?.0)
}

/// [`read`], and the names of the files the directory held then, for
/// [`Late`].
fn read_noting(
    dir: &Path,
    skip: Option<&Path>,
    own: &[&Path],
    reader: &Reader,
) -> Result<(Owners, HashSet<OsString>, HashMap<String, Seen>)> {
    let skip = match skip {
        Some(p) => Some(
            p.canonicalize()
                .with_context(|| format!("resolve {}", p.display()))?,
        ),
        None => None,
    };
    // The own record may not exist yet (a first install): resolve its
    // directory.
    let own: Vec<PathBuf> = own.iter().filter_map(|p| super::resolved(p)).collect();
    // Resolved once, so that a record's path compares with `skip`.
    let dir = dir
        .canonicalize()
        .with_context(|| format!("resolve {}", dir.display()))?;
    // Each record with its journal, if any; one owner for both, in name
    // order so that what is printed is stable.
    let mut found: BTreeMap<PathBuf, Option<PathBuf>> = BTreeMap::new();
    let mut names = HashSet::new();
    let entries =
        std::fs::read_dir(&dir).with_context(|| format!("read directory {}", dir.display()))?;
    for e in entries {
        let e = e.with_context(|| format!("read directory {}", dir.display()))?;
        let kind = e
            .file_type()
            .with_context(|| format!("stat {}", e.path().display()))?;
        let (name, path) = (e.file_name(), e.path());
        // Every entry is a record or an error: an owner skipped would lose
        // its files to another package's uninstall. A symlink is refused,
        // not followed: what it leads to may be another directory's record
        // or no record at all, and the owner's name would be the link's.
        if !kind.is_file() {
            if durable_temp(&name) {
                continue;
            }
            let what = if kind.is_symlink() {
                "a symlink (records are read only as regular files in the directory itself)"
            } else if kind.is_dir() {
                "a directory"
            } else {
                "not a regular file"
            };
            anyhow::bail!(
                "{} in the directory of records is {what}: every entry there must be a \
                 record; move it away",
                path.display()
            );
        }
        names.insert(name.clone());
        if journal::is_journal(&name) {
            let record = journal::record_of(&path).unwrap_or_else(|| path.clone());
            found.insert(record, Some(path));
        } else if !super::is_auxiliary(&name) {
            found.entry(path).or_insert(None);
        }
    }
    let mut owners = Owners::default();
    let mut seen = HashMap::new();
    for (record, journal) in found {
        if skip.as_ref() != Some(&record) {
            let is_own = own.contains(&record);
            // Stamped before the read: a change while it is read shows.
            let stamp = Seen::of(&record);
            if let Some(owner) = read_owner(&record, journal.as_deref(), is_own, reader)? {
                seen.insert(owner.name.clone(), stamp);
                owners.add(owner);
            }
        }
    }
    Ok((owners, names, seen))
}

/// A record as it was when read: its path and its file's and its journal's
/// size and modification time, so that a rewrite or removal since
/// shows without reading it again.
#[derive(Debug)]
pub(crate) struct Seen {
    record: PathBuf,
    state: [Option<(u64, Option<std::time::SystemTime>)>; 2],
}

impl Seen {
    fn of(record: &Path) -> Seen {
        Seen {
            record: record.to_owned(),
            state: Self::now(record),
        }
    }

    fn now(record: &Path) -> [Option<(u64, Option<std::time::SystemTime>)>; 2] {
        // Records are replaced by a rename of a new file: its size and
        // modification time (nanoseconds here) tell it from the old one.
        let sig = |p: &Path| {
            std::fs::symlink_metadata(p)
                .ok()
                .map(|m| (m.len(), m.modified().ok()))
        };
        [sig(record), sig(&journal::path(record))]
    }
}

/// The records of `dir` for a merge that writes `own`, and a [`Late`] that
/// finds the merges that begin after this read.
pub(crate) fn read_for_merge(dir: &Path, own: &[&Path], reader: &Reader) -> Result<(Owners, Late)> {
    let (owners, mut known, seen) = read_noting(dir, None, own, reader)?;
    // The merge's own record and journal are not another merge's.
    for p in own {
        if let Some(name) = p.file_name() {
            known.insert(name.to_owned());
            if let Some(j) = journal::path(p).file_name() {
                known.insert(j.to_owned());
            }
        }
    }
    let late = Late {
        handle: std::fs::File::open(dir).ok(),
        dir: dir.to_owned(),
        known,
        seen,
        read: Mutex::new(LateRead::default()),
        reader: reader.clone(),
    };
    Ok((owners, late))
}

/// The records and journals that appear in the directory after a merge
/// read it: merges that began later. Each is read once, when a merge
/// first meets a file whose version no record it read lists.
#[derive(Debug)]
pub(crate) struct Late {
    dir: PathBuf,
    /// The directory, open: its change is seen by one `fstat`, without a
    /// path lookup per file the merge meets.
    handle: Option<std::fs::File>,
    known: HashSet<OsString>,
    /// The records read at the start, as they were then.
    seen: HashMap<String, Seen>,
    read: Mutex<LateRead>,
    /// Reads what appears with the same rules as the records read first.
    reader: Reader,
}

impl LateOwners for Late {
    fn lists(&self, path: &Path) -> bool {
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        // The directory is listed again only when it changed (a record or
        // journal came or went): a merge asks for every file it meets.
        let changed = match &self.handle {
            Some(h) => h.metadata().and_then(|m| m.modified()).ok(),
            None => std::fs::metadata(&self.dir).and_then(|m| m.modified()).ok(),
        };
        if changed.is_none() || changed != read.listed_at {
            read.listed_at = changed;
            if let Ok(entries) = std::fs::read_dir(&self.dir) {
                for e in entries.flatten() {
                    let name = e.file_name();
                    if self.known.contains(&name)
                        || read.lists.contains_key(&name)
                        || durable_temp(&name)
                    {
                        continue;
                    }
                    let listed: Vec<Installed> = if journal::is_journal(&name) {
                        journal::read_file(&e.path(), &self.reader)
                            .map(|l| l.into_iter().map(installed).collect())
                            .unwrap_or_default()
                    } else {
                        self.reader
                            .record(&e.path())
                            .map(|p| p.entries)
                            .unwrap_or_default()
                    };
                    let mut by_path: HashMap<PathBuf, Vec<Option<Version>>> = HashMap::new();
                    for i in listed {
                        let v = version_of(&i);
                        by_path.entry(i.path).or_default().push(v);
                    }
                    read.lists.insert(name, by_path);
                }
            }
        }
        read.lists.values().any(|l| l.contains_key(path))
    }

    fn lists_version(&self, path: &Path, v: &Version) -> bool {
        // Brings the late files up to date.
        if !self.lists(path) {
            return false;
        }
        let read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        read.lists.values().any(|l| {
            l.get(path)
                .is_some_and(|vs| vs.iter().any(|r| r.is_none_or(|r| &r == v)))
        })
    }

    fn lists_now(&self, owner: &str, path: &Path, v: &Version) -> Option<bool> {
        let seen = self.seen.get(owner)?;
        if Seen::now(&seen.record) == seen.state {
            return None;
        }
        let journal = journal::path(&seen.record);
        let journal = journal.symlink_metadata().is_ok().then_some(journal);
        Some(
            match read_owner(&seen.record, journal.as_deref(), false, &self.reader) {
                Ok(Some(now)) => now
                    .entries
                    .iter()
                    .any(|e| e.path == path && version_of(e).is_none_or(|r| &r == v)),
                // Uninstalled (an uninstall runs alone, so not while this
                // merge runs; a record removed by hand).
                Ok(None) => false,
                Err(_) => true,
            },
        )
    }
}

/// What [`Late`] has read.
#[derive(Debug, Default)]
struct LateRead {
    /// The directory's modification time when it was last listed.
    listed_at: Option<std::time::SystemTime>,
    /// What each late file lists (empty for one that vanished or could not
    /// be read).
    lists: HashMap<OsString, HashMap<PathBuf, Vec<Option<Version>>>>,
}

/// A journal's entry as a record's.
fn installed(o: stagemerge_core::Owned) -> Installed {
    Installed {
        path: o.path,
        kind: Some(o.kind),
        detail: o.detail,
        state: o.state,
    }
}

fn durable_temp(name: &std::ffi::OsStr) -> bool {
    super::is_auxiliary(name) && !journal::is_journal(name)
}

/// A record (if there: an interrupted first install has only its journal)
/// and its journal, if any.
fn read_owner(
    record: &Path,
    journal_file: Option<&Path>,
    own: bool,
    reader: &Reader,
) -> Result<Option<Owner>> {
    // Other merges finish while this one reads: a journal is removed only
    // after its record is written whole, so a journal that is gone is read
    // as the record it became (hence the journal first), and a record
    // that is gone was uninstalled.
    let mut entries = Vec::new();
    let mut incomplete = false;
    if let Some(file) = journal_file {
        match journal::read_file(file, reader) {
            Ok(listed) => {
                incomplete = true;
                entries.extend(listed.into_iter().map(|o| Installed {
                    path: o.path,
                    kind: Some(o.kind),
                    detail: o.detail,
                    state: o.state,
                }));
            }
            Err(_) if file.symlink_metadata().is_err() => {}
            Err(e) => return Err(e),
        }
    }
    if record.symlink_metadata().is_ok() {
        match reader.record(record) {
            Ok(parsed) => entries.extend(parsed.entries),
            // Uninstalled while this read the directory.
            Err(_) if record.symlink_metadata().is_err() => {
                if !incomplete {
                    return Ok(None);
                }
            }
            Err(e) => return Err(e),
        }
    } else if !incomplete {
        return Ok(None);
    }
    let name = record
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Some(Owner {
        name,
        own,
        incomplete,
        entries,
    }))
}
