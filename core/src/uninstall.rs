//! `uninstall`: removes a package's recorded files, deepest first, then the
//! directories they leave empty.

use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use crate::fs::{Fs, Kind};
use crate::installed::{Installed, Status, check, locate};
use crate::resolve::open_phys;

/// What happened to one recorded file that was not simply removed.
#[derive(Debug)]
pub enum Kept {
    /// Another installed package lists it too.
    Shared,
    /// Not as recorded (and `force` was not given), or not there at all.
    Status(Status),
}

/// The outcome of an uninstall.
#[derive(Debug, Default)]
pub struct UninstallReport {
    /// Files removed.
    pub removed: u64,
    /// Directories removed because they were left empty.
    pub pruned: u64,
    /// Files not removed, with why, deepest first.
    pub kept: Vec<(PathBuf, Kept)>,
}

impl UninstallReport {
    /// True when nothing was kept except shared files and files already gone.
    pub fn is_clean(&self) -> bool {
        self.kept
            .iter()
            .all(|(_, k)| matches!(k, Kept::Shared | Kept::Status(Status::Missing)))
    }
}

/// Removes `files` from `target`, deepest first, skipping those for which
/// `shared` is true and, unless `force`, those not as recorded. A directory
/// is never removed as a file, and nothing outside TARGET is touched. Then
/// removes each directory that held a removed file and is now empty, and
/// its parents while they become empty (never TARGET itself).
pub fn uninstall<F: Fs>(
    fs: &F,
    target: &F::Dir,
    files: &[Installed],
    shared: &dyn Fn(&Path) -> bool,
    force: bool,
) -> UninstallReport {
    let mut order: Vec<&Installed> = files.iter().collect();
    order.sort_by(|a, b| {
        let depth = |p: &Path| p.components().count();
        depth(&b.path).cmp(&depth(&a.path)).then_with(|| {
            b.path
                .as_os_str()
                .as_encoded_bytes()
                .cmp(a.path.as_os_str().as_encoded_bytes())
        })
    });
    let mut report = UninstallReport::default();
    let mut emptied: BTreeSet<(Reverse<usize>, Vec<OsString>)> = BTreeSet::new();
    for f in order {
        if shared(&f.path) {
            report.kept.push((f.path.clone(), Kept::Shared));
            continue;
        }
        let (dir, phys, name) = match locate(fs, target, &f.path) {
            Ok(l) => l,
            Err(s) => {
                report.kept.push((f.path.clone(), Kept::Status(s)));
                continue;
            }
        };
        let status = check(fs, dir.get(), &name, f);
        let removable = match &status {
            Status::Intact => true,
            Status::Modified { .. } => force,
            // Never remove a directory as if it were a file.
            Status::TypeChanged { found, .. } => force && *found != Kind::Dir,
            Status::Missing | Status::Refused(_) | Status::Error(_) => false,
        };
        if !removable {
            report.kept.push((f.path.clone(), Kept::Status(status)));
            continue;
        }
        match fs.remove_file(dir.get(), &name) {
            Ok(()) => {
                report.removed += 1;
                emptied.insert((Reverse(phys.len()), phys));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                report
                    .kept
                    .push((f.path.clone(), Kept::Status(Status::Missing)));
            }
            Err(e) => report
                .kept
                .push((f.path.clone(), Kept::Status(Status::Error(e)))),
        }
    }
    while let Some((_, mut phys)) = emptied.pop_first() {
        let Some(name) = phys.pop() else { continue };
        if prune(fs, target, &phys, &name).is_ok() {
            report.pruned += 1;
            emptied.insert((Reverse(phys.len()), phys));
        }
    }
    report
}

/// Removes the directory `name` in the directory at `phys` (components
/// below TARGET's root, no symlinks), if it is empty.
fn prune<F: Fs>(fs: &F, target: &F::Dir, phys: &[OsString], name: &OsString) -> io::Result<()> {
    fs.remove_dir(open_phys(fs, target, phys)?.get(), name)
}
