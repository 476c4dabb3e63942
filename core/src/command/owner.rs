//! `owner`: which records of a directory of records list a path, and whose
//! version of it is visible in TARGET (as `dpkg -S` and `rpm -qf` answer
//! it for their databases).

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{CommandError, Output, RecordsAt};
use crate::fs::Fs;
use crate::installed::{Installed, Status};
use crate::ownership::Owner;
use crate::record::State;
use crate::record::file::{Reader, index};

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

/// Answers, for each of `paths` (relative to `target`, shown as `shown`,
/// checked to be below it), which records of `records` list it and whose
/// version is visible; exit 1 if one is listed by no record. A path that
/// leaves TARGET through a symlink is refused, as `uninstall` refuses it.
pub fn owner<F: Fs>(
    fs: &F,
    target: &F::Dir,
    shown: &Path,
    records: RecordsAt<'_, F::Dir>,
    reader: &Reader,
    paths: &[PathBuf],
    json: bool,
) -> Result<Output, CommandError> {
    let owners = index::read(fs, records.dir, records.shown, None, &[], reader)?;
    let mut answers = Vec::new();
    for path in paths {
        // Resolved as `uninstall` resolves a recorded path: a path that
        // leaves TARGET (through a symlink) is refused, never answered.
        let present = match crate::verify(fs, target, &[presence(path)]).first() {
            None | Some((_, Status::TypeChanged { .. })) => true,
            Some((_, Status::Refused(why))) => {
                return Err(CommandError::Refused(format!(
                    "{}: refused: {why}; no package owns a path outside TARGET",
                    crate::rel::under(shown, path).display()
                )));
            }
            Some(_) => false,
        };
        let listed = owners
            .of(path)
            .map(|(owner, entry)| (owner, version(fs, target, entry)))
            .collect();
        answers.push(Answer {
            path: path.clone(),
            present,
            listed,
        });
    }
    Ok(Output {
        stdout: if json {
            to_json(&answers, owners.len())
        } else {
            to_text(&answers)
        },
        messages: Vec::new(),
        exit: u8::from(answers.iter().any(|x| x.listed.is_empty())),
    })
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
    match crate::verify(fs, target, std::slice::from_ref(&now)).first() {
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
