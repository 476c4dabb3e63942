//! The two printed forms of a plan. Both are produced here, in the core, so
//! the native binary and the sandboxed guest print the same bytes.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::{Plan, Step};
use crate::escape::{escape, put_path};
use crate::fs::Kind;
use crate::options::OnConflict;
use crate::ownership::{Collided, Whose};
use crate::report::{describe, put_collided};
use crate::walk::compared;

/// The policies a collision report shows, by their word.
const POLICIES: [(&str, OnConflict); 3] = [
    ("replace", OnConflict::Replace),
    ("keep", OnConflict::Keep),
    ("fail", OnConflict::Fail),
];

/// The step a merge running alone would take under `policy`.
fn outcome(c: &Collided, policy: OnConflict) -> Step {
    compared(false, false, policy, c.edited)
}

/// The option whose policy decides: `--on-owned` for another package's
/// file (unless `--allow-overwrite` exempts it), `--on-conflict` else.
fn option(c: &Collided) -> &'static str {
    match c.whose {
        Whose::Owned(_) if !c.allowed => "--on-owned",
        _ => "--on-conflict",
    }
}

/// `--on-owned replace: replace, keep: keep, fail: conflict`, or what a
/// protected edited file gets under every policy.
fn policies(c: &Collided) -> String {
    if c.edited {
        return format!(
            "protected and edited: kept, the staged file placed as NAME{} (every policy)",
            crate::ownership::NEW_SUFFIX
        );
    }
    let each: Vec<String> = POLICIES
        .iter()
        .map(|&(word, p)| format!("{word}: {}", outcome(c, p).word()))
        .collect();
    format!("{} {}", option(c), each.join(", "))
}

fn kind_tag(kind: Kind) -> &'static str {
    match kind {
        Kind::File => "file",
        Kind::Dir => "dir",
        Kind::Symlink => "symlink",
        Kind::Fifo => "fifo",
        Kind::Socket => "socket",
        Kind::CharDevice => "char-device",
        Kind::BlockDevice => "block-device",
        Kind::Unknown => "unknown",
    }
}

impl Step {
    /// The action's word in both printed forms.
    pub fn word(&self) -> &'static str {
        match self {
            Step::PlaceDir => "place-dir",
            Step::Place { .. } => "place",
            Step::Copy { .. } => "copy",
            Step::CreateDir => "mkdir",
            Step::MergeDir => "merge-dir",
            Step::Follow { .. } => "follow",
            Step::Identical => "identical",
            Step::Replace => "replace",
            Step::Keep => "keep",
            Step::KeepConcurrent => "keep-concurrent",
            Step::Protect => "protect",
            Step::Conflict(_) => "conflict",
            Step::Error { .. } => "error",
        }
    }

    /// What follows the path in the text form, if anything.
    fn detail(&self) -> Option<String> {
        match self {
            Step::Follow { link } => Some(format!(
                "-> {}",
                escape(link.as_os_str().as_encoded_bytes())
            )),
            Step::Conflict(r) => Some(r.brief()),
            Step::Error { op, side, kind } => {
                Some(format!("{} {}: {kind}", op.verb(), side.word()))
            }
            Step::Place { kind } if *kind != Kind::File => Some(kind_tag(*kind).into()),
            Step::Copy { kind, across } => {
                let across = if *across { "across filesystems" } else { "" };
                let kind = if *kind == Kind::File {
                    ""
                } else {
                    kind_tag(*kind)
                };
                let both: Vec<&str> = [kind, across]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect();
                Some(both.join(", ")).filter(|d| !d.is_empty())
            }
            _ => None,
        }
    }
}

/// Counts of a plan's steps, as its summary line and JSON `summary` give them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Non-directories to place.
    pub place: u64,
    /// Directories to place whole.
    pub place_dir: u64,
    /// Non-directories to copy.
    pub copy: u64,
    /// Directories to create (the fallback, or copying).
    pub create_dir: u64,
    /// Directories merged into existing ones (directly or through a symlink).
    pub merge_dir: u64,
    /// Identical entries.
    pub identical: u64,
    /// Different entries to replace.
    pub replace: u64,
    /// Different entries to keep.
    pub keep: u64,
    /// Conflicts.
    pub conflicts: u64,
    /// Errors.
    pub errors: u64,
}

