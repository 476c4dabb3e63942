//! The clobber store and protected files, from the merge's side: TARGET's
//! version is linked into the store just before a rename replaces it, a
//! staged version that lost is moved there, and an edited protected
//! file's update is placed beside it.

use std::ffi::OsString;
use std::io;

use crate::error::{Op, Side};
use crate::fs::Fs;
use crate::ownership::store::{self, By, Keeping};
use crate::ownership::{NEW_SUFFIX, Version, version_at};

use super::super::executor::Outcome;
use super::{Apply, Here, Restore, replaced_err};

impl Apply<'_> {
    /// Before TARGET's entry is replaced: where a package other than the
    /// merge's own lists the path, takes the path's store lock (held until
    /// the replacing rename is done), checks that TARGET still holds the
    /// entry the walk decided on (`Raced` if not: another merge replaced it
    /// meanwhile), and keeps its version in the store when another package
    /// may need it. An error stops the replacement, so nothing is lost.
    pub(super) fn keep_replaced<'f, F: Fs>(
        &mut self,
        at: &Here<'_, 'f, F>,
    ) -> Outcome<Option<store::Lock<'f, F>>> {
        let Some(own) = &at.cx.opts.ownership else {
            return Outcome::Done(None);
        };
        let (fs, fr, name, rel) = (at.cx.fs, &*at.fr, at.name, &at.cx.rel);
        // Every replacement takes the lock, an upgrade of the package's own
        // file too: a merge that began later than this one's read of the
        // records may replace the same entry, and only the re-check under
        // the lock keeps the two from hiding each other's version (issue 23:
        // an upgrade and a peer both replacing the package's old file, the
        // peer having read the old record, the upgrade not the peer's
        // journal).
        let lock = match store::lock(fs, at.cx.target_root, rel) {
            Ok(l) => l,
            Err(e) => return Outcome::Failed(Op::CreateDir, Side::Target, e),
        };
        let meta = match fs.stat_at(fr.target(), name) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Outcome::Raced,
            Err(e) => return Outcome::Failed(Op::Stat, Side::Target, e),
        };
        // Another merge replaced the entry after the walk compared it: its
        // version is not the one decided on (and may be a concurrent
        // write, which the first writer keeps). Look again.
        if at.seen.is_some_and(|seen| seen != meta.id()) {
            return Outcome::Raced;
        }
        // Where no other package lists the path (an upgrade of the
        // package's own file), there is nothing to keep or prune: the lock
        // and the re-check were all that was needed.
        let shared = own.owners.others_versions(rel).next().is_some()
            || own.late.as_ref().is_some_and(|l| l.lists(rel));
        if !shared {
            return Outcome::Done(Some(lock));
        }
        let v = match version_at(fs, fr.target(), name, &meta) {
            Ok(Some(v)) => v,
            Ok(None) => return Outcome::Done(Some(lock)),
            Err(e) => return Outcome::Failed(Op::Read, Side::Target, e),
        };
        if own.worth_keeping_now(rel, &v) {
            let k = keeping(at, v);
            if let Err(e) = store::keep(fs, at.cx.target_root, k, fr.target(), name, By::Link) {
                return Outcome::Failed(Op::Link, Side::Target, e);
            }
        }
        // Versions no other package lists any more (the package's own from
        // before an upgrade, an uninstalled one's) go, so that the store
        // holds what installed packages need: those kept before this merge
        // started, by merges whose records it read. A failure only leaves
        // them for the next prune.
        if let Some(start) = at.cx.start {
            let _ = lock.prune_before(&|kept| own.worth_keeping(rel, kept), start);
        }
        Outcome::Done(Some(lock))
    }

    /// A staged version that lost to TARGET's ([`crate::Step::Keep`],
    /// [`crate::Step::KeepConcurrent`]): moved into the store when the merge
    /// keeps one, else left in STAGE.
    pub(super) fn store_lost<F: Fs>(&mut self, at: &Here<'_, '_, F>) -> Outcome<Restore> {
        if !at.fr.how.stores_lost() {
            return Outcome::Done(Restore::default());
        }
        let (fs, fr, name) = (at.cx.fs, &*at.fr, at.name);
        let meta = match fs.stat_at(fr.stage.get(), name) {
            Ok(m) => m,
            Err(e) => return Outcome::Failed(Op::Stat, Side::Stage, e),
        };
        let v = match version_at(fs, fr.stage.get(), name, &meta) {
            Ok(Some(v)) => v,
            // Not a file or symlink: it stays staged.
            Ok(None) => return Outcome::Done(Restore::default()),
            Err(e) => return Outcome::Failed(Op::Read, Side::Stage, e),
        };
        match store::keep(
            fs,
            at.cx.target_root,
            keeping(at, v),
            fr.stage.get(),
            name,
            By::Rename,
        ) {
            Ok(()) => {
                self.stored = true;
                Outcome::Done(Restore::default())
            }
            Err(e) => Outcome::Failed(Op::Rename, Side::Stage, e),
        }
    }

    /// [`crate::Step::Protect`]: the staged file goes to `NAME.stagemerge-new`
    /// beside TARGET's, whole (one rename, or a copy renamed there),
    /// replacing an older update waiting there.
    pub(super) fn protect<F: Fs>(&mut self, at: &Here<'_, '_, F>) -> Outcome<Restore> {
        let (fs, fr, name) = (at.cx.fs, &*at.fr, at.name);
        let mut new = OsString::from(name);
        new.push(NEW_SUFFIX);
        let r = if fr.how.copies() {
            fs.stat_at(fr.stage.get(), name)
                .and_then(|m| fs.copy_in(fr.stage.get(), name, &m, fr.target(), &new, true))
                .map_err(|e| (Op::Copy, e))
        } else {
            fs.rename_replace(fr.stage.get(), name, fr.target(), &new)
                .map_err(|e| (Op::Rename, e))
        };
        match r {
            Ok(()) => Outcome::Done(Restore::default()),
            Err((op, e)) => replaced_err(op, e),
        }
    }
}

/// The version `v` of the entry `at`, kept by this merge.
fn keeping<'h, F: Fs>(at: &'h Here<'_, '_, F>, v: Version) -> Keeping<'h> {
    Keeping {
        path: &at.cx.rel,
        version: v,
        stamp: at
            .cx
            .start
            .unwrap_or_else(|| at.cx.fs.clock(at.cx.target_root)),
    }
}
