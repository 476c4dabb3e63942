//! `uninstall`: removes a package's recorded files, deepest first, then the
//! directories they leave empty; where another installed package lists a
//! file and the package's own version is visible, puts back the most
//! recent version another owner needs from the clobber store.

use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use crate::fs::{Fs, Kind};
use crate::installed::{Installed, Status, check, locate};
use crate::ownership::{Claims, Owners, Version, store, version_at, version_of};
use crate::resolve::open_phys;

/// What happened to one recorded file that was not simply removed.
#[derive(Debug)]
pub enum Kept {
    /// Another installed package lists it too; its content stays.
    Shared,
    /// Another installed package lists it, and its version was put back
    /// from the clobber store in place of this package's.
    Restored {
        /// The packages whose records list the version put back.
        owners: Vec<String>,
    },
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
    /// Versions removed from the clobber store because no installed
    /// package lists them any more.
    pub store_pruned: u64,
}

impl UninstallReport {
    /// True when nothing was kept except shared files and files already gone.
    pub fn is_clean(&self) -> bool {
        self.kept.iter().all(|(_, k)| {
            matches!(
                k,
                Kept::Shared | Kept::Restored { .. } | Kept::Status(Status::Missing)
            )
        })
    }
}

/// Removes `files` from `target`, deepest first, keeping those `others`
/// (the records of the other installed packages) list and, unless `force`,
/// those not as recorded. A directory is never removed as a file, and
/// nothing outside TARGET is touched. Then removes each directory that held
/// a removed file and is now empty, and its parents while they become empty
/// (never TARGET itself).
///
/// A listed file whose visible version is this package's (by its record's
/// digest) gets, by one rename, the most recent version in the clobber
/// store that another package's record lists, if there is one. The store's
/// versions of each path that no remaining record lists are removed (all
/// of them where no record lists the path; none where a record lists it
/// without a digest, since that version cannot be told).
pub fn uninstall<F: Fs>(
    fs: &F,
    target: &F::Dir,
    files: &[Installed],
    others: &Owners,
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
        let claims = others.claims(&f.path);
        if !claims.others.is_empty() {
            let kept = match restore(fs, target, f, others, &claims) {
                Some(owners) => Kept::Restored { owners },
                None => Kept::Shared,
            };
            report.kept.push((f.path.clone(), kept));
            let needed = |v: &Version| claims.unknown || claims.versions.contains(v);
            report.store_pruned += store::prune(fs, target, &f.path, &needed).unwrap_or(0);
            continue;
        }
        report.store_pruned += store::prune(fs, target, &f.path, &|_| false).unwrap_or(0);
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
            Status::Shadowed | Status::Missing | Status::Refused(_) | Status::Error(_) => false,
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

/// Puts back, at `f`'s path, the most recent stored version another
/// package lists, if `f`'s own version is what is visible there. Returns
/// the packages whose version it put back.
fn restore<F: Fs>(
    fs: &F,
    target: &F::Dir,
    f: &Installed,
    others: &Owners,
    claims: &Claims,
) -> Option<Vec<String>> {
    // The record's digest is the package's own version, also where it
    // recorded another as visible (`lost`): an uninstall since may have put
    // the package's version back, so what is visible is looked at.
    let mine = version_of(f)?;
    // Another package installed the same content: it is theirs as well.
    if claims.versions.contains(&mine) || claims.unknown {
        return None;
    }
    let (dir, _, name) = locate(fs, target, &f.path).ok()?;
    let meta = fs.stat_at(dir.get(), &name).ok()?;
    if version_at(fs, dir.get(), &name, &meta).ok()?? != mine {
        return None;
    }
    let stored = store::versions(fs, target, &f.path).ok()??;
    let back = stored
        .kept
        .iter()
        .rev()
        .find(|k| claims.versions.contains(&k.version))?;
    fs.rename_replace(stored.dir.get(), &back.name, dir.get(), &name)
        .ok()?;
    Some(others.listing(&f.path, &back.version))
}

/// Removes the directory `name` in the directory at `phys` (components
/// below TARGET's root, no symlinks), if it is empty.
fn prune<F: Fs>(fs: &F, target: &F::Dir, phys: &[OsString], name: &OsString) -> io::Result<()> {
    fs.remove_dir(open_phys(fs, target, phys)?.get(), name)
}
