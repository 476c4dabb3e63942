//! `verify`: compares installed files with their record.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{CommandError, Output, has_journal, incomplete, read_record};
use crate::fs::Fs;
use crate::installed::Status;
use crate::record::State;
use crate::record::file::{Place, Reader};
use crate::report::Severity;

/// Verifies the files `record` lists in `target` (shown as `shown`; pip's
/// RECORD when `pip_record` gives its TARGET-relative path):
/// problems on stdout (text, or a JSON document with `json`), the summary
/// on stderr; exit 1 for a problem or an incomplete install.
pub fn verify<F: Fs>(
    fs: &F,
    target: &F::Dir,
    shown: &Path,
    record: &Place<F::Dir>,
    pip_record: Option<&Path>,
    reader: &Reader,
    json: bool,
) -> Result<Output, CommandError> {
    let files = read_record(fs, record, reader, pip_record)?;
    // A version a later package replaced, kept in the clobber store, is
    // listed but is not a problem: uninstalling that package puts it back.
    let (shadowed, problems): (Vec<_>, Vec<_>) = crate::verify(fs, target, &files)
        .into_iter()
        .partition(|(_, s)| matches!(s, Status::Shadowed));
    let incomplete_install = has_journal(fs, record);
    // Say what was compared: a record without digests (text, Sage) can only
    // show that each file is there, and a lost entry holds another
    // package's version.
    let contents = files.iter().filter(|f| f.contents_checked()).count();
    let lost = files.iter().filter(|f| f.state == State::Lost).count();
    let tally = Tally {
        checked: files.len(),
        contents,
        presence: files.len() - contents,
        lost,
        shadowed: shadowed.len(),
        incomplete: incomplete_install,
    };
    let mut out = Output::default();
    if incomplete_install {
        out.say(Some(Severity::Error), incomplete(record));
    }
    if json {
        out.stdout = to_json(&shadowed, &problems, &tally);
    } else {
        to_text(&mut out, shown, &shadowed, &problems, &tally);
    }
    out.exit = u8::from(!problems.is_empty() || incomplete_install);
    Ok(out)
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

type Problems = [(PathBuf, Status)];

fn to_json(shadowed: &Problems, problems: &Problems, t: &Tally) -> String {
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
    format!("{doc:#}\n")
}

fn to_text(out: &mut Output, target: &Path, shadowed: &Problems, problems: &Problems, t: &Tally) {
    for (path, s) in shadowed.iter().chain(problems) {
        let shown = crate::rel::under(target, path);
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
        out.stdout
            .push_str(&format!("{:<13} {}{extra}\n", word(s), shown.display()));
    }
    out.say(
        None,
        format!(
            "verify {}: {} files checked{}; {}{} problems",
            target.display(),
            t.checked,
            how(t),
            if t.shadowed > 0 {
                format!("{} shadowed (kept in the clobber store), ", t.shadowed)
            } else {
                String::new()
            },
            problems.len()
        ),
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
