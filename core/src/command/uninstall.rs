//! `uninstall`: removes a package's recorded files, keeping what another
//! installed package lists, then the record itself.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::{CommandError, Output, RecordsAt, has_journal, incomplete, read_record};
use crate::fs::Fs;
use crate::installed::Status;
use crate::ownership::Owners;
use crate::record::file::{Place, Reader, durable, index, pip};
use crate::record::read::pip_site_of;
use crate::report::Severity;
use crate::uninstall::{Kept, UninstallReport};

/// How `uninstall` was asked to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UninstallFlags {
    /// Remove modified files too.
    pub force: bool,
    /// Leave the record in place once everything is removed.
    pub keep_record: bool,
    /// Print a JSON document on stdout.
    pub json: bool,
    /// Print only problems.
    pub quiet: bool,
}

/// What `uninstall` knows of the Python environments in TARGET.
#[derive(Clone, Copy, Debug, Default)]
pub struct PipSites<'a> {
    /// The record is pip's `RECORD` of a `.dist-info`: its path relative
    /// to TARGET. Its entries are relative to the site directory, the other
    /// distributions there are owners, and the RECORD itself is removed
    /// last (and its `.dist-info` with it), as any record is.
    pub record: Option<&'a Path>,
    /// Site directories whose distributions are owners: each TARGET-
    /// relative, with its path as the user named it.
    pub sites: &'a [(PathBuf, PathBuf)],
}

/// Uninstalls the package `record` lists from `target` (shown as
/// `shown`), keeping what another record in `records` or another
/// distribution of `pip`'s site directories lists, then removes the record
/// (unless `flags.keep_record`, a problem kept files, or another package
/// lists the record file itself). An interrupted install (its journal still
/// there) is refused whole.
#[allow(clippy::too_many_arguments)]
pub fn uninstall<F: Fs>(
    fs: &F,
    target: &F::Dir,
    shown: &Path,
    record: &Place<F::Dir>,
    records: Option<(RecordsAt<'_, F::Dir>, Option<&OsStr>)>,
    pip: PipSites<'_>,
    reader: &Reader,
    flags: UninstallFlags,
) -> Result<Output, CommandError> {
    // The record may lack files the interrupted merge moved: removing by it
    // would leave them behind, and a rerun of the merge fixes it.
    if has_journal(fs, record) {
        return Err(CommandError::Refused(format!(
            "{}; nothing was removed",
            incomplete(record)
        )));
    }
    let record_site = pip.record.and_then(pip_site_of);
    let files = read_record(fs, record, reader, pip.record)?;
    let mut others = match &records {
        Some((at, skip)) => index::read(fs, at.dir, at.shown, *skip, &[], reader)?,
        None => Owners::default(),
    };
    // The distributions this package is: the RECORD uninstalled, and those
    // its record lists.
    let mut mine = pip::claimed(&files);
    mine.extend(pip.record.map(Path::to_path_buf));
    let mut sites: Vec<(PathBuf, PathBuf)> = pip.sites.to_vec();
    if let Some(site) = record_site
        && !sites.iter().any(|(s, _)| s == site)
    {
        sites.push((site.to_owned(), shown.join(site)));
    }
    for (site, site_shown) in &sites {
        pip::add_owners(fs, target, site, site_shown, &mine, reader, &mut others)?;
    }
    // A RECORD lists itself; like any record it goes last, below. Its
    // digests are what pip wrote, but pip lets the last distribution that
    // writes a shared path win (a namespace package's `__init__.py` has as
    // many versions as distributions, and the one visible may be that of a
    // distribution uninstalled since): a digest that differs is no sign of
    // an edit, so a RECORD's files are removed by presence, as pip removes
    // them, once no other package lists them. `verify` still compares them.
    let files: Vec<_> = match pip.record {
        Some(own) => files
            .into_iter()
            .filter(|f| f.path != own)
            .map(|f| crate::Installed {
                kind: None,
                detail: None,
                ..f
            })
            .collect(),
        None => files,
    };
    let report = crate::uninstall(fs, target, &files, &others, flags.force, &reader.reserved);
    let clean = report.is_clean();
    // Last, and only when everything else was done: the record says what
    // is left to undo, so a rerun after a failure or a kill finishes the job.
    let mut after = None;
    let said = if !clean {
        "kept"
    } else if flags.keep_record {
        "left"
    } else if pip.record.is_some_and(|r| others.lists(r)) {
        // Another package's record lists this RECORD (Sage's record of the
        // wheel it staged): the distribution goes with that package.
        "shared"
    } else {
        durable::remove(fs, record, &record.name, &record.shown)?;
        if let Some(own) = pip.record {
            after = prune_dist_info(fs, target, own).err();
        }
        "removed"
    };
    let mut out = print(shown, &record.shown, &report, said, flags);
    if let Some(e) = after {
        out.say(
            Some(Severity::Warning),
            format!(
                "remove the directory {}: {e}",
                shown
                    .join(pip.record.and_then(Path::parent).unwrap_or(Path::new("")))
                    .display()
            ),
        );
    }
    out.exit = u8::from(!clean);
    Ok(out)
}

/// Removes the `.dist-info` directory of the RECORD `record` (TARGET-
/// relative) once the RECORD is gone, unless something else is still in it.
fn prune_dist_info<F: Fs>(fs: &F, target: &F::Dir, record: &Path) -> io::Result<()> {
    let Some(dist_info) = record.parent() else {
        return Ok(());
    };
    let (Some(name), Some(site)) = (dist_info.file_name(), dist_info.parent()) else {
        return Ok(());
    };
    let dir = pip::open_site(fs, target, site)?;
    match fs.remove_dir(&dir, name) {
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::DirectoryNotEmpty
            ) =>
        {
            Ok(())
        }
        r => r,
    }
}

