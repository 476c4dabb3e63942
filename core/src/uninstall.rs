//! `uninstall`: removes a package's recorded files, deepest first, then the
//! directories they leave empty; where another installed package lists a
//! file and the package's own version is visible, puts back the most
//! recent version another owner needs from the clobber store.
//!
//! The caller runs it alone in TARGET (the native front end holds the
//! lifecycle lock exclusively, docs/architecture.md): no merge is between
//! its journal and its record while the records are read and acted on.
//! Every step that fails is reported with its path, operation and error,
//! never counted as done, so that a rerun finishes the job; a rerun (after
//! a kill or a fixed cause) ends as an uninterrupted run would, because
//! each step is decided from what TARGET and the store hold now.

use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

use crate::chain::Chain;
use crate::fs::{Fs, Kind};
use crate::handle::Handle;
use crate::installed::{Installed, Status, check, locate};
use crate::ownership::{Claims, Owners, Version, store, version_at, version_of};
use crate::record::read::Reserved;

/// A step of an uninstall that can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undo {
    /// Removing the package's file.
    Remove,
    /// Renaming another owner's version back from the clobber store.
    Restore,
    /// Removing a directory the package's files left empty.
    Prune,
    /// Removing versions no installed package lists from the clobber store.
    PruneStore,
}

impl Undo {
    /// The operation, as messages name it.
    pub fn describe(self) -> &'static str {
        match self {
            Undo::Remove => "remove",
            Undo::Restore => "restore from the clobber store",
            Undo::Prune => "remove empty directory",
            Undo::PruneStore => "prune the clobber store of",
        }
    }
}

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
    /// A directory left empty but for files a network filesystem's client
    /// keeps while a program still has them open (NFS's `.nfsXXXX`, FUSE's
    /// `.fuse_hiddenXXXX`, each a removed file): it is left, and said so.
    /// Not a failure: the client removes those files when the program
    /// closes them, and the directory is then empty.
    Deferred {
        /// Their names.
        held: Vec<OsString>,
    },
    /// A step failed: the path (a file, or a directory for
    /// [`Undo::Prune`]) is as it was before that step.
    Failed {
        /// The step.
        undo: Undo,
        /// What the system said.
        error: io::Error,
    },
}

/// The outcome of an uninstall.
#[derive(Debug, Default)]
pub struct UninstallReport {
    /// Files removed.
    pub removed: u64,
    /// Directories removed because they were left empty.
    pub pruned: u64,
    /// Files not removed, with why, deepest first; then the directories
    /// that could not be pruned.
    pub kept: Vec<(PathBuf, Kept)>,
    /// Versions removed from the clobber store because no installed
    /// package lists them any more.
    pub store_pruned: u64,
}

impl UninstallReport {
    /// True when nothing was kept except shared files and files already
    /// gone, and no step failed: the package is gone and its record may go.
    pub fn is_clean(&self) -> bool {
        self.kept.iter().all(|(_, k)| {
            matches!(
                k,
                Kept::Shared
                    | Kept::Restored { .. }
                    | Kept::Status(Status::Missing)
                    | Kept::Deferred { .. }
            )
        })
    }
}

