//! Sage's installation record (`var/lib/sage/installed/<pkg>-<ver>`), as
//! sage-spkg's write_installation_record writes it, but with real JSON
//! escaping: names with spaces, quotes or backslashes stay valid.

use std::ffi::OsStr;
use std::path::PathBuf;

use anyhow::{Result, anyhow};
use serde_json::{Value, json};
use stagemerge_core::{Installed, Owned, State};

use crate::config::SageRecord;

/// The record's bytes, and the paths that are not UTF-8: Sage's `files`
/// holds strings, so those are written with U+FFFD in place of bad bytes.
pub(crate) fn write(r: &SageRecord, owned: &[Owned]) -> (Vec<u8>, Vec<PathBuf>) {
    let lossy: Vec<PathBuf> = owned
        .iter()
        .filter(|o| o.path.to_str().is_none())
        .map(|o| o.path.clone())
        .collect();
    let files: Vec<String> = owned
        .iter()
        .map(|o| o.path.to_string_lossy().into_owned())
        .collect();
    let mut doc = json!({
        "package_name": r.package,
        "package_version": r.version,
        "install_date": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        "system_uname": crate::shim::system_description(),
    });
    let obj = doc.as_object_mut().expect("an object");
    if let Some(v) = &r.sage_version {
        obj.insert("sage_version".into(), v.as_str().into());
    }
    if let Some(t) = &r.test_result {
        obj.insert("test_result".into(), t.as_str().into());
    }
    obj.insert("files".into(), files.into());
    let mut out = serde_json::to_vec_pretty(&doc).expect("a JSON value serializes");
    out.push(b'\n');
    (out, lossy)
}

/// Whether the Sage record `old` lists exactly the files of `owned` (its
/// other fields, such as the install date, aside).
pub(super) fn same_files(old: &[u8], owned: &[Owned]) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(old) else {
        return false;
    };
    let Some(files) = v.get("files").and_then(Value::as_array) else {
        return false;
    };
    files.len() == owned.len()
        && files
            .iter()
            .zip(owned)
            .all(|(f, o)| f.as_str() == Some(&*o.path.to_string_lossy()))
}

pub(super) fn parse(v: &Value) -> Result<Vec<Installed>> {
    let files = v
        .get("files")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("\"files\" is not a list"))?;
    files
        .iter()
        .map(|f| {
            let s = f
                .as_str()
                .ok_or_else(|| anyhow!("an entry of \"files\" is not a string"))?;
            Ok(Installed {
                path: PathBuf::from(OsStr::new(s)),
                kind: None,
                detail: None,
                state: State::Placed,
            })
        })
        .collect()
}
