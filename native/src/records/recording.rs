//! The records one merge writes, from before its first rename to after its
//! last: a rerun after any kill writes what an uninterrupted run would have.
//!
//! 1. [`Recording::prepare`] reads each record asked for and its journal,
//!    and lists STAGE (nothing written yet; a broken record stops the merge
//!    before anything moves).
//! 2. [`Recording::journal`] writes, durably, the journal of each record:
//!    what STAGE holds, plus what an interrupted earlier run journaled.
//! 3. The merge runs.
//! 4. [`Recording::finish`] settles what the package owns (the staged
//!    entries by the merge's outcome; journaled and previously recorded
//!    ones that TARGET still has), writes each record durably (unless it
//!    already says exactly that), and removes its journal.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use cap_std::fs::Dir;
use stagemerge_core::ownership::{Owner, Owners, Version, version};
use stagemerge_core::record::{Listings, Scan, scan, settle, write};
use stagemerge_core::{Installed, Owned, Report};

use super::{Reader, durable, journal, owned_from};
use crate::cli::ManifestFormat;
use crate::config::{MergeConfig, SageRecord};
use crate::shim::{NativeFs, open_root};

/// How a record is written.
#[derive(Clone, Copy)]
enum Format<'c> {
    Text,
    Json,
    Sage(&'c SageRecord),
}

/// One record of the merge.
struct Book<'c> {
    path: &'c Path,
    format: Format<'c>,
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

impl<'c> Book<'c> {
    fn open(path: &'c Path, format: Format<'c>, reader: &Reader) -> Result<Self> {
        let before = match path.symlink_metadata() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            _ => Some(super::load(path, "record")?),
        };
        let listed = match &before {
            Some(bytes) => {
                let parsed = reader.bytes(path, bytes, "record").and_then(|p| {
                    if p.format == stagemerge_core::record::read::Format::Journal {
                        bail!(
                            "record {}: a journal of a merge, not a record",
                            path.display()
                        );
                    }
                    Ok(p.entries)
                });
                parsed.map_err(|e| {
                    anyhow!(
                        "{e:#}: the merge adds to the record at this path and cannot read it; \
                         nothing was merged (move the file away to start a new record)"
                    )
                })?
            }
            None => Vec::new(),
        };
        let journaled = journal::read(path, reader)?;
        let has_journal = journaled.is_some();
        let journaled = journaled.unwrap_or_default();
        let mut carried = journaled.clone();
        carried.extend(listed.into_iter().map(owned_from));
        Ok(Book {
            path,
            format,
            before,
            carried,
            journaled,
            has_journal,
            found_journal: has_journal,
        })
    }
}

/// The records a merge writes (none when no record option was given).
pub(crate) struct Recording<'c> {
    cfg: &'c MergeConfig,
    books: Vec<Book<'c>>,
    /// What STAGE holds, as `scan` listed it before the merge.
    staged: Vec<Owned>,
    /// STAGE's directory listings, for the merge.
    listings: Option<Listings>,
}

impl<'c> Recording<'c> {
    /// Reads the records asked for and their journals, and lists STAGE
    /// through a handle of its own (a handle is listed once). Writes
    /// nothing.
    pub(crate) fn prepare(cfg: &'c MergeConfig, fs: &NativeFs) -> Result<Self> {
        let mut books = Vec::new();
        if let Some((path, format)) = &cfg.manifest {
            let format = match format {
                ManifestFormat::Text => Format::Text,
                ManifestFormat::Json => Format::Json,
            };
            books.push(Book::open(path, format, &cfg.reader)?);
        }
        if let Some(r) = &cfg.sage_record {
            books.push(Book::open(&r.path, Format::Sage(r), &cfg.reader)?);
        }
        let scanned = if books.is_empty() {
            Scan::default()
        } else {
            let stage = open_root(&cfg.stage, "STAGE")?;
            scan(fs, cfg.record, &stage).map_err(|e| anyhow!(e.render(&cfg.stage, &cfg.target)))?
        };
        Ok(Recording {
            cfg,
            books,
            staged: scanned.owned,
            listings: Some(scanned.listings),
        })
    }