/// Removes `files` from `target`, deepest first, keeping those `others`
/// (the records of the other installed packages) list and, unless `force`,
/// those not as recorded. A directory is never removed as a file, and
/// nothing outside TARGET is touched. Then removes each directory that
/// holds a recorded file and is now empty, and its parents while they
/// become empty (never TARGET itself): also those an interrupted earlier
/// run emptied.
///
/// A listed file whose visible version is this package's (by its record's
/// digest) gets, by one rename, the most recent version in the clobber
/// store that another package's record lists, if there is one. The store's
/// versions of each path that no remaining record lists are removed (all
/// of them where no record lists the path; none where a record lists it
/// without a digest, since that version cannot be told).
///
/// A path that reaches stagemerge's own state (`reserved`: the clobber
/// store, the records) through a symlink in TARGET is refused, never
/// removed or restored: the record reader refuses such paths as spelled,
/// and this refuses them however they resolve.
pub fn uninstall<F: Fs>(
    fs: &F,
    target: &F::Dir,
    files: &[Installed],
    others: &Owners,
    force: bool,
    reserved: &Reserved,
) -> UninstallReport {
    let mut order: Vec<(usize, &Installed)> = files
        .iter()
        .map(|f| (f.path.components().count(), f))
        .collect();
    // Deepest first, and siblings together (the chain of open directories
    // is reused from one to the next).
    order.sort_by(|(da, a), (db, b)| {
        db.cmp(da).then_with(|| {
            b.path
                .as_os_str()
                .as_encoded_bytes()
                .cmp(a.path.as_os_str().as_encoded_bytes())
        })
    });
    let mut report = UninstallReport::default();
    let mut dirs: BTreeSet<(Reverse<usize>, Vec<OsString>)> = BTreeSet::new();
    let mut here = Parent::default();
    // Nothing else writes TARGET while an uninstall runs (the caller holds
    // the lifecycle lock): a store that is not there now does not appear.
    let has_store = fs.stat_at(target, OsStr::new(store::ROOT)).is_ok();
    for (_, f) in order {
        let located = here.locate(fs, target, &f.path, reserved);
        if let Err(Status::Refused(why)) = located {
            report
                .kept
                .push((f.path.clone(), Kept::Status(Status::Refused(why))));
            continue;
        }
        let claims = others.claims(&f.path);
        let step = |report: &mut UninstallReport, undo, r: io::Result<u64>| match r {
            Ok(n) => {
                if undo == Undo::PruneStore {
                    report.store_pruned += n
                }
            }
            Err(error) => report
                .kept
                .push((f.path.clone(), Kept::Failed { undo, error })),
        };
        if !claims.others.is_empty() {
            match crate::retry::on_stale(&f.path, || restore(fs, target, f, others, &claims)) {
                Ok(Some(owners)) => report
                    .kept
                    .push((f.path.clone(), Kept::Restored { owners })),
                Ok(None) => report.kept.push((f.path.clone(), Kept::Shared)),
                Err(e) => step(&mut report, Undo::Restore, Err(e)),
            }
            let needed = |v: &Version| claims.unknown || claims.versions.contains(v);
            step(
                &mut report,
                Undo::PruneStore,
                crate::retry::on_stale(&f.path, || store::prune(fs, target, &f.path, &needed)),
            );
            continue;
        }
        if has_store {
            step(
                &mut report,
                Undo::PruneStore,
                store::prune(fs, target, &f.path, &|_| false),
            );
        }
        let (dir, phys, name, new_dir) = match located {
            Ok(l) => l,
            Err(s) => {
                if matches!(s, Status::Missing)
                    && let Some(phys) = nearest_dir(fs, target, &f.path)
                    && reserved.claims_at(&phys, OsStr::new("")).is_none()
                {
                    // An interrupted run removed the file and some of its
                    // directories: the rest may be left to prune.
                    dirs.insert((Reverse(phys.len()), phys));
                }
                report.kept.push((f.path.clone(), Kept::Status(s)));
                continue;
            }
        };
        if new_dir {
            dirs.insert((Reverse(phys.len()), phys));
        }
        // A record without kinds (text, Sage) asks only that a file or
        // symlink be there: the removal itself says so, and only a refusal
        // (a directory there, a permission) needs the closer look below.
        if f.kind.is_none() && f.detail.is_none() {
            match fs.remove_file(dir, &name) {
                Ok(()) => {
                    report.removed += 1;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    report
                        .kept
                        .push((f.path.clone(), Kept::Status(Status::Missing)));
                    continue;
                }
                Err(_) => {}
            }
        }
        let status = check(fs, dir, &name, f);
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
        match fs.remove_file(dir, &name) {
            Ok(()) => report.removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                report
                    .kept
                    .push((f.path.clone(), Kept::Status(Status::Missing)));
            }
            Err(error) => report.kept.push((
                f.path.clone(),
                Kept::Failed {
                    undo: Undo::Remove,
                    error,
                },
            )),
        }
    }
    drop(here);
    prune_dirs(fs, target, dirs, &mut report);
    if has_store {
        store::tidy(fs, target);
    }
    report
}

/// The directory of the last file located, reused for its siblings.
struct Parent<'a, D> {
    at: Option<(PathBuf, Handle<'a, D>, Vec<OsString>)>,
}

