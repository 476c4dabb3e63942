//! `stagemerge owner`: which records of a records directory list a path,
//! and whose version of it is visible in TARGET (as `dpkg -S` and `rpm -qf`
//! answer it for their databases).

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{Result, bail};
use serde_json::json;
use stagemerge_core::{Fs, Installed, State, Status, verify};

use crate::cli::OwnerArgs;
use crate::exit::Exit;
use crate::lifecycle::{self, Role};
use crate::records::{self, Reader};
use crate::shim::{NativeFs, open_root};
use stagemerge_core::ownership::Owner;

/// Whose version of a path a record's entry finds in TARGET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    /// The record has its digest, and TARGET's file matches it.
    Its,
    /// TARGET's file differs from the record's digest (also for a `lost`
    /// entry: its digest is the package's own version).
    Another,
    /// Another version is visible, and the record's is in the clobber
    /// store (uninstalling the visible one's package puts it back).
    Kept,
    /// The record has no digest (text manifest, Sage record): the path is
    /// there, whose version cannot be told.
    Unknown,
    /// Nothing is at the path.
    Missing,
}

impl Version {
    fn word(self) -> &'static str {
        match self {
            Version::Its => "visible",
            Version::Another => "other",
            Version::Kept => "kept",
            Version::Unknown => "unknown",
            Version::Missing => "missing",
        }
    }

    fn says(self) -> &'static str {
        match self {
            Version::Its => "its version is visible",
            Version::Another => "another version is visible",
            Version::Kept => "another version is visible; its own is kept in the clobber store",
            Version::Unknown => "present; the record has no digest to tell whose version",
            Version::Missing => "missing",
        }
    }
}

/// One path asked about: who lists it and what each finds.
struct Answer<'o> {
    path: PathBuf,
    present: bool,
    listed: Vec<(&'o Owner, Version)>,
}

pub(crate) fn run(a: &OwnerArgs) -> Result<Exit> {
    let target = open_root(&a.target, "TARGET")?;
    let _lifecycle = lifecycle::acquire(&target, &a.target, Role::Reader)?;
    let reader = Reader::new(&a.target, Some(&a.manifest_dir), &[])?;
    let owners = records::owners(&a.manifest_dir, None, &[], &reader)?;
    let fs = NativeFs::new();
    let mut answers = Vec::new();
    for p in &a.paths {
        let path = relative(&a.target, p)?;
        // Resolved as `uninstall` resolves a recorded path: a path that
        // leaves TARGET (through a symlink) is refused, never answered.
        let present = match verify(&fs, &target, &[presence(&path)]).first() {
            None | Some((_, Status::TypeChanged { .. })) => true,
            Some((_, Status::Refused(why))) => bail!(
                "{}: refused: {why}; no package owns a path outside TARGET",
                stagemerge_core::rel::under(&a.target, &path).display()
            ),
            Some(_) => false,
        };
        let listed = owners
            .of(&path)
            .map(|(owner, entry)| (owner, version(&fs, &target, entry)))
            .collect();
        answers.push(Answer {
            path,
            present,
            listed,
        });
    }
    let text = if a.json {
        to_json(&answers, owners.len())
    } else {
        to_text(&answers)
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(if answers.iter().all(|x| !x.listed.is_empty()) {
        Exit::Ok
    } else {
        Exit::Problems
    })
}

/// `path` relative to TARGET: as given if relative, else below TARGET as
/// the user named it. Never `..` or a root: a record names nothing else.
fn relative(target: &Path, path: &Path) -> Result<PathBuf> {
    let rel = if path.is_absolute() {
        match path.strip_prefix(target) {
            Ok(rel) => rel.to_owned(),
            Err(_) => bail!(
                "{} is not inside TARGET {}",
                path.display(),
                target.display()
            ),
        }
    } else {
        path.to_owned()
    };
    let clean: PathBuf = rel
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    if clean.as_os_str().is_empty()
        || clean
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
    {
        bail!(
            "{}: name a file below TARGET (relative, no `..`)",
            path.display()
        );
    }
    Ok(clean)
}

/// An entry that only asks whether something that is not a directory is
/// at `path`.
fn presence(path: &Path) -> Installed {
    Installed {
        path: path.to_owned(),
        kind: None,
        detail: None,
        state: State::Placed,
    }
}

fn version<F: Fs>(fs: &F, target: &F::Dir, entry: &Installed) -> Version {
    // A `lost` entry's digest is still the package's version, and an
    // uninstall since may have put it back: compare what is there.
    let now = Installed {
        state: State::Placed,
        ..entry.clone()
    };
    match verify(fs, target, std::slice::from_ref(&now)).first() {
        Some((_, Status::Missing)) => Version::Missing,
        None if now.contents_checked() => Version::Its,
        None => Version::Unknown,
        Some((_, Status::Shadowed)) => Version::Kept,
        Some(_) => Version::Another,
    }
}

fn to_text(answers: &[Answer<'_>]) -> String {
    let mut out = String::new();
    for x in answers {
        let path = x.path.display();
        if x.listed.is_empty() {
            let there = if x.present { "present" } else { "not present" };
            out.push_str(&format!("{path}: listed by no record (unowned; {there})\n"));
            continue;
        }
        out.push_str(&format!("{path}:\n"));
        for (owner, v) in &x.listed {
            let incomplete = if owner.incomplete {
                " (install incomplete)"
            } else {
                ""
            };
            out.push_str(&format!("  {}{incomplete}: {}\n", owner.name, v.says()));
        }
    }
    out
}

fn to_json(answers: &[Answer<'_>], records: usize) -> String {
    let paths: Vec<_> = answers
        .iter()
        .map(|x| {
            json!({
                "path": x.path.to_string_lossy(),
                "present": x.present,
                "owners": x.listed.iter().map(|(o, v)| json!({
                    "record": o.name,
                    "incomplete": o.incomplete,
                    "version": v.word(),
                })).collect::<Vec<_>>(),
                "visible": x.listed.iter().filter(|(_, v)| *v == Version::Its)
                    .map(|(o, _)| o.name.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({
        "format": "stagemerge-owner",
        "version": 1,
        "records": records,
        "paths": paths,
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("a JSON value serializes");
    text.push('\n');
    text
}
