//! The clobber store: versions of files that a merge made invisible while
//! a package still lists them, kept inside TARGET so that an uninstall can
//! put one back.
//!
//! Layout: `TARGET/.stagemerge/clobbered/<key>/<stamp>-<sha256>`, where
//! `<key>` is the first 128 bits of the SHA-256 of the path (as recorded,
//! relative to TARGET), `<stamp>` the start of the merge that kept the
//! version (`seconds.nanoseconds`, zero-padded, so names sort by age) and
//! `<sha256>` the version's digest, which names its owners: the records
//! that list that digest for the path. A version gets here by one link
//! (TARGET's file, just before a rename replaces it) or one rename (a
//! staged file that lost to another version): never a copy.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::fs::{Fs, Stamp};
use crate::handle::Handle;

use super::Version;

/// The store's directory below TARGET.
pub const ROOT: &str = ".stagemerge";
/// The clobbered versions' directory inside [`ROOT`].
pub const CLOBBERED: &str = "clobbered";

/// The prefix of a path's lock in [`ROOT`]: `lock-<key>`, a directory,
/// since making one is atomic on every platform (WASI included). It lies
/// in the store's root, not in the path's store directory, so that taking
/// it makes one directory, not three, where nothing is kept.
const LOCK: &str = "lock-";

/// How long a lock may stand before it is taken for one a killed merge left.
const STALE_SECS: i64 = 2;

/// Held while a merge re-checks TARGET's entry of a path, keeps its
/// version if a package needs it and renames its own over it, so that two
/// merges replacing one path at once cannot hide each other's version;
/// released when dropped.
pub(crate) struct Lock<'f, F: Fs> {
    fs: &'f F,
    /// TARGET's root and the store's directory in it (flock'ed where the
    /// platform can: then the lock is this handle's, released when it is
    /// closed, also by a kill).
    root: &'f F::Dir,
    store: F::Dir,
    /// The path's key, and the name of the lock directory where the
    /// platform cannot flock (`None` when the store's handle holds it).
    key: String,
    name: Option<String>,
}

impl<F: Fs> Drop for Lock<'_, F> {
    fn drop(&mut self) {
        match &self.name {
            Some(name) => {
                let _ = self.fs.remove_dir(&self.store, OsStr::new(name));
                // Leave no empty directory of the store behind (one another
                // merge is using is not empty; one it is about to use it
                // makes again).
                remove_empty_in(self.fs, self.root, &self.store, &self.key);
            }
            // The store's own directory stays: another merge may be waiting
            // for its lock (an uninstall, which runs alone, removes it).
            None => {
                remove_kept_dirs(self.fs, &self.store, Some(&self.key));
            }
        }
    }
}

impl<'f, F: Fs> Lock<'f, F> {
    /// A lock held by the store's handle (`name` `None`) or by the lock
    /// directory `name` in it.
    fn new(fs: &'f F, root: &'f F::Dir, store: F::Dir, key: String, name: Option<String>) -> Self {
        Lock {
            fs,
            root,
            store,
            key,
            name,
        }
    }

