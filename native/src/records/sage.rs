//! Sage's installation record (`var/lib/sage/installed/<pkg>-<ver>`), as
//! sage-spkg's write_installation_record writes it, but with real JSON
//! escaping: names with spaces, quotes or backslashes stay valid.

use std::path::PathBuf;

use serde_json::{Value, json};
use stagemerge_core::Owned;

use crate::config::SageRecord;

/// The record's bytes, and the paths it leaves out: Sage's `files` holds
/// strings, so a name that is not UTF-8 cannot be written there, and
/// writing another name in its place (U+FFFD for the bad bytes) would make
/// an uninstall remove a file that is not the package's.
pub(crate) fn write(r: &SageRecord, owned: &[Owned]) -> (Vec<u8>, Vec<PathBuf>) {
    let lossy: Vec<PathBuf> = owned
        .iter()
        .filter(|o| o.path.to_str().is_none())
        .map(|o| o.path.clone())
        .collect();
    let files: Vec<&str> = utf8(owned).collect();
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
    files.len() == utf8(owned).count()
        && files
            .iter()
            .zip(utf8(owned))
            .all(|(f, o)| f.as_str() == Some(o))
}

/// The paths of `owned` Sage's record can hold.
fn utf8(owned: &[Owned]) -> impl Iterator<Item = &str> {
    owned.iter().filter_map(|o| o.path.to_str())
}
