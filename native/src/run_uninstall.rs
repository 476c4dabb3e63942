//! `stagemerge uninstall`: removes a package's recorded files.

use std::io::Write;

use anyhow::Result;
use serde_json::json;
use stagemerge_core::{Kept, Severity, Status, UninstallReport, uninstall};

use crate::cli::UninstallArgs;
use crate::exit::Exit;
use crate::lifecycle::{self, Role};
use crate::output::Messages;
use crate::records::{self, Reader};
use crate::shim::NativeFs;
use crate::shim::open_root;
use stagemerge_core::ownership::Owners;
use stagemerge_core::record::file;

pub(crate) fn run(a: &UninstallArgs) -> Result<Exit> {
    let target = open_root(&a.target, "TARGET")?;
    // Alone in TARGET from before the records are read to after the record
    // is gone: no merge is between its journal and its record meanwhile.
    let _lifecycle = lifecycle::acquire(&target, &a.target, Role::Uninstall)?;
    // The record may lack files the interrupted merge moved: removing by it
    // would leave them behind, and a rerun of the merge fixes it.
    let place = records::place(&a.manifest)?;
    if records::has_journal(&place) {
        anyhow::bail!("{}; nothing was removed", records::incomplete(&a.manifest));
    }
    let reader = Reader::new(&a.target, a.manifest_dir.as_deref(), &[&a.manifest])?;
    let files = reader.record(&place)?.entries;
    let others = match &a.manifest_dir {
        Some(dir) => records::owners(dir, Some(&a.manifest), &[], &reader)?,
        None => Owners::default(),
    };
    let report = uninstall(
        &NativeFs::new(),
        &target,
        &files,
        &others,
        a.force,
        reader.reserved(),
    );
    let clean = report.is_clean();
    // Last, and only when everything else was done: the record says what
    // is left to undo, so a rerun after a failure or a kill finishes the job.
    let record = if !clean {
        "kept"
    } else if a.keep_record {
        "left"
    } else {
        let fs = NativeFs::new();
        file::durable::remove(&fs, &place, &place.name, &place.shown)?;
        "removed"
    };
    print(a, &report, record);
    Ok(if clean { Exit::Ok } else { Exit::Problems })
}

/// What was kept and why on stderr, the summary, and the JSON document on
/// stdout with `--json`.
fn print(a: &UninstallArgs, report: &UninstallReport, record: &str) {
    let mut out = Messages::new();
    let (mut n_shared, mut n_restored, mut n_modified, mut n_missing) = (0, 0, 0, 0);
    let mut n_failed = 0;
    let mut listed = Vec::new();
    for (path, kept) in &report.kept {
        let Some((why, severity, line)) = describe(
            kept,
            &stagemerge_core::rel::under(&a.target, path).display(),
        ) else {
            continue;
        };
        match why {
            "shared" => n_shared += 1,
            "restored" => n_restored += 1,
            "missing" => n_missing += 1,
            "modified" | "type-changed" => n_modified += 1,
            "error" => n_failed += 1,
            _ => {}
        }
        // Built only when printed: an uninstall of millions of missing
        // files would otherwise hold a JSON value for each.
        if a.json {
            listed.push(json!({"path": path.to_string_lossy(), "why": why, "message": line}));
        }
        match severity {
            Some(s) => out.message(s, &line),
            None if !a.quiet => out.note(&line),
            None => {}
        }
    }
    if record == "kept" {
        out.message(
            Severity::Error,
            &format!(
                "the record {} is kept: run the uninstall again once the problems above are fixed",
                a.manifest.display()
            ),
        );
    }
    if !a.quiet {
        out.note(&format!(
            "uninstall {} from {}: {} removed, {} directories pruned, {} shared kept, {} restored, {} modified kept, {} already gone, {} failed; record {record}",
            a.manifest.display(),
            a.target.display(),
            report.removed,
            report.pruned,
            n_shared,
            n_restored,
            n_modified,
            n_missing,
            n_failed,
        ));
    }
    if a.json {
        let doc = json!({
            "format": "stagemerge-uninstall",
            "version": 1,
            "removed": report.removed,
            "pruned": report.pruned,
            "store_pruned": report.store_pruned,
            "record": record,
            "kept": listed,
        });
        let mut text = serde_json::to_string_pretty(&doc).expect("a JSON value serializes");
        text.push('\n');
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
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
        Kept::Status(Status::Intact | Status::Shadowed) => return None,
    })
}