impl Plan {
    /// How many steps of each kind.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for p in &self.steps {
            let n = match p.step {
                Step::PlaceDir => &mut t.place_dir,
                Step::Place { .. } => &mut t.place,
                Step::Copy { .. } => &mut t.copy,
                Step::CreateDir => &mut t.create_dir,
                Step::MergeDir | Step::Follow { .. } => &mut t.merge_dir,
                Step::Identical => &mut t.identical,
                Step::Replace => &mut t.replace,
                Step::Keep | Step::KeepConcurrent | Step::Protect => &mut t.keep,
                Step::Conflict(_) => &mut t.conflicts,
                Step::Error { .. } => &mut t.errors,
            };
            *n += 1;
        }
        t
    }

    /// The one-line summary.
    pub fn summary(&self) -> String {
        let t = self.totals();
        let mut copying = String::new();
        if t.copy > 0 || t.create_dir > 0 {
            copying = format!(
                ", {} to copy, {} directories to create",
                t.copy, t.create_dir
            );
        }
        format!(
            "plan: {} to place, {} whole directories to place{copying}, {} directories to merge \
             into, {} identical, {} to replace, {} to keep, {} conflicts, {} errors",
            t.place,
            t.place_dir,
            t.merge_dir,
            t.identical,
            t.replace,
            t.keep,
            t.conflicts,
            t.errors
        )
    }

    /// The text form: one line per step (`word path[ detail]`, the word
    /// padded to 10 columns), then the summary line, then (with
    /// ownership) the collision report: per different file met, whose it
    /// is and what each policy would do. Paths are escaped so every step is
    /// one line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for p in &self.steps {
            let path = escape(p.path.as_os_str().as_encoded_bytes());
            let detail = match (p.step.detail(), &p.collided) {
                (Some(d), Some(c)) => Some(format!("{d}; {}", describe(c))),
                (None, Some(c)) => Some(describe(c)),
                (d, None) => d,
            };
            let _ = match detail {
                Some(d) => writeln!(out, "{:<10} {path}  ({d})", p.step.word()),
                None => writeln!(out, "{:<10} {path}", p.step.word()),
            };
        }
        out.push_str(&self.summary());
        out.push('\n');
        let collisions: Vec<_> = self.steps.iter().filter(|p| p.collided.is_some()).collect();
        if !collisions.is_empty() {
            let _ = writeln!(out, "collisions: {}", collisions.len());
        }
        for p in collisions {
            let c = p.collided.as_ref().expect("filtered");
            let path = escape(p.path.as_os_str().as_encoded_bytes());
            let _ = writeln!(out, "  {path}: {}; {}", describe(c), policies(c));
        }
        out
    }

    /// The JSON form (schema `stagemerge-plan` version 1): `{"format",
    /// "version", "steps": [{"path" | "path_hex", "action", ...}], "summary"}`.
    /// A path that is not UTF-8 is given as `path_hex` (its bytes in hex).
    pub fn to_json(&self) -> String {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|p| {
                let mut o = Map::new();
                put_path(&mut o, &p.path);
                o.insert("action".into(), p.step.word().into());
                match &p.step {
                    Step::Place { kind } => {
                        o.insert("kind".into(), kind_tag(*kind).into());
                    }
                    Step::Copy { kind, across } => {
                        o.insert("kind".into(), kind_tag(*kind).into());
                        o.insert("across".into(), (*across).into());
                    }
                    Step::Follow { link } => {
                        let l = link.as_os_str().as_encoded_bytes();
                        o.insert("link".into(), escape(l).into());
                    }
                    Step::Conflict(r) => {
                        o.insert("reason".into(), r.brief().into());
                    }
                    Step::Error { op, side, kind } => {
                        o.insert("op".into(), op.verb().into());
                        o.insert("side".into(), side.word().into());
                        o.insert("error".into(), kind.to_string().into());
                    }
                    _ => {}
                }
                if let Some(c) = &p.collided {
                    put_collided(&mut o, c);
                    if c.edited {
                        o.insert("edited".into(), true.into());
                    }
                    let by: Map<String, Value> = POLICIES
                        .iter()
                        .map(|&(word, policy)| (word.into(), outcome(c, policy).word().into()))
                        .collect();
                    o.insert("policies".into(), Value::Object(by));
                    o.insert("option".into(), option(c).into());
                }
                Value::Object(o)
            })
            .collect();
        let t = self.totals();
        let doc = json!({
            "format": "stagemerge-plan",
            "version": 1,
            "steps": steps,
            "summary": {
                "place": t.place,
                "place_dir": t.place_dir,
                "copy": t.copy,
                "create_dir": t.create_dir,
                "merge_dir": t.merge_dir,
                "identical": t.identical,
                "replace": t.replace,
                "keep": t.keep,
                "conflicts": t.conflicts,
                "errors": t.errors,
            },
        });
        let mut s = serde_json::to_string_pretty(&doc).expect("a JSON value serializes");
        s.push('\n');
        s
    }
}
