//! `verify`: compares installed files with their record.

use std::path::PathBuf;

use crate::fs::Fs;
use crate::installed::{Installed, Status, check, locate};

/// Checks every file of `files` in `target`; returns those not intact, in
/// the order given. Touches nothing.
pub fn verify<F: Fs>(fs: &F, target: &F::Dir, files: &[Installed]) -> Vec<(PathBuf, Status)> {
    let mut out = Vec::new();
    for f in files {
        let status = match locate(fs, target, &f.path) {
            Ok((dir, _, name)) => check(fs, dir.get(), &name, f),
            Err(s) => s,
        };
        if !matches!(status, Status::Intact) {
            out.push((f.path.clone(), status));
        }
    }
    out
}