impl<D> Default for Parent<'_, D> {
    fn default() -> Self {
        Parent { at: None }
    }
}

impl<'a, D> Parent<'a, D> {
    /// The directory holding `path` (as [`locate`] finds it), its physical
    /// components, the file's name, and whether the directory is another
    /// than the previous file's.
    fn locate<F: Fs<Dir = D>>(
        &mut self,
        fs: &F,
        target: &'a D,
        path: &Path,
        reserved: &Reserved,
    ) -> Result<(&D, Vec<OsString>, OsString, bool), Status> {
        let parent = path.parent().unwrap_or(Path::new(""));
        let (name, new_dir) = match self.at.as_ref() {
            Some((p, _, _)) if p == parent => (
                path.file_name()
                    .map(|n| n.to_owned())
                    .ok_or_else(|| Status::Refused("not a relative path to a file".into()))?,
                false,
            ),
            _ => {
                self.at = None;
                let (dir, phys, name) = locate(fs, target, path)?;
                self.at = Some((parent.to_owned(), dir, phys));
                (name, true)
            }
        };
        let (_, dir, phys) = self.at.as_ref().expect("located above");
        if let Some(what) = reserved.claims_at(phys, &name) {
            return Err(Status::Refused(format!(
                "leads into {} of stagemerge through a symlink",
                what.describe()
            )));
        }
        let phys = if new_dir { phys.clone() } else { Vec::new() };
        Ok((dir.get(), phys, name, new_dir))
    }
}

/// The physical components of the deepest directory of `path`'s parents
/// that exists, when it is below TARGET's root.
fn nearest_dir<F: Fs>(fs: &F, target: &F::Dir, path: &Path) -> Option<Vec<OsString>> {
    let mut p = path.parent()?;
    while !p.as_os_str().is_empty() {
        match locate(fs, target, p) {
            Ok((dir, mut phys, name)) => {
                if fs
                    .stat_at(dir.get(), &name)
                    .is_ok_and(|m| m.kind == Kind::Dir)
                {
                    phys.push(name);
                    return Some(phys);
                }
                // `name` is gone: its parent, which exists, is the nearest.
                return Some(phys);
            }
            Err(Status::Missing) => p = p.parent()?,
            Err(_) => return None,
        }
    }
    None
}

/// Removes each of `dirs` (physical components below TARGET's root) that
/// is empty, deepest first, then its parent while it becomes empty. A
/// directory that is not empty or already gone is no failure; any other
/// error is reported with the directory's path.
fn prune_dirs<F: Fs>(
    fs: &F,
    target: &F::Dir,
    mut dirs: BTreeSet<(Reverse<usize>, Vec<OsString>)>,
    report: &mut UninstallReport,
) {
    let mut chain = Chain::new(fs, target);
    while let Some((_, mut phys)) = dirs.pop_first() {
        let Some(name) = phys.pop() else { continue };
        let parent = match chain.to(&phys) {
            Ok(d) => d,
            // A parent already gone took this one with it.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => {
                report.kept.push((
                    joined(&phys),
                    Kept::Failed {
                        undo: Undo::Prune,
                        error,
                    },
                ));
                continue;
            }
        };
        match fs.remove_dir(parent, &name) {
            Ok(()) => {
                report.pruned += 1;
                chain.cut(phys.len());
                dirs.insert((Reverse(phys.len()), phys));
            }
            Err(e) if not_pruned(&e) => {
                if let Some(held) = held_open(fs, parent, &name) {
                    phys.push(name);
                    report.kept.push((joined(&phys), Kept::Deferred { held }));
                }
            }
            Err(error) => {
                phys.push(name);
                report.kept.push((
                    joined(&phys),
                    Kept::Failed {
                        undo: Undo::Prune,
                        error,
                    },
                ));
            }
        }
    }
}