    /// Removes the path's kept versions that `needed` says no package
    /// needs and that were kept no later than `before` (a merge's start:
    /// what was kept since may be a merge's that this one's records do not
    /// show).
    /// Returns how many it removed.
    pub(crate) fn prune_before(
        &self,
        needed: &dyn Fn(&Version) -> bool,
        before: Stamp,
    ) -> io::Result<u64> {
        let dir = match sub(self.fs, &self.store, CLOBBERED, false)
            .and_then(|c| sub(self.fs, &c, &self.key, false))
        {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let listed = match self.fs.read_dir(&dir) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        for e in listed {
            let Some(v) = parse(&e.name) else { continue };
            if needed(&v) {
                continue;
            }
            // At `before` itself is before too: the records were read once
            // the clock had passed it, so whatever kept a version in that
            // tick had journaled by then.
            // Gone since the listing (another client pruned it; a caching
            // client lists what it saw): nothing to remove.
            let kept_at = match self.fs.stat_at(&dir, &e.name) {
                Ok(m) => m.ctime,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if kept_at.is_some_and(|c| c <= before) {
                log::debug!(
                    "store: prune_before removes {:?} of {} (kept at {kept_at:?}, before {before:?})",
                    e.name,
                    self.key
                );
                match self.fs.remove_file(&dir, &e.name) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(removed)
    }
}

/// Takes the lock of `path` (creating the store's directory), waiting for
/// another merge's; a lock older than a few seconds is a killed merge's
/// and is broken.
pub(crate) fn lock<'f, F: Fs>(fs: &'f F, root: &'f F::Dir, path: &Path) -> io::Result<Lock<'f, F>> {
    let key = key(path);
    // One lock for the whole store where the platform has flock: held for
    // a re-check, a link and a rename, and gone with a killed holder.
    let store = sub(fs, root, ROOT, true)?;
    match fs.lock_dir(&store) {
        Ok(()) => return Ok(Lock::new(fs, root, store, key, None)),
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {}
        Err(e) => return Err(e),
    }
    drop(store);
    let name = format!("{LOCK}{key}");
    let (mut gone, mut waited) = (0, 0);
    while waited < 10_000 {
        // Another merge's lock, released, may have removed the store's
        // directory it found empty: it is made again.
        let store = match sub(fs, root, ROOT, true) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound && gone < 100 => {
                gone += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        while waited < 10_000 {
            waited += 1;
            match fs.create_dir(&store, OsStr::new(&name), None) {
                Ok(()) => return Ok(Lock::new(fs, root, store, key, Some(name))),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                // Its directory was removed meanwhile: make it again.
                Err(e) if e.kind() == io::ErrorKind::NotFound && gone < 100 => {
                    gone += 1;
                    break;
                }
                Err(e) => return Err(e),
            }
            let now = fs.clock(&store);
            if let Ok(m) = fs.stat_at(&store, OsStr::new(&name))
                && m.ctime.is_some_and(|c| now.secs - c.secs > STALE_SECS)
            {
                let _ = fs.remove_dir(&store, OsStr::new(&name));
                continue;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        "another merge holds the clobber store's lock of this path",
    ))
}

/// How a version gets into the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum By {
    /// A second name for TARGET's file, which a rename then replaces.
    Link,
    /// The staged file itself, moved.
    Rename,
}

/// One kept version of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    /// Its name in the path's store directory.
    pub name: OsString,
    /// Its digest.
    pub version: Version,
}

/// The store directory of `path`, relative to TARGET's root.
pub fn key(path: &Path) -> String {
    let d = Sha256::digest(path.as_os_str().as_encoded_bytes());
    hex::encode(&d[..16])
}

/// A kept version's name.
fn entry_name(stamp: Stamp, v: &Version) -> String {
    format!(
        "{:020}.{:09}-{}",
        stamp.secs.max(0),
        stamp.nanos,
        hex::encode(v)
    )
}

fn parse(name: &OsStr) -> Option<Version> {
    let (_, digest) = name.to_str()?.rsplit_once('-')?;
    let mut v = [0; 32];
    hex::decode_to_slice(digest, &mut v).ok()?;
    Some(v)
}

/// Opens (creating with `create`) `name` in `dir`.
pub(crate) fn sub<F: Fs>(fs: &F, dir: &F::Dir, name: &str, create: bool) -> io::Result<F::Dir> {
    let name = OsStr::new(name);
    // An uninstall removes an emptied directory of the store; a merge that
    // created it a moment before opens it again.
    for _ in 0..8 {
        match fs.open_dir(dir, name) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                // The default mode (0777 less the umask): one call, no chmod.
                match fs.create_dir(dir, name, None) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
            r => return r,
        }
    }
    fs.open_dir(dir, name)
}

/// The directory of `path`'s kept versions.
fn dir_of<F: Fs>(fs: &F, root: &F::Dir, path: &Path, create: bool) -> io::Result<F::Dir> {
    let open = || {
        let store = sub(fs, root, ROOT, create)?;
        let clobbered = sub(fs, &store, CLOBBERED, create)?;
        sub(fs, &clobbered, &key(path), create)
    };
    // A lock released meanwhile may have removed an empty directory of the
    // store between its opening and the making of the one below it.
    let mut r = open();
    for _ in 0..8 {
        match &r {
            Err(e) if create && e.kind() == io::ErrorKind::NotFound => r = open(),
            _ => break,
        }
    }
    r
}

/// A version to keep: of which path, which, and by the merge that started
/// when.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Keeping<'p> {
    pub(crate) path: &'p Path,
    pub(crate) version: Version,
    pub(crate) stamp: Stamp,
}

/// The versions of one path in the store, oldest first, and their
/// directory.
pub(crate) struct Stored<'r, D> {
    pub(crate) dir: Handle<'r, D>,
    pub(crate) kept: Vec<Kept>,
}

/// Keeps `from/name` (a file or symlink) as `k`. The same version kept by
/// the same merge is there already: nothing to do (a staged file moved
/// `By::Rename` is then removed, the store having its bytes).
pub(crate) fn keep<F: Fs>(
    fs: &F,
    root: &F::Dir,
    k: Keeping<'_>,
    from: &F::Dir,
    name: &OsStr,
    by: By,
) -> io::Result<()> {
    let dir = dir_of(fs, root, k.path, true)?;
    let to = OsString::from(entry_name(k.stamp, &k.version));
    log::debug!("store: keep {to:?} of {} by {by:?}", k.path.display());
    let r = match by {
        By::Link => fs.link(from, name, &dir, &to),
        By::Rename => match fs.rename_noreplace(from, name, &dir, &to) {
            Err(e) if e.kind() == io::ErrorKind::Unsupported => fs
                .link(from, name, &dir, &to)
                .and_then(|()| fs.remove_file(from, name)),
            r => r,
        },
    };
    match r {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match by {
            By::Link => Ok(()),
            By::Rename => fs.remove_file(from, name),
        },
        r => r,
    }
}

/// The versions of `path` in the store; `None` when the store has none.
pub(crate) fn versions<'r, F: Fs>(
    fs: &F,
    root: &'r F::Dir,
    path: &Path,
) -> io::Result<Option<Stored<'r, F::Dir>>> {
    let dir = match dir_of(fs, root, path, false) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let listed = match fs.read_dir(&dir) {
        Ok(l) => l,
        // Removed since it was opened (by another machine, through a
        // client whose lookup was cached): no versions.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut kept: Vec<Kept> = listed
        .into_iter()
        .filter_map(|e| {
            Some(Kept {
                version: parse(&e.name)?,
                name: e.name,
            })
        })
        .collect();
    kept.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Some(Stored {
        dir: Handle::Owned(dir),
        kept,
    }))
}

