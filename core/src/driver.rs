//! A merge with its records, from the first read to the last write: the
//! one sequence every front end runs (the native binary and the sandboxed
//! guest), so that a record is read, journaled and written the same way
//! wherever the merge runs.
//!
//! 1. [`Driver::prepare`] stamps the merge's start on TARGET's clock, then
//!    reads the directory of records (its owners, and a watch for merges
//!    that begin later), the merge's own records and their journals, and
//!    scans STAGE. Nothing is written yet.
//! 2. [`Driver::journal`] writes the journals (after STAGE is durable, for
//!    a front end that syncs).
//! 3. [`Driver::merge`] merges; a merge that could do nothing removes the
//!    journals it wrote.
//! 4. [`Driver::finish`] writes the records and removes their journals,
//!    then sweeps from the clobber store the package's superseded versions
//!    no record lists any more.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Error;
use crate::fs::{Fs, Stamp};
use crate::merge::merge_since;
use crate::options::Options;
use crate::ownership::{Ownership, Version, store};
use crate::record::digests::Digests;
use crate::record::file::{self, Book, FileError, Reader, Recording};
use crate::record::{Record, scan};
use crate::report::Report;
use crate::step::Action;

/// The directory of the installed packages' records (`--manifest-dir`).
#[derive(Debug)]
pub struct RecordsDir<D> {
    /// The directory, open.
    pub dir: D,
    /// Its path as the user named it, for messages.
    pub shown: PathBuf,
    /// The names there of the records this merge writes (its own package's).
    pub own: Vec<OsString>,
    /// The policies that go with it (`--on-owned`, `--allow-overwrite`,
    /// `--protect`), with no owners yet.
    pub policies: Ownership,
}

/// What a merge reads and writes besides the two trees.
#[derive(Debug)]
pub struct Records<D> {
    /// The records the merge writes.
    pub books: Vec<Book<D>>,
    /// What they need to know of each staged entry.
    pub level: Record,
    /// The directory of records, if given.
    pub dir: Option<RecordsDir<D>>,
    /// The rules every record is read by.
    pub reader: Reader,
}

/// Why a merge with records stopped before it finished.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A record, journal or the directory of records.
    #[error(transparent)]
    Records(#[from] FileError),
    /// The merge (or the scan of STAGE) could do nothing.
    #[error("{rendered}")]
    Merge {
        /// The error with the roots as the user named them.
        rendered: String,
        /// The error.
        error: Error,
    },
}

/// A merge with its records, between its phases.
#[derive(Debug)]
pub struct Driver<'a, F: Fs> {
    fs: &'a F,
    stage: &'a F::Dir,
    target: &'a F::Dir,
    shown: (&'a Path, &'a Path),
    options: Options,
    start: Stamp,
    recording: Recording<F::Dir>,
    dir: Option<RecordsDir<F::Dir>>,
    reader: Reader,
}