/// The entries of `parent/name` when every one of them is a removed file a
/// network filesystem's client keeps for a program that has it open
/// ([`is_held_open`]); `None` otherwise (or when it cannot be listed).
fn held_open<F: Fs>(fs: &F, parent: &F::Dir, name: &OsStr) -> Option<Vec<OsString>> {
    let dir = fs.open_dir(parent, name).ok()?;
    let names: Vec<OsString> = fs
        .read_dir(&dir)
        .ok()?
        .into_iter()
        .map(|e| e.name)
        .collect();
    (!names.is_empty() && names.iter().all(|n| is_held_open(n))).then_some(names)
}

/// Whether `name` is how a network filesystem's client keeps a removed file
/// that is still open: NFS's silly rename (`.nfs` and hex digits), FUSE's
/// hidden file (`.fuse_hidden` and hex digits: sshfs, rclone).
pub fn is_held_open(name: &OsStr) -> bool {
    let b = name.as_encoded_bytes();
    [&b".nfs"[..], &b".fuse_hidden"[..]].iter().any(|prefix| {
        b.strip_prefix(*prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.iter().all(u8::is_ascii_hexdigit))
    })
}

/// Whether removing a directory failed only because it is not one to
/// prune: not empty (POSIX allows EEXIST for that), gone, or not a
/// directory any more.
fn not_pruned(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::DirectoryNotEmpty
            | io::ErrorKind::AlreadyExists
            | io::ErrorKind::NotFound
            | io::ErrorKind::NotADirectory
    )
}

/// Physical components as a relative path.
fn joined(phys: &[OsString]) -> PathBuf {
    let mut p = PathBuf::new();
    for c in phys {
        crate::rel::push(&mut p, c);
    }
    p
}

/// Puts back, at `f`'s path, the most recent stored version another
/// package lists, if `f`'s own version is what is visible there. Returns
/// the packages whose version it put back; `None` where the visible
/// version is not the package's (another owner's is already there) or no
/// stored version is listed. An error of any step is returned: the path
/// then still holds what it held.
fn restore<F: Fs>(
    fs: &F,
    target: &F::Dir,
    f: &Installed,
    others: &Owners,
    claims: &Claims,
) -> io::Result<Option<Vec<String>>> {
    // The record's digest is the package's own version, also where it
    // recorded another as visible (`lost`): an uninstall since may have put
    // the package's version back, so what is visible is looked at.
    let Some(mine) = version_of(f) else {
        return Ok(None);
    };
    // Another package installed the same content: it is theirs as well.
    if claims.versions.contains(&mine) || claims.unknown {
        return Ok(None);
    }
    let (dir, _, name) = match locate(fs, target, &f.path) {
        Ok(l) => l,
        Err(Status::Error(e)) => return Err(e),
        // Missing, refused: nothing of this package's is visible there.
        Err(_) => return Ok(None),
    };
    let meta = match fs.stat_at(dir.get(), &name) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if version_at(fs, dir.get(), &name, &meta)? != Some(mine) {
        return Ok(None);
    }
    let Some(stored) = store::versions(fs, target, &f.path)? else {
        return Ok(None);
    };
    let Some(back) = stored
        .kept
        .iter()
        .rev()
        .find(|k| claims.versions.contains(&k.version))
    else {
        return Ok(None);
    };
    log::debug!("store: restore {:?} to {}", back.name, f.path.display());
    // Other machines' readers of the package's version keep it until their
    // caches catch up, as when a merge replaces a file (crate::aside).
    if fs.caches_views(dir.get()) {
        crate::aside::set_aside(fs, target, dir.get(), &name, &meta, fs.clock(target))?;
    }
    fs.rename_replace(stored.dir.get(), &back.name, dir.get(), &name)?;
    Ok(Some(others.listing(&f.path, &back.version)))
}

#[cfg(test)]
mod held_tests {
    use super::is_held_open;
    use std::ffi::OsStr;

    #[test]
    fn nfs_and_fuse_hidden_files_are_told_from_package_files() {
        for held in [".nfs0000000000a1b2c3000001", ".fuse_hidden0000000a00000001"] {
            assert!(is_held_open(OsStr::new(held)), "{held}");
        }
        for other in [
            ".nfs",
            ".fuse_hidden",
            ".nfsd.conf",
            "nfs00",
            ".fuse_hiddenx1",
            "a.py",
        ] {
            assert!(!is_held_open(OsStr::new(other)), "{other}");
        }
    }
}
