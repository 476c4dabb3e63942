//! `verify`: compares installed files with their record.

use std::path::PathBuf;

use crate::fs::Fs;
use crate::installed::{Installed, Status, check, locate};
use crate::ownership::{store, version_of};

/// Checks every file of `files` in `target`; returns those not intact, in
/// the order given. Touches nothing. A file whose content differs while its
/// recorded version is in the clobber store is [`Status::Shadowed`]: a
/// later package replaced it, and the package's version is kept.
pub fn verify<F: Fs>(fs: &F, target: &F::Dir, files: &[Installed]) -> Vec<(PathBuf, Status)> {
    let mut out = Vec::new();
    for f in files {
        let status = status(fs, target, f);
        if !matches!(status, Status::Intact) {
            out.push((f.path.clone(), status));
        }
    }
    out
}

/// Whether the clobber store keeps `f`'s recorded version.
pub(crate) fn stored<F: Fs>(fs: &F, target: &F::Dir, f: &Installed) -> bool {
    let Some(v) = version_of(f) else {
        return false;
    };
    matches!(
        store::versions(fs, target, &f.path),
        Ok(Some(s)) if s.kept.iter().any(|k| k.version == v)
    )
}

/// How `f` compares with TARGET, the clobber store considered.
pub(crate) fn status<F: Fs>(fs: &F, target: &F::Dir, f: &Installed) -> Status {
    match locate(fs, target, &f.path) {
        Ok((dir, _, name)) => match check(fs, dir.get(), &name, f) {
            Status::Modified { .. } | Status::TypeChanged { .. } if stored(fs, target, f) => {
                Status::Shadowed
            }
            s => s,
        },
        Err(s) => s,
    }
}
