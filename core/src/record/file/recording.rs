//! The records one merge writes, from before its first rename to after its
//! last: a rerun after any kill writes what an uninterrupted run would have.
//!
//! 1. [`Recording::open`] reads each record asked for and its journal
//!    (nothing written yet; a broken record stops the merge before
//!    anything moves); the caller then hands it the scan of STAGE
//!    ([`Recording::staged`]).
//! 2. [`Recording::journal`] writes, durably, the journal of each record:
//!    what STAGE holds, plus what an interrupted earlier run journaled.
//! 3. The merge runs.
//! 4. [`Recording::finish`] settles what the package owns (the staged
//!    entries by the merge's outcome; journaled and previously recorded
//!    ones that TARGET still has), writes each record durably (unless it
//!    already says exactly that), and removes its journal.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::{FileError, Place, Reader, durable, load, owned_from};
use crate::fs::Fs;
use crate::ownership::{Owner, Owners, Version, version};
use crate::record::write::{self, SageHeader};
use crate::record::{Listings, Scan, settle};
use crate::{Installed, Owned, Report};

/// How a record is written.
#[derive(Clone, Debug)]
pub enum WriteFormat {
    /// The text manifest: one path a line.
    Text,
    /// stagemerge's JSON manifest.
    Json,
    /// Sage's installation record, with these fields besides its files.
    Sage(SageHeader),
}

/// One record of a merge: where it lies, its format, and what it and its
/// journal held before the merge.
#[derive(Debug)]
pub struct Book<D> {
    place: Place<D>,
    format: WriteFormat,
    /// The record's bytes before the merge, if it existed.
    before: Option<Vec<u8>>,
    /// What an interrupted run journaled, then what the record listed.
    carried: Vec<Owned>,
    /// The journal's entries, to be kept in a rewritten journal.
    journaled: Vec<Owned>,
    /// A journal exists (found, or written by this run).
    has_journal: bool,
    /// The journal was found: an earlier run was interrupted.
    found_journal: bool,
}

impl<D> Book<D> {
    /// A record to write at `place` in `format`.
    pub fn new(place: Place<D>, format: WriteFormat) -> Self {
        Book {
            place,
            format,
            before: None,
            carried: Vec::new(),
            journaled: Vec::new(),
            has_journal: false,
            found_journal: false,
        }
    }

    /// Where the record lies.
    pub fn into_place(self) -> Place<D> {
        self.place
    }

    /// Reads what the record and its journal hold now.
    fn read<F: Fs<Dir = D>>(&mut self, fs: &F, reader: &Reader) -> Result<(), FileError> {
        let p = &self.place;
        let before = load::bytes(fs, &p.dir, &p.name, &p.shown, "record")
            .and_then(|b| match b {
                Some(bytes) => {
                    let listed = reader.record_bytes(&p.shown, &bytes)?.entries;
                    Ok((Some(bytes), listed))
                }
                None => Ok((None, Vec::new())),
            })
            .map_err(|e| FileError::Unreadable { inner: Box::new(e) })?;
        let journaled = reader.journal(fs, &p.dir, &p.journal_name(), &p.shown_journal())?;
        self.has_journal = journaled.is_some();
        self.found_journal = self.has_journal;
        self.journaled = journaled
            .map(|j| j.entries.into_iter().map(owned_from).collect())
            .unwrap_or_default();
        self.carried = self.journaled.clone();
        self.carried.extend(before.1.into_iter().map(owned_from));
        self.before = before.0;
        Ok(())
    }

    fn write_journal<F: Fs<Dir = D>>(&self, fs: &F, entries: &[Owned]) -> Result<(), FileError> {
        let p = &self.place;
        durable::write(
            fs,
            p,
            &p.journal_name(),
            &p.shown_journal(),
            &write::journal(entries),
        )
    }

    fn remove_journal<F: Fs<Dir = D>>(&self, fs: &F) -> Result<(), FileError> {
        let p = &self.place;
        durable::remove(fs, p, &p.journal_name(), &p.shown_journal())
    }
}

/// The records a merge writes (none when no record option was given).
#[derive(Debug)]
pub struct Recording<D> {
    books: Vec<Book<D>>,
    /// What STAGE holds, as the scan listed it before the merge.
    staged: Vec<Owned>,
    /// STAGE's directory listings, for the merge.
    listings: Option<Listings<D>>,
}

impl<D> Recording<D> {
    /// Reads the records of `books` and their journals. Writes nothing.
    pub fn open<F: Fs<Dir = D>>(
        fs: &F,
        mut books: Vec<Book<D>>,
        reader: &Reader,
    ) -> Result<Self, FileError> {
        for b in &mut books {
            b.read(fs, reader)?;
        }
        Ok(Recording {
            books,
            staged: Vec::new(),
            listings: None,
        })
    }

    /// Whether any record is written (and so STAGE must be scanned).
    pub fn wants_scan(&self) -> bool {
        !self.books.is_empty()
    }

    /// Takes the scan of STAGE, taken before anything moves.
    pub fn staged(&mut self, scan: Scan<D>) {
        self.staged = scan.owned;
        self.listings = Some(scan.listings);
    }

