//! `stagemerge verify`: compares installed files with their record.

use std::io::Write;

use anyhow::Result;
use serde_json::json;
use stagemerge_core::{Status, verify};

use crate::cli::VerifyArgs;
use crate::exit::Exit;
use crate::records;
use crate::shim::NativeFs;
use crate::shim::open_root;

pub(crate) fn run(a: &VerifyArgs) -> Result<Exit> {
    let files = records::read(&a.manifest)?;
    let target = open_root(&a.target, "TARGET")?;
    let problems = verify(&NativeFs::new(), &target, &files);

    if a.json {
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
                    Status::Intact | Status::Missing => {}
                }
                v
            })
            .collect();
        let doc = json!({ "checked": files.len(), "problems": list });
        let _ = writeln!(std::io::stdout(), "{doc:#}");
    } else {
        let mut out = std::io::stdout().lock();
        for (path, s) in &problems {
            let shown = a.target.join(path);
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
                Status::Intact | Status::Missing => String::new(),
            };
            let _ = writeln!(out, "{:<13} {}{extra}", word(s), shown.display());
        }
        let _ = writeln!(
            std::io::stderr(),
            "stagemerge: verify {}: {} files checked, {} problems",
            a.target.display(),
            files.len(),
            problems.len()
        );
    }
    Ok(if problems.is_empty() {
        Exit::Ok
    } else {
        Exit::Problems
    })
}

fn word(s: &Status) -> &'static str {
    match s {
        Status::Intact => "intact",
        Status::Missing => "missing",
        Status::Modified { .. } => "modified",
        Status::TypeChanged { .. } => "type-changed",
        Status::Refused(_) => "refused",
        Status::Error(_) => "error",
    }
}
