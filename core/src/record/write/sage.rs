//! Sage's installation record (`var/lib/sage/installed/<pkg>-<ver>`), as
//! sage-spkg's `write_installation_record` writes it, but with real JSON
//! escaping: names with spaces, quotes or backslashes stay valid.

use std::path::PathBuf;

use serde::Serialize;

use crate::record::Owned;

/// What Sage's record says besides its files.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct SageHeader {
    /// `package_name`.
    #[serde(rename = "package_name")]
    pub package: String,
    /// `package_version`.
    #[serde(rename = "package_version")]
    pub version: String,
    /// `install_date`, RFC 3339.
    pub install_date: String,
    /// `system_uname`, as `uname -a` says it.
    pub system_uname: String,
    /// `sage_version`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sage_version: Option<String>,
    /// `test_result`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_result: Option<String>,
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(flatten)]
    header: &'a SageHeader,
    files: Vec<&'a str>,
}

/// The record's bytes, and the paths it leaves out: Sage's `files` holds
/// strings, so a name that is not UTF-8 cannot be written there, and
/// writing another name in its place (U+FFFD for the bad bytes) would make
/// an uninstall remove a file that is not the package's.
pub fn sage(header: &SageHeader, owned: &[Owned]) -> (Vec<u8>, Vec<PathBuf>) {
    let lossy: Vec<PathBuf> = owned
        .iter()
        .filter(|o| o.path.to_str().is_none())
        .map(|o| o.path.clone())
        .collect();
    let doc = Document {
        header,
        files: utf8(owned).collect(),
    };
    let mut out = serde_json::to_vec_pretty(&doc).expect("a record serializes");
    out.push(b'\n');
    (out, lossy)
}

/// Whether the Sage record `old` lists exactly the files of `owned` that
/// it can hold (its other fields, such as the install date, aside).
pub fn sage_lists_same(old: &[u8], owned: &[Owned]) -> bool {
    #[derive(serde::Deserialize)]
    struct Files {
        files: Vec<String>,
    }
    let Ok(old) = serde_json::from_slice::<Files>(old) else {
        return false;
    };
    old.files.len() == utf8(owned).count() && old.files.iter().zip(utf8(owned)).all(|(a, b)| a == b)
}

/// The paths of `owned` Sage's record can hold.
fn utf8(owned: &[Owned]) -> impl Iterator<Item = &str> {
    owned.iter().filter_map(|o| o.path.to_str())
}