/// Removes the versions of `path` that `needed` says no package needs, and
/// the store directories that leaves empty. Returns how many it removed.
pub(crate) fn prune<F: Fs>(
    fs: &F,
    root: &F::Dir,
    path: &Path,
    needed: &dyn Fn(&Version) -> bool,
) -> io::Result<u64> {
    let Some(Stored { dir, kept }) = versions(fs, root, path)? else {
        return Ok(0);
    };
    let mut removed = 0;
    let mut left = 0;
    for k in kept {
        if needed(&k.version) {
            left += 1;
            continue;
        }
        log::debug!("store: prune removes {:?} of {}", k.name, path.display());
        match fs.remove_file(dir.get(), &k.name) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    drop(dir);
    if left == 0 {
        remove_empty(fs, root, path);
    }
    Ok(removed)
}

/// Which versions of a path some package needs, as the records say now.
pub type Needed = Box<dyn Fn(&Version) -> bool>;

/// Removes, under `path`'s lock, its kept versions that no package needs,
/// as `needed` says when asked under the lock (it reads the records then:
/// no version of another's is linked in while the lock is held, and a merge
/// links one later only while a record still lists it), kept no later than
/// just before that read (a staged version that lost is moved in without
/// the lock, by a merge that may have begun after it), and the store's
/// directories left empty. Nothing where the store has no directory for `path`. Returns how
/// many versions it removed.
///
/// A merge calls it for the paths whose version its own earlier record
/// listed and its new record no longer does: a concurrent merge may have
/// kept that version for it meanwhile.
pub fn sweep<F: Fs>(
    fs: &F,
    root: &F::Dir,
    path: &Path,
    needed: &dyn Fn() -> io::Result<Needed>,
) -> io::Result<u64> {
    match dir_of(fs, root, path, false) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    let lock = lock(fs, root, path)?;
    // A staged version that lost is moved into the store without the lock
    // (by the merge whose journal lists it): one kept after this stamp may
    // be a merge's that the records read below do not show yet, so only
    // what was kept by then is judged (regression: the sweep removed a
    // concurrent merge's lost version, found by the lifecycle test).
    let before = fs.clock(root);
    crate::merge::wait_past(fs, root, before);
    let needed = needed()?;
    let removed = lock.prune_before(&*needed, before)?;
    drop(lock);
    remove_empty(fs, root, path);
    Ok(removed)
}

/// Removes `path`'s store directory and the store's own directories if
/// they are empty; a merge adding to them meanwhile keeps them.
fn remove_empty<F: Fs>(fs: &F, root: &F::Dir, path: &Path) {
    if let Ok(store) = fs.open_dir(root, OsStr::new(ROOT)) {
        remove_empty_in(fs, root, &store, &key(path));
    }
}

/// [`remove_empty`] with the store's directory open and the path's key.
fn remove_empty_in<F: Fs>(fs: &F, root: &F::Dir, store: &F::Dir, key: &str) {
    if remove_kept_dirs(fs, store, Some(key)) {
        let _ = fs.remove_dir(root, OsStr::new(ROOT));
    }
}

/// Removes the directory of kept versions of the path `key` (if given) and
/// `clobbered` if they are empty; whether `clobbered` is gone.
fn remove_kept_dirs<F: Fs>(fs: &F, store: &F::Dir, key: Option<&str>) -> bool {
    let Ok(clobbered) = fs.open_dir(store, OsStr::new(CLOBBERED)) else {
        return true;
    };
    if let Some(key) = key {
        let _ = fs.remove_dir(&clobbered, OsStr::new(key));
    }
    if !fs.read_dir(&clobbered).is_ok_and(|e| e.is_empty()) {
        return false;
    }
    drop(clobbered);
    fs.remove_dir(store, OsStr::new(CLOBBERED)).is_ok()
}

/// Removes the store's directories where they are empty (an uninstall's
/// last step: a merge leaves the store's own directory, whose lock others
/// may be waiting for).
pub(crate) fn tidy<F: Fs>(fs: &F, root: &F::Dir) {
    if let Ok(store) = fs.open_dir(root, OsStr::new(ROOT))
        && remove_kept_dirs(fs, &store, None)
    {
        drop(store);
        let _ = fs.remove_dir(root, OsStr::new(ROOT));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memfs::MemFs;

    #[test]
    fn a_kept_version_is_found_by_its_path_and_pruned_when_unneeded() {
        let fs = MemFs::new();
        fs.file("t/lib/a", b"old");
        let t = fs.mkdirs("t");
        let lib = fs.mkdirs("t/lib");
        fs.file("t/lib/b", b"staged");
        let (v1, v2) = ([1; 32], [2; 32]);
        let p = Path::new("lib/a");
        let early = Keeping {
            path: p,
            version: v1,
            stamp: Stamp { secs: 5, nanos: 1 },
        };
        keep(&fs, &t, early, &lib, OsStr::new("a"), By::Link).unwrap();
        keep(&fs, &t, early, &lib, OsStr::new("a"), By::Link).unwrap();
        let late = Keeping {
            path: p,
            version: v2,
            stamp: Stamp { secs: 10, nanos: 0 },
        };
        keep(&fs, &t, late, &lib, OsStr::new("b"), By::Rename).unwrap();
        assert!(!fs.tree(lib).contains_key("b"), "moved");
        let stored = versions(&fs, &t, p).unwrap().unwrap();
        let got: Vec<_> = stored.kept.iter().map(|k| k.version).collect();
        assert_eq!(
            got,
            [v1, v2],
            "oldest first, one entry per version and merge"
        );
        assert!(versions(&fs, &t, Path::new("lib/b")).unwrap().is_none());
        assert_eq!(prune(&fs, &t, p, &|v| v == &v2).unwrap(), 1);
        assert_eq!(prune(&fs, &t, p, &|_| false).unwrap(), 1);
        let left: Vec<String> = fs.tree(t).into_keys().collect();
        assert_eq!(left, ["lib", "lib/a"], "the emptied store is removed");
    }
}
