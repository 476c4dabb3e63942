//! A report as JSON (`merge --json`): format `stagemerge-report`, version 1.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::{Problem, Report, Warning};
use crate::escape::put_path;
use crate::ownership::{Collided, Whose};

/// `"owners": [...]` (empty: unowned) and `"allowed"` when
/// `--allow-overwrite` applied.
pub(crate) fn put_collided(o: &mut Map<String, Value>, c: &Collided) {
    let owners: Vec<Value> = match &c.whose {
        Whose::Unowned => Vec::new(),
        Whose::Own => {
            o.insert("own".into(), true.into());
            Vec::new()
        }
        Whose::Owned(names) => names.iter().map(|n| n.as_str().into()).collect(),
    };
    o.insert("owners".into(), owners.into());
    if c.allowed {
        o.insert("allowed".into(), true.into());
    }
}

impl Report {
    /// The report as one JSON document: `{"format": "stagemerge-report",
    /// "version": 1, "stage", "target", "counts": {...}, "warnings": [{"kind",
    /// "path", "owners"?, "stored"?}], "problems": [{"kind": "conflict", "path", "reason"} |
    /// {"kind": "error", "path", "op", "side", "error"}]}`. Paths are relative
    /// to both roots; `path_hex` replaces `path` for names that are not UTF-8.
    pub fn to_json(&self, stage_root: &Path, target_root: &Path) -> String {
        self.to_json_timed(stage_root, target_root, None)
    }

    /// [`Self::to_json`], with `"timing": {"seconds", "files_per_second"}`
    /// where `seconds` is given: the entries the merge settled (moved,
    /// copied, identical, replaced, kept; a directory moved whole counts
    /// once) per second, the figure that tells a filesystem where each
    /// operation is a round trip from a local one.
    pub fn to_json_timed(
        &self,
        stage_root: &Path,
        target_root: &Path,
        seconds: Option<f64>,
    ) -> String {
        let warnings: Vec<Value> = self
            .warnings
            .iter()
            .map(|w| {
                let mut o = Map::new();
                let kind = match w {
                    Warning::Replaced { .. } => "replaced",
                    Warning::Kept { .. } => "kept",
                    Warning::ConcurrentWrite { .. } => "concurrent-write",
                    Warning::Protected { .. } => "protected",
                };
                o.insert("kind".into(), kind.into());
                put_path(&mut o, w.path());
                if let Some(c) = w.collided() {
                    put_collided(&mut o, c);
                }
                if let Warning::Kept { stored, .. } | Warning::ConcurrentWrite { stored, .. } = w {
                    o.insert("stored".into(), (*stored).into());
                }
                Value::Object(o)
            })
            .collect();
        let problems: Vec<Value> = self
            .problems
            .iter()
            .map(|p| {
                let mut o = Map::new();
                match p {
                    Problem::Conflict {
                        path,
                        reason,
                        collided,
                    } => {
                        o.insert("kind".into(), "conflict".into());
                        put_path(&mut o, path);
                        o.insert("reason".into(), reason.brief().into());
                        if let Some(c) = collided {
                            put_collided(&mut o, c);
                        }
                    }
                    Problem::Io(e) => {
                        o.insert("kind".into(), "error".into());
                        put_path(&mut o, &e.path);
                        o.insert("op".into(), e.op.verb().into());
                        o.insert("side".into(), e.side.word().into());
                        o.insert("error".into(), e.source.to_string().into());
                    }
                }
                Value::Object(o)
            })
            .collect();
        let c = &self.counts;
        let mut doc = json!({
            "format": "stagemerge-report",
            "version": 1,
            "stage": stage_root.to_string_lossy(),
            "target": target_root.to_string_lossy(),
            "counts": {
                "moved": c.moved,
                "whole_dirs": c.whole_dirs,
                "created_dirs": c.created_dirs,
                "copied": c.copied,
                "copied_across": c.copied_across,
                "stale_temps": c.stale_temps,
                "identical": c.identical,
                "replaced": c.replaced,
                "kept": c.kept,
                "concurrent": c.concurrent,
                "protected": c.protected,
                "conflicts": c.conflicts,
                "errors": c.errors,
            },
            "warnings": warnings,
            "problems": problems,
        });
        if let Some(s) = seconds {
            let settled = c.moved
                + c.copied
                + c.copied_across
                + c.identical
                + c.replaced
                + c.kept
                + c.concurrent
                + c.protected;
            let rate = if s > 0.0 { settled as f64 / s } else { 0.0 };
            doc["timing"] = json!({"seconds": s, "files_per_second": rate.round()});
        }
        let mut s = serde_json::to_string_pretty(&doc).expect("a JSON value serializes");
        s.push('\n');
        s
    }
}
