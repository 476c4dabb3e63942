//! Who lists what: the records of a directory of records (such as Sage's
//! `var/lib/sage/installed`), indexed by path.
//!
//! A record is a package's; its name is the record's file name. The front
//! end reads the records and adds each here once; the merge, the plan and
//! `uninstall` then ask, per path, which packages list it and which
//! version (digest) each recorded.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::classify::Known;
use crate::installed::Installed;
use crate::record::Content;

/// One package's record.
#[derive(Clone, Debug)]
pub struct Owner {
    /// The record's file name (Sage: `<package>-<version>`).
    pub name: String,
    /// The record being written by this merge (the package's own earlier
    /// record): its versions count as known, but it is not "another owner".
    pub own: bool,
    /// A journal of an interrupted merge of this package was found: the
    /// record may lack what that merge placed (its journal's entries are
    /// among `entries`).
    pub incomplete: bool,
    /// What the record (and its journal) lists.
    pub entries: Vec<Installed>,
}

impl Owner {
    /// The name, with `(install incomplete)` when a journal was found.
    pub fn label(&self) -> String {
        if self.incomplete {
            format!("{} (install incomplete)", self.name)
        } else {
            self.name.clone()
        }
    }
}

/// What identifies a version of a path: a regular file's SHA-256, or the
/// SHA-256 of a symlink's text after the bytes `symlink\0`.
pub type Version = [u8; 32];

/// The version of an entry whose content is `content`.
pub fn version(content: &Content) -> Version {
    match content {
        Content::File { sha256 } => *sha256,
        Content::Link { text } => {
            let mut h = Sha256::new();
            h.update(b"symlink\0");
            h.update(text.as_encoded_bytes());
            h.finalize().into()
        }
    }
}

/// The version a record lists for a path, when the record has digests.
pub fn version_of(entry: &Installed) -> Option<Version> {
    entry.detail.as_ref().map(|d| version(&d.content))
}

/// The records read, and for each recorded path which list it.
#[derive(Clone, Debug, Default)]
pub struct Owners {
    owners: Vec<Owner>,
    /// Per owner, the version of each entry (as [`version_of`] says, or as
    /// decoded where the entries travel without their details).
    versions: Vec<Vec<Option<Version>>>,
    /// Per path, by the hash of its bytes, the `(owner, entry)` listing it
    /// (paths whose hashes collide share a slot; lookups compare the
    /// paths). No path is copied: reading a directory of records is on
    /// every merge's path, and a map keyed by `PathBuf` (one allocation and
    /// one hash of every component per entry) was most of it.
    by_path: HashMap<u64, Vec<(u32, u32)>, foldhash::fast::RandomState>,
    /// Seeded per process: a record cannot choose paths that collide.
    hasher: foldhash::fast::RandomState,
}

/// What the records that list one path say of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    /// The other packages listing it (not the merge's own record), by name.
    pub others: Vec<String>,
    /// Every version a record (the own one included) says a package
    /// installed there.
    pub versions: Vec<Version>,
    /// Some record lists it without a digest: its version is unknown.
    pub unknown: bool,
}

impl Owners {
    /// Adds a package's record.
    pub fn add(&mut self, owner: Owner) {
        let versions = owner.entries.iter().map(version_of).collect();
        self.add_versioned(owner, versions);
    }

    /// Adds a package's record whose entries' versions are given (one per
    /// entry), not read from their details.
    pub fn add_versioned(&mut self, owner: Owner, versions: Vec<Option<Version>>) {
        assert_eq!(owner.entries.len(), versions.len(), "one version per entry");
        let i = u32::try_from(self.owners.len()).expect("fewer than 2^32 records");
        self.by_path.reserve(owner.entries.len());
        for (j, entry) in owner.entries.iter().enumerate() {
            let j = u32::try_from(j).expect("fewer than 2^32 entries in a record");
            self.by_path
                .entry(self.hasher.hash_one(key(&entry.path)))
                .or_default()
                .push((i, j));
        }
        self.owners.push(owner);
        self.versions.push(versions);
    }

    /// The version the `i`th owner's `j`th entry recorded.
    pub fn version(&self, i: usize, j: usize) -> Option<Version> {
        self.versions[i][j]
    }

    /// Every owner's entries with their versions, for encoding.
    pub fn versioned(&self) -> impl Iterator<Item = (&Owner, &[Option<Version>])> {
        self.owners
            .iter()
            .zip(self.versions.iter().map(Vec::as_slice))
    }

    /// The records that list `path`, each with its entry for it.
    pub fn of(&self, path: &Path) -> impl Iterator<Item = (&Owner, &Installed)> {
        self.slots(path)
            .map(|(i, j)| (&self.owners[i], &self.owners[i].entries[j]))
    }

    /// The `(owner, entry)` pairs listing `path`.
    fn slots(&self, path: &Path) -> impl Iterator<Item = (usize, usize)> {
        let want = key(path);
        self.by_path
            .get(&self.hasher.hash_one(want))
            .into_iter()
            .flatten()
            .map(|&(i, j)| (i as usize, j as usize))
            .filter(move |&(i, j)| key(&self.owners[i].entries[j].path) == want)
    }

    /// Whether any record lists `path`.
    pub fn lists(&self, path: &Path) -> bool {
        self.slots(path).next().is_some()
    }

    /// What the records say of `path`.
    pub fn claims(&self, path: &Path) -> Claims {
        let mut c = Claims::default();
        for (i, j) in self.slots(path) {
            let owner = &self.owners[i];
            if !owner.own && !c.others.contains(&owner.name) {
                c.others.push(owner.name.clone());
            }
            // A lost entry's digest is the package's own version, which it
            // still needs back when the visible one goes.
            match self.versions[i][j] {
                Some(v) if !c.versions.contains(&v) => c.versions.push(v),
                Some(_) => {}
                None => c.unknown = true,
            }
        }
        c
    }

    /// The versions the records other than the merge's own list for
    /// `path` (`None`: listed without a digest).
    pub fn others_versions(&self, path: &Path) -> impl Iterator<Item = Option<Version>> {
        self.slots(path)
            .filter(|&(i, _)| !self.owners[i].own)
            .map(|(i, j)| self.versions[i][j])
    }

    /// The packages other than the merge's own whose records list version
    /// `v` of `path`.
    pub fn listing(&self, path: &Path, v: &Version) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (i, j) in self.slots(path) {
            let o = &self.owners[i];
            if !o.own && self.versions[i][j].as_ref() == Some(v) && !names.contains(&o.name) {
                names.push(o.name.clone());
            }
        }
        names
    }

    /// What the records say of TARGET's version `v` of `path` (`None`: not
    /// a file or symlink), for the concurrency rule
    /// ([`crate::classify::peer_write`]).
    pub fn known(&self, path: &Path, v: Option<&Version>) -> Known {
        let mut own_path = false;
        for (i, j) in self.slots(path) {
            if !self.owners[i].own {
                continue;
            }
            match self.versions[i][j] {
                Some(r) if v == Some(&r) => return Known::OwnVersion,
                None => own_path = true,
                Some(_) => {}
            }
        }
        if own_path {
            Known::OwnPath
        } else {
            Known::Other
        }
    }

    /// The packages read, in the order they were added.
    pub fn owners(&self) -> &[Owner] {
        &self.owners
    }

    /// How many records were read.
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    /// Whether no record was read.
    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }
}

/// The bytes a path is indexed by.
fn key(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}
