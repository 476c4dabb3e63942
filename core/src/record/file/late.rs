//! The records and journals that appear in a directory of records after a
//! merge read it: merges that began later ([`LateOwners`]).

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::index::{self, Noted, Seen};
use super::{FileError, Reader, installed_from, is_journal, is_temp, journal_name, owned_from};
use crate::fs::{Fs, Stamp};
use crate::ownership::{LateOwners, Owners, Version, version_of};

/// Reads the records of `dir` (shown as `shown`) for a merge that writes
/// the records named `own` there, and returns a [`Late`] that finds the
/// merges that begin after this read.
pub fn read_for_merge<F>(
    fs: F,
    dir: F::Dir,
    shown: PathBuf,
    own: &[OsString],
    reader: &Reader,
) -> Result<(Owners, Late<F>), FileError>
where
    F: Fs,
{
    let (owners, Noted { mut names, seen }) =
        index::read_noting(&fs, &dir, &shown, None, own, reader)?;
    // The merge's own records and journals are not another merge's.
    for name in own {
        names.insert(name.clone());
        names.insert(journal_name(name));
    }
    // On a client that caches what it saw (sshfs, FUSE, NFS), the
    // directory's modification time cannot say whether a record came, and
    // a record's `stat` cannot say whether it was rewritten: there every
    // question is asked of a fresh listing and a fresh read.
    let fresh = fs.caches_views(&dir);
    let late = Late {
        fresh,
        fs,
        dir,
        shown,
        known: names,
        seen,
        read: Mutex::new(LateRead::default()),
        reader: reader.clone(),
    };
    Ok((owners, late))
}

/// The records and journals that appeared in the directory after a merge
/// read it. Each is read once, when a merge first meets a file whose
/// version no record it read lists; the directory is listed again only
/// when its modification time changed.
#[derive(Debug)]
pub struct Late<F: Fs> {
    /// Whether the directory is on a client whose cached attributes cannot
    /// be trusted ([`Fs::caches_views`]): list and read afresh every time.
    fresh: bool,
    fs: F,
    dir: F::Dir,
    shown: PathBuf,
    known: HashSet<OsString>,
    /// The records read at the start, as they were then.
    seen: HashMap<String, Seen>,
    read: Mutex<LateRead>,
    /// Reads what appears with the same rules as the records read first.
    reader: Reader,
}

/// What [`Late`] has read.
#[derive(Debug, Default)]
struct LateRead {
    /// The directory's modification time when it was last listed.
    listed_at: Option<Stamp>,
    /// What each late file lists (empty for one that vanished or could not
    /// be read: a late merge's record is checked by that merge).
    lists: HashMap<OsString, HashMap<PathBuf, Vec<Option<Version>>>>,
}

impl<F: Fs> Late<F> {
    fn listed(&self, name: &OsStr) -> HashMap<PathBuf, Vec<Option<Version>>> {
        let shown = self.shown.join(name);
        let listed: Vec<crate::Installed> = if is_journal(name) {
            self.reader
                .journal(&self.fs, &self.dir, name, &shown)
                .ok()
                .flatten()
                .map(|p| {
                    p.entries
                        .into_iter()
                        .map(|i| installed_from(owned_from(i)))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            self.reader
                .record(&self.fs, &self.dir, name, &shown)
                .ok()
                .flatten()
                .map(|p| p.entries)
                .unwrap_or_default()
        };
        let mut by_path: HashMap<PathBuf, Vec<Option<Version>>> = HashMap::new();
        for i in listed {
            let v = version_of(&i);
            by_path.entry(i.path).or_default().push(v);
        }
        by_path
    }
}

impl<F> LateOwners for Late<F>
where
    F: Fs + std::fmt::Debug + Send + Sync,
    F::Dir: std::fmt::Debug + Send + Sync,
{
    fn lists(&self, path: &Path) -> bool {
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        // Listed again only when it changed (a record or journal came or
        // went): a merge asks for every file it meets.
        let changed = if self.fresh {
            None
        } else {
            self.fs.stat_dir(&self.dir).ok().and_then(|m| m.mtime)
        };
        if changed.is_none() || changed != read.listed_at {
            read.listed_at = changed;
            // After this merge saw the file it asks about: a journal
            // written before that file was placed is in this listing.
            let listing = if self.fresh {
                super::listing::list_fresh(&self.fs, &self.dir)
            } else {
                self.fs
                    .reopen_dir(&self.dir)
                    .and_then(|d| self.fs.read_dir(&d))
            };
            if let Ok(entries) = listing {
                for e in entries {
                    let name = e.name;
                    if self.known.contains(&name)
                        || read.lists.contains_key(&name)
                        || (is_temp(&name) && !is_journal(&name))
                    {
                        continue;
                    }
                    let listed = self.listed(&name);
                    read.lists.insert(name, listed);
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
        if !self.fresh && Seen::now(&self.fs, &self.dir, &seen.record) == seen.state {
            return None;
        }
        let journal = journal_name(&seen.record);
        let journal = self
            .fs
            .stat_at(&self.dir, &journal)
            .is_ok()
            .then_some(journal);
        Some(
            match index::read_owner(
                &self.fs,
                &self.dir,
                &self.shown,
                &seen.record,
                journal.as_deref(),
                false,
                &self.reader,
            ) {
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