impl<'a, F> Driver<'a, F>
where
    F: Fs + Clone + std::fmt::Debug + Send + Sync + 'static,
    F::Dir: std::fmt::Debug + Send + Sync + 'static,
{
    /// Stamps the start, reads every record and scans STAGE (`shown`: STAGE
    /// and TARGET as the user named them). Writes nothing.
    pub fn prepare(
        fs: &'a F,
        (stage, target): (&'a F::Dir, &'a F::Dir),
        shown: (&'a Path, &'a Path),
        options: Options,
        records: Records<F::Dir>,
    ) -> Result<Self, RunError> {
        // The start comes before the records are read: a file another
        // merge places after this stamp is its concurrent write (kept,
        // never replaced), and one placed before it had its journal written
        // first, so the records read below name its owner.
        let start = crate::merge::start(fs, target, records.dir.is_some());
        let mut options = options;
        let Records {
            books,
            level,
            dir,
            reader,
        } = records;
        if let Some(d) = &dir {
            let reading = std::time::Instant::now();
            let handle = fs
                .reopen_dir(&d.dir)
                .map_err(|e| FileError::io("open", "directory of records", d.shown.clone(), e))?;
            let (owners, late) =
                file::read_for_merge(fs.clone(), handle, d.shown.clone(), &d.own, &reader)?;
            log::debug!("read the directory of records in {:?}", reading.elapsed());
            options.ownership = Some(Arc::new(Ownership {
                owners,
                late: Some(Arc::new(late)),
                ..d.policies.clone()
            }));
        }
        let mut recording = Recording::open(fs, books, &reader)?;
        if recording.wants_scan() {
            // Through a handle of its own: a handle is listed once.
            let merge_error = |error: Error| RunError::Merge {
                rendered: error.render(shown.0, shown.1),
                error,
            };
            let own = fs.reopen_dir(stage).map_err(|e| {
                merge_error(Error::new(
                    crate::Op::ReadDir,
                    crate::Side::Stage,
                    PathBuf::new(),
                    e,
                ))
            })?;
            let mut scanned = scan(fs, level, own).map_err(merge_error)?;
            if let Some(d) = scanned.digests.take() {
                hash_all(fs, &d, &mut scanned.owned).map_err(merge_error)?;
            }
            recording.staged(scanned);
        }
        if options.ownership.is_none() {
            options.earlier = recording.earlier().map(Arc::new);
        }
        Ok(Driver {
            fs,
            stage,
            target,
            shown,
            options,
            start,
            recording,
            dir,
            reader,
        })
    }

    /// The options the merge runs with (the records read in).
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Journals, durably, what the merge is about to place.
    pub fn journal(&mut self) -> Result<(), RunError> {
        Ok(self.recording.journal(self.fs)?)
    }

    /// Merges, with `on_action` called per entry examined. An error (the
    /// merge could do nothing) removes the journals this run wrote.
    pub fn merge(&mut self, on_action: &mut dyn FnMut(&Path, Action)) -> Result<Report, RunError> {
        let listings = self.recording.listings();
        match merge_since(
            self.fs,
            self.stage,
            self.target,
            &self.options,
            listings,
            self.start,
            on_action,
        ) {
            Ok(r) => Ok(r),
            Err(error) => {
                let rendered = error.render(self.shown.0, self.shown.1);
                self.recording.abandon(self.fs)?;
                Err(RunError::Merge { rendered, error })
            }
        }
    }

    /// Writes the records from `report` and sweeps the clobber store.
    /// Returns notes for the user: paths a record format cannot hold, and
    /// store versions that could not be swept (they stay until the path's
    /// next prune; nothing is lost).
    pub fn finish(self, report: &Report) -> Result<Vec<String>, RunError> {
        let (mut notes, superseded) =
            self.recording
                .finish(self.fs, self.target, report, self.shown.1)?;
        if let Some(d) = &self.dir {
            notes.extend(sweep(
                self.fs,
                self.target,
                self.shown.1,
                d,
                &self.reader,
                &superseded,
            ));
        }
        Ok(notes)
    }
}

/// Hashes the staged files of `d` on every core (worker threads and this
/// one; this one alone where no thread can be started, as under WASI) and
/// gives each file of `owned` its size, mode and digest, before the journal
/// is written and anything moves: the journal then holds the package's
/// digests, which a rerun after a kill needs for the files the killed run
/// moved. A file that cannot be read stops the merge before anything moves.
fn hash_all<F>(fs: &F, d: &Digests<F::Dir>, owned: &mut [crate::Owned]) -> Result<(), Error>
where
    F: Fs + Sync,
    F::Dir: Send + Sync,
{
    d.hash_on_every_core(fs);
    d.fill(fs, owned)
        .map_err(|(path, e)| Error::new(crate::Op::Read, crate::Side::Stage, path, e))
}

/// After the record is written: removes from the clobber store the
/// versions of `superseded` paths (the package's own from before this
/// merge) that no record lists now. A concurrent merge that read the
/// earlier record may have kept one for this package while it ran; it does
/// so under the path's lock and only while the record still lists it, and
/// the record was rewritten before this, so nothing is kept for it after.
fn sweep<F: Fs>(
    fs: &F,
    target: &F::Dir,
    shown: &Path,
    d: &RecordsDir<F::Dir>,
    reader: &Reader,
    superseded: &[PathBuf],
) -> Vec<String> {
    let mut notes = Vec::new();
    if superseded.is_empty() || fs.stat_at(target, store::ROOT.as_ref()).is_err() {
        return notes;
    }
    for path in superseded {
        // The records are read under the path's lock: nothing is kept for
        // this path meanwhile, and a merge that keeps one after checks
        // that its lister's record (this one, rewritten) still lists it.
        let needed = || -> std::io::Result<store::Needed> {
            let now = file::index::read(fs, &d.dir, &d.shown, None, &d.own, reader)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            let claims = now.claims(path);
            Ok(Box::new(move |v: &Version| {
                claims.unknown || claims.versions.contains(v)
            }))
        };
        if let Err(e) = store::sweep(fs, target, path, &needed) {
            notes.push(format!(
                "prune the clobber store of {}: {e}",
                crate::rel::under(shown, path).display()
            ));
        }
    }
    notes
}
