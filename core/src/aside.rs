//! Replaced versions set aside for readers on other machines (issue 26, 3).
//!
//! On a filesystem that another machine's client may show from its cache
//! (sshfs, GlusterFS, NFS: [`Fs::caches_views`]), a program there that
//! opens a file by a name it looked up a moment ago reaches the inode that
//! name had then. When a merge replaces the file and the old inode goes
//! with its last name, that open fails with `ESTALE` (GlusterFS: one open
//! in twenty while merges replace the file), and an NFS client's program
//! that has the file mapped loses its pages. So before the replacing
//! rename the merge links TARGET's version into
//! `TARGET/.stagemerge/aside/<stamp>-<dev>-<ino>`: the old inode lives on
//! under that name, readers on other machines keep reading it until their
//! caches catch up, and a later merge on that filesystem removes names
//! older than [`KEEP_SECS`]. A local filesystem keeps an open file's inode
//! itself and its readers look names up afresh: nothing is set aside there.

use std::ffi::{OsStr, OsString};
use std::io;

use crate::fs::{Fs, Meta, Stamp};
use crate::ownership::store::{ROOT, sub};

/// The directory below the store's root ([`ROOT`]) that holds them.
pub(crate) const ASIDE: &str = "aside";

/// How long a version set aside is kept: long past any client's cache
/// (sshfs 20 s, NFS at most 60 s by default) and a working day of a
/// program on another machine that has the old file open or mapped.
pub(crate) const KEEP_SECS: i64 = 24 * 60 * 60;

/// Links `dir/name`, TARGET's entry `meta` about to be replaced, into the
/// aside directory of TARGET's root `root`, stamped `stamp` (the merge's
/// start). The same inode set aside already (by another merge replacing
/// it too) is not an error.
pub(crate) fn set_aside<F: Fs>(
    fs: &F,
    root: &F::Dir,
    dir: &F::Dir,
    name: &OsStr,
    meta: &Meta,
    stamp: Stamp,
) -> io::Result<()> {
    let store = sub(fs, root, ROOT, true)?;
    let aside = sub(fs, &store, ASIDE, true)?;
    let to = OsString::from(entry_name(stamp, meta));
    log::debug!("{name:?}: replaced version set aside as {to:?}");
    match fs.link(dir, name, &aside, &to) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        r => r,
    }
}

/// Removes from TARGET's aside directory the versions set aside more than
/// [`KEEP_SECS`] before `now` (TARGET's clock); returns how many. Names
/// that are not the tool's (no stamp) are left alone, and a name another
/// merge removed meanwhile is not an error.
pub(crate) fn prune<F: Fs>(fs: &F, root: &F::Dir, now: Stamp) -> io::Result<usize> {
    let absent = |e: &io::Error| e.kind() == io::ErrorKind::NotFound;
    let store = match fs.open_dir(root, OsStr::new(ROOT)) {
        Err(e) if absent(&e) => return Ok(0),
        r => r?,
    };
    let aside = match fs.open_dir(&store, OsStr::new(ASIDE)) {
        Err(e) if absent(&e) => return Ok(0),
        r => r?,
    };
    let mut removed = 0;
    for e in fs.read_dir(&aside)? {
        let Some(secs) = stamp_of(&e.name) else {
            continue;
        };
        if now.secs.saturating_sub(secs) < KEEP_SECS {
            continue;
        }
        match fs.remove_file(&aside, &e.name) {
            Ok(()) => removed += 1,
            Err(e) if absent(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// `<secs>.<nanos>-<dev>-<ino>`: sorts by age; the inode makes it unique.
fn entry_name(stamp: Stamp, meta: &Meta) -> String {
    format!(
        "{:020}.{:09}-{}-{}",
        stamp.secs.max(0),
        stamp.nanos,
        meta.dev,
        meta.ino
    )
}

/// The seconds of a name [`entry_name`] made.
fn stamp_of(name: &OsStr) -> Option<i64> {
    let (secs, rest) = name.to_str()?.split_once('.')?;
    let mut parts = rest.split('-');
    let well_formed = parts.next()?.parse::<u32>().is_ok()
        && parts.next()?.parse::<u64>().is_ok()
        && parts.next()?.parse::<u64>().is_ok()
        && parts.next().is_none();
    well_formed.then(|| secs.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memfs::MemFs;

    fn at(secs: i64) -> Stamp {
        Stamp { secs, nanos: 5 }
    }

    #[test]
    fn a_replaced_version_set_aside_keeps_its_inode_until_pruned_a_day_later() {
        let fs = MemFs::new();
        fs.file("t/lib/x.so", b"old");
        let (root, lib) = (fs.mkdirs("t"), fs.mkdirs("t/lib"));
        let meta = fs.stat_at(&lib, OsStr::new("x.so")).unwrap();
        set_aside(&fs, &root, &lib, OsStr::new("x.so"), &meta, at(1000)).unwrap();
        // A second merge replacing the same inode: nothing more to do.
        set_aside(&fs, &root, &lib, OsStr::new("x.so"), &meta, at(1001)).unwrap();
        let kept = |fs: &MemFs| {
            fs.tree(fs.mkdirs("t"))
                .into_iter()
                .filter(|(p, _)| p.starts_with(".stagemerge/aside/"))
                .count()
        };
        assert_eq!(kept(&fs), 2, "one name per merge that set it aside");
        fs.file("t/.stagemerge/aside/notes", b"not the tool's");
        assert_eq!(prune(&fs, &root, at(1000 + KEEP_SECS - 1)).unwrap(), 0);
        assert_eq!(prune(&fs, &root, at(1001 + KEEP_SECS)).unwrap(), 2);
        assert_eq!(kept(&fs), 1, "a name without a stamp stays");
        assert!(fs.tree(fs.mkdirs("t")).contains_key("lib/x.so"));
    }

    #[test]
    fn pruning_a_target_without_a_store_does_nothing() {
        let fs = MemFs::new();
        let root = fs.mkdirs("t");
        assert_eq!(prune(&fs, &root, at(i64::MAX)).unwrap(), 0);
        assert!(fs.tree(root).is_empty());
    }

    #[test]
    fn only_names_the_tool_made_have_a_stamp() {
        let meta_name = "00000000000000001000.000000005-7-9";
        assert_eq!(stamp_of(OsStr::new(meta_name)), Some(1000));
        for other in [
            "1000",
            "1000.5",
            "1000.5-7",
            "1000.x-7-9",
            "a.5-7-9",
            "1000.5-7-9-1",
        ] {
            assert_eq!(stamp_of(OsStr::new(other)), None, "{other}");
        }
    }
}