/// What was kept and why, the summary, and the JSON document with `json`.
fn print(
    target: &Path,
    record: &Path,
    report: &UninstallReport,
    said: &str,
    flags: UninstallFlags,
) -> Output {
    let mut out = Output::default();
    let (mut n_shared, mut n_restored, mut n_modified, mut n_missing) = (0, 0, 0, 0);
    let (mut n_failed, mut n_deferred) = (0, 0);
    let mut listed = Vec::new();
    for (path, kept) in &report.kept {
        let Some((why, severity, line)) =
            describe(kept, &crate::rel::under(target, path).display())
        else {
            continue;
        };
        match why {
            "shared" => n_shared += 1,
            "restored" => n_restored += 1,
            "missing" => n_missing += 1,
            "modified" | "type-changed" => n_modified += 1,
            "error" => n_failed += 1,
            "deferred" => n_deferred += 1,
            _ => {}
        }
        // Built only when printed: an uninstall of millions of missing
        // files would otherwise hold a JSON value for each.
        if flags.json {
            listed.push(json!({"path": path.to_string_lossy(), "why": why, "message": line}));
        }
        if severity.is_some() || !flags.quiet {
            out.say(severity, line);
        }
    }
    if said == "shared" {
        out.say(
            None,
            format!(
                "kept the record {}: another installed package lists it",
                record.display()
            ),
        );
    }
    if said == "kept" {
        out.say(
            Some(Severity::Error),
            format!(
                "the record {} is kept: run the uninstall again once the problems above are fixed",
                record.display()
            ),
        );
    }
    if !flags.quiet {
        out.say(
            None,
            format!(
                "uninstall {} from {}: {} removed, {} directories pruned{}, {} shared kept, {} \
                 restored, {} modified kept, {} already gone, {} failed; record {said}",
                record.display(),
                target.display(),
                report.removed,
                report.pruned,
                if n_deferred > 0 {
                    format!(" ({n_deferred} deferred: files still open)")
                } else {
                    String::new()
                },
                n_shared,
                n_restored,
                n_modified,
                n_missing,
                n_failed,
            ),
        );
    }
    if flags.json {
        let doc = json!({
            "format": "stagemerge-uninstall",
            "version": 1,
            "removed": report.removed,
            "pruned": report.pruned,
            "store_pruned": report.store_pruned,
            "record": said,
            "kept": listed,
        });
        let mut text = serde_json::to_string_pretty(&doc).expect("a JSON value serializes");
        text.push('\n');
        out.stdout = text;
    }
    out
}

/// A kept path (`shown` as the user named TARGET) as its JSON word, its
/// severity (`None`: a note) and its line; `None` for an intact one.
fn describe(
    kept: &Kept,
    shown: &dyn std::fmt::Display,
) -> Option<(&'static str, Option<Severity>, String)> {
    Some(match kept {
        Kept::Shared => (
            "shared",
            None,
            format!("kept {shown}: another installed package lists it too"),
        ),
        Kept::Restored { owners } => (
            "restored",
            None,
            format!(
                "restored {shown}: the version of {} is back from the clobber store",
                owners.join(", ")
            ),
        ),
        Kept::Status(Status::Missing) => ("missing", None, format!("{shown} was already gone")),
        Kept::Status(Status::Modified { what }) => (
            "modified",
            Some(Severity::Warning),
            format!(
                "kept {shown}: modified since it was installed ({}); --force removes it",
                what.join(", ")
            ),
        ),
        Kept::Status(Status::TypeChanged { recorded, found }) => (
            "type-changed",
            Some(Severity::Warning),
            format!(
                "kept {shown}: installed as a {}, now a {}",
                recorded.describe(),
                found.describe()
            ),
        ),
        Kept::Status(Status::Refused(why)) => (
            "refused",
            Some(Severity::Error),
            format!("refused {shown}: {why}"),
        ),
        Kept::Status(Status::Error(e)) => (
            "error",
            Some(Severity::Error),
            format!("look at {shown}: {e}"),
        ),
        Kept::Failed { undo, error } => (
            "error",
            Some(Severity::Error),
            format!("{} {shown}: {error}", undo.describe()),
        ),
        Kept::Deferred { held } => (
            "deferred",
            None,
            format!(
                "left {shown}: it holds only {}, removed files a program still has open \
                 through a network filesystem client (which removes them when it closes them)",
                held.iter()
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Kept::Status(Status::Intact | Status::Shadowed) => return None,
    })
}