    /// The package's own earlier records and journals as one owner (`None`
    /// when no record is written or none lists anything yet), so the
    /// concurrency rule can tell its earlier version from a peer's write.
    pub(crate) fn earlier(&self) -> Option<Owners> {
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
    pub(crate) fn listings(&mut self) -> Listings {
        self.listings.take().unwrap_or_default()
    }

    /// Journals, durably, what the merge is about to place: call after
    /// STAGE's data is durable (with `--sync`) and before the merge moves
    /// anything. With nothing staged there is nothing to journal.
    pub(crate) fn journal(&mut self) -> Result<()> {
        if self.staged.is_empty() {
            return Ok(());
        }
        for b in &mut self.books {
            if b.journaled.is_empty() {
                journal::write(b.path, &self.staged)?;
            } else {
                // A rerun can be killed too: keep what the first run journaled.
                let mut all: BTreeMap<&[u8], &Owned> = BTreeMap::new();
                for o in b.journaled.iter().chain(&self.staged) {
                    all.insert(o.path.as_os_str().as_encoded_bytes(), o);
                }
                let list: Vec<Owned> = all.into_values().cloned().collect();
                journal::write(b.path, &list)?;
            }
            b.has_journal = true;
        }
        Ok(())
    }

    /// The merge did nothing at all (its roots could not be examined):
    /// removes the journals this run wrote, so no install looks
    /// interrupted. A journal an earlier run left stays.
    pub(crate) fn abandon(self) -> Result<()> {
        for b in self.books {
            if b.has_journal && !b.found_journal {
                journal::remove(b.path)?;
            }
        }
        Ok(())
    }

    /// Writes each record from the merge's outcome, durably, then removes
    /// its journal. Returns warnings about paths a format cannot hold, and
    /// the paths whose version the earlier record (or journal) listed and
    /// the new one does not (an upgrade's superseded versions).
    pub(crate) fn finish(
        self,
        fs: &NativeFs,
        target: &Dir,
        report: &Report,
    ) -> Result<(Vec<String>, Vec<PathBuf>)> {
        let mut notes = Vec::new();
        let mut superseded = Vec::new();
        let mut staged = Some(self.staged);
        let last = self.books.len().saturating_sub(1);
        for (i, b) in self.books.into_iter().enumerate() {
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
            let owned = settle(fs, target, list, b.carried, report);
            let now: HashMap<&Path, Option<Version>> = owned
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
            let (bytes, unchanged) = match b.format {
                Format::Json => {
                    let bytes = write::manifest(&owned);
                    let same = b.before.as_deref() == Some(&bytes[..]);
                    (bytes, same)
                }
                Format::Text => {
                    let (bytes, skipped) = write::text(&owned);
                    for (p, why) in skipped {
                        notes.push(format!(
                            "{} {why}: left out of the text manifest {} \
                             (use --manifest-format json)",
                            stagemerge_core::rel::under(&self.cfg.target, &p).display(),
                            b.path.display()
                        ));
                    }
                    let same = b.before.as_deref() == Some(&bytes[..]);
                    (bytes, same)
                }
                Format::Sage(r) => {
                    let (bytes, lossy) = write::sage(&r.header(), &owned);
                    for p in lossy {
                        notes.push(format!(
                            "{} is not UTF-8: left out of Sage's record {}, which holds names \
                             as strings (use --manifest-format json for a lossless record)",
                            stagemerge_core::rel::under(&self.cfg.target, &p).display(),
                            b.path.display()
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
                durable::write(b.path, &bytes)?;
            }
            if b.has_journal {
                journal::remove(b.path)?;
            }
        }
        Ok((notes, superseded))
    }
}
