//! `stagemerge verify`: compares installed files with their record.

use std::io::Write;

use anyhow::Result;
use serde_json::json;
use stagemerge_core::{Severity, State, Status, verify};

use crate::output::Messages;

use crate::cli::VerifyArgs;
use crate::exit::Exit;
use crate::lifecycle::{self, Role};
use crate::records::{self, Reader};
use crate::shim::NativeFs;
use crate::shim::open_root;

pub(crate) fn run(a: &VerifyArgs) -> Result<Exit> {
    let target = open_root(&a.target, "TARGET")?;
    let _lifecycle = lifecycle::acquire(&target, &a.target, Role::Reader)?;
    let place = records::place(&a.manifest)?;
    let files = Reader::new(&a.target, None, &[&a.manifest])?
        .record(&place)?
        .entries;
    // A version a later package replaced, kept in the clobber store, is
    // listed but is not a problem: uninstalling that package puts it back.
    let (shadowed, problems): (Vec<_>, Vec<_>) = verify(&NativeFs::new(), &target, &files)
        .into_iter()
        .partition(|(_, s)| matches!(s, Status::Shadowed));
    let incomplete = records::has_journal(&place);
    // Say what was compared: a record without digests (text, Sage) can only
    // show that each file is there, and a lost entry holds another
    // package's version.
    let contents = files.iter().filter(|f| f.contents_checked()).count();
    let lost = files.iter().filter(|f| f.state == State::Lost).count();
    let presence = files.len() - contents;
    if incomplete {
        Messages::new().message(Severity::Error, &records::incomplete(&a.manifest));
    }

    let tally = Tally {
        checked: files.len(),
        contents,
        presence,
        lost,
        shadowed: shadowed.len(),
        incomplete,
    };
    if a.json {
        print_json(&shadowed, &problems, &tally);
    } else {
        print_text(a, &shadowed, &problems, &tally);
    }
    Ok(if problems.is_empty() && !incomplete {
        Exit::Ok
    } else {
        Exit::Problems
    })
}

/// What was compared, and how.
struct Tally {
    checked: usize,
    contents: usize,
    presence: usize,
    lost: usize,
    shadowed: usize,
    incomplete: bool,
}

type Problems = [(std::path::PathBuf, Status)];

fn print_json(shadowed: &Problems, problems: &Problems, t: &Tally) {
    let list: Vec<_> = problems
        .iter()
        .map(|(path, s)| {
            let mut v = json!({ "path": path.to_string_lossy(), "status": word(s) });
            match s {
                Status::Modified { what } => v["differs"] = json!(what),
                Status::TypeChanged { recorded, found } => {
                    v["recorded"] = json!(recorded.describe());
                    v["found"] = json!(found.describe());
                }
                Status::Refused(why) => v["message"] = json!(why),
                Status::Error(e) => v["message"] = json!(e.to_string()),
                Status::Intact | Status::Missing | Status::Shadowed => {}
            }
            v
        })
        .collect();
    let doc = json!({
        "checked": t.checked,
        "contents_checked": t.contents,
        "presence_only": t.presence,
        "lost": t.lost,
        "incomplete": t.incomplete,
        "shadowed": shadowed.iter().map(|(p, _)| p.to_string_lossy()).collect::<Vec<_>>(),
        "problems": list,
    });
    let _ = writeln!(std::io::stdout(), "{doc:#}");
}

fn print_text(a: &VerifyArgs, shadowed: &Problems, problems: &Problems, t: &Tally) {
    let mut out = std::io::stdout().lock();
    for (path, s) in shadowed.iter().chain(problems) {
        let shown = stagemerge_core::rel::under(&a.target, path);
        let extra = match s {
            Status::Modified { what } => format!(" ({})", what.join(", ")),
            Status::TypeChanged { recorded, found } => {
                format!(
                    " (installed as a {}, now a {})",
                    recorded.describe(),
                    found.describe()
                )
            }
            Status::Refused(why) => format!(" ({why})"),
            Status::Error(e) => format!(" ({e})"),
            Status::Shadowed => {
                " (another package's version is visible; this one is kept in the clobber store)"
                    .into()
            }
            Status::Intact | Status::Missing => String::new(),
        };
        let _ = writeln!(out, "{:<13} {}{extra}", word(s), shown.display());
    }
    let _ = writeln!(
        std::io::stderr(),
        "stagemerge: verify {}: {} files checked{}; {}{} problems",
        a.target.display(),
        t.checked,
        how(t),
        if t.shadowed > 0 {
            format!("{} shadowed (kept in the clobber store), ", t.shadowed)
        } else {
            String::new()
        },
        problems.len()
    );
}

/// `: N by size, mode and SHA-256, M for presence only (why)`, or nothing.
fn how(t: &Tally) -> String {
    let mut how = Vec::new();
    if t.contents > 0 {
        how.push(format!("{} by size, mode and SHA-256", t.contents));
    }
    if t.presence > 0 {
        let why = if t.lost == t.presence {
            "another package's version is visible".to_owned()
        } else if t.lost > 0 {
            format!(
                "{} hold another package's version; the record has no digests for the rest",
                t.lost
            )
        } else {
            "the record has no digests: contents not checked".to_owned()
        };
        how.push(format!("{} for presence only ({why})", t.presence));
    }
    if how.is_empty() {
        String::new()
    } else {
        format!(": {}", how.join(", "))
    }
}

fn word(s: &Status) -> &'static str {
    match s {
        Status::Intact => "intact",
        Status::Missing => "missing",
        Status::Shadowed => "shadowed",
        Status::Modified { .. } => "modified",
        Status::TypeChanged { .. } => "type-changed",
        Status::Refused(_) => "refused",
        Status::Error(_) => "error",
    }
}