    /// The package's own earlier records and journals as one owner (`None`
    /// when no record is written or none lists anything yet), so the
    /// concurrency rule can tell its earlier version from a peer's write.
    pub fn earlier(&self) -> Option<Owners> {
        let entries: Vec<Installed> = self
            .books
            .iter()
            .flat_map(|b| &b.carried)
            .map(|o| Installed {
                path: o.path.clone(),
                kind: Some(o.kind),
                detail: o.detail.clone(),
                state: o.state,
            })
            .collect();
        if entries.is_empty() {
            return None;
        }
        let mut owners = Owners::default();
        owners.add(Owner {
            name: String::new(),
            own: true,
            incomplete: false,
            entries,
        });
        Some(owners)
    }

    /// STAGE's directory listings as the scan took them, for the merge (once).
    pub fn listings(&mut self) -> Listings<D> {
        self.listings.take().unwrap_or_default()
    }

    /// Journals, durably, what the merge is about to place: call after
    /// STAGE's data is durable (with `--sync`) and before the merge moves
    /// anything. With nothing staged there is nothing to journal.
    pub fn journal<F: Fs<Dir = D>>(&mut self, fs: &F) -> Result<(), FileError> {
        if self.staged.is_empty() {
            return Ok(());
        }
        for b in &mut self.books {
            if b.journaled.is_empty() {
                b.write_journal(fs, &self.staged)?;
            } else {
                // A rerun can be killed too: keep what the first run journaled.
                let mut all: BTreeMap<&[u8], &Owned> = BTreeMap::new();
                for o in b.journaled.iter().chain(&self.staged) {
                    all.insert(o.path.as_os_str().as_encoded_bytes(), o);
                }
                let list: Vec<Owned> = all.into_values().cloned().collect();
                b.write_journal(fs, &list)?;
            }
            b.has_journal = true;
        }
        Ok(())
    }

    /// The merge did nothing at all (its roots could not be examined):
    /// removes the journals this run wrote, so no install looks
    /// interrupted. A journal an earlier run left stays.
    pub fn abandon<F: Fs<Dir = D>>(&mut self, fs: &F) -> Result<(), FileError> {
        for b in std::mem::take(&mut self.books) {
            if b.has_journal && !b.found_journal {
                b.remove_journal(fs)?;
            }
        }
        Ok(())
    }

    /// Writes each record from the merge's outcome, durably, then removes
    /// its journal. Returns warnings about paths a format cannot hold
    /// (`target` is TARGET as shown in them), and the paths whose version
    /// the earlier record (or journal) listed and the new one does not (an
    /// upgrade's superseded versions).
    pub fn finish<F: Fs<Dir = D>>(
        self,
        fs: &F,
        target_dir: &D,
        report: &Report,
        target: &Path,
    ) -> Result<(Vec<String>, Vec<PathBuf>), FileError> {
        let mut notes = Vec::new();
        let mut superseded = Vec::new();
        let mut staged = Some(self.staged);
        let last = self.books.len().saturating_sub(1);
        for (i, mut b) in self.books.into_iter().enumerate() {
            // Each record but the last settles a copy of STAGE's list.
            let list = if i == last {
                staged.take().unwrap_or_default()
            } else {
                staged.clone().unwrap_or_default()
            };
            let earlier: Vec<(PathBuf, Option<Version>)> = b
                .carried
                .iter()
                .map(|o| {
                    (
                        o.path.clone(),
                        o.detail.as_ref().map(|d| version(&d.content)),
                    )
                })
                .collect();
            let owned = settle(fs, target_dir, list, std::mem::take(&mut b.carried), report);
            // Only an earlier record with digests can have superseded
            // versions: a first install, or one over a text or Sage record,
            // skips indexing every path (a tenth of what a text record
            // cost a merge of the corpus).
            if earlier.iter().any(|(_, v)| v.is_some()) {
                let now: HashMap<&Path, Option<Version>, foldhash::fast::RandomState> = owned
                    .iter()
                    .map(|o| {
                        let v = o.detail.as_ref().map(|d| version(&d.content));
                        (o.path.as_path(), v)
                    })
                    .collect();
                for (path, v) in earlier {
                    if v.is_some() && now.get(path.as_path()) != Some(&v) {
                        superseded.push(path);
                    }
                }
            }
            let shown = b.place.shown.display();
            let (bytes, unchanged) = match &b.format {
                WriteFormat::Json => {
                    let bytes = write::manifest(&owned);
                    let same = b.before.as_deref() == Some(&bytes[..]);
                    (bytes, same)
                }
                WriteFormat::Text => {
                    let (bytes, skipped) = write::text(&owned);
                    for (p, why) in skipped {
                        notes.push(format!(
                            "{} {why}: left out of the text manifest {shown} \
                             (use --manifest-format json)",
                            crate::rel::under(target, &p).display(),
                        ));
                    }
                    let same = b.before.as_deref() == Some(&bytes[..]);
                    (bytes, same)
                }
                WriteFormat::Sage(header) => {
                    let (bytes, lossy) = write::sage(header, &owned);
                    for p in lossy {
                        notes.push(format!(
                            "{} is not UTF-8: left out of Sage's record {shown}, which holds \
                             names as strings (use --manifest-format json for a lossless record)",
                            crate::rel::under(target, &p).display(),
                        ));
                    }
                    let same = b
                        .before
                        .as_deref()
                        .is_some_and(|old| write::sage_lists_same(old, &owned));
                    (bytes, same)
                }
            };
            // A record that already says this is left as it is (a retried
            // build step keeps its install date and bytes).
            if !unchanged {
                let p = &b.place;
                durable::write(fs, p, &p.name, &p.shown, &bytes)?;
            }
            if b.has_journal {
                b.remove_journal(fs)?;
            }
        }
        Ok((notes, superseded))
    }
}
