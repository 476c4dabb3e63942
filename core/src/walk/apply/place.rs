//! Placing an entry whose name is free in TARGET: one no-replace rename, or
//! the portable fallback where the filesystem refuses the flag (link +
//! unlink for a file; a directory gets [`Step::CreateDir`] instead).

use std::ffi::OsStr;
use std::io;

use crate::error::{Op, Side};
use crate::fs::Fs;
use crate::step::Step;

use super::super::executor::Outcome;
use super::super::frame::Frame;
use super::unlock::{denied, owned_read_only, unlock};
use super::{Apply, Here, Restore};

/// Moves `stage/name` to `target/name` if that name is free:
/// `AlreadyExists` means it is taken.
fn move_in<F: Fs>(
    fs: &F,
    stage: &F::Dir,
    target: &F::Dir,
    name: &OsStr,
    fallback: bool,
) -> Result<(), (Op, io::Error)> {
    if !fallback {
        return fs
            .rename_noreplace(stage, name, target, name)
            .map_err(|e| (Op::Rename, e));
    }
    match fs.link(stage, name, target, name) {
        Ok(()) => {}
        // A link the client sent twice: the first one made it.
        Err(e)
            if e.kind() == io::ErrorKind::AlreadyExists
                && fs
                    .stat_at(stage, name)
                    .is_ok_and(|m| crate::retry::done_before(fs, target, name, m.id(), &e)) => {}
        Err(e) => return Err((Op::Link, crate::retry::taken_if_there(fs, target, name, e))),
    }
    // Linked: the entry is safe in TARGET. If the unlink fails, both names
    // exist; a rerun finds them identical and removes the staged one.
    fs.remove_file(stage, name).map_err(|e| (Op::Remove, e))
}

impl Apply<'_> {
    /// [`Step::PlaceDir`] and [`Step::Place`].
    pub(super) fn place<F: Fs>(
        &mut self,
        at: &mut Here<'_, '_, F>,
        step: &Step,
    ) -> Outcome<Restore> {
        let (fs, name, fr) = (at.cx.fs, at.name, &mut *at.fr);
        let fallback = fr.how.fallback;
        let mut r = move_in(fs, fr.stage.get(), fr.target(), name, fallback);
        if matches!(&r, Err((_, e)) if e.kind() == io::ErrorKind::PermissionDenied) {
            if unlock(fs, fr) {
                r = move_in(fs, fr.stage.get(), fr.target(), name, fallback);
            } else if matches!(step, Step::PlaceDir)
                && let Some(moved) = read_only_dir(fs, fr, name)
            {
                r = moved;
            }
        }
        match r {
            Ok(()) => Outcome::Done(Restore::default()),
            Err((_, e)) if e.kind() == io::ErrorKind::AlreadyExists => Outcome::Taken,
            Err((op, e)) if crate::retry::vanished(fs, fr.stage.get(), name, &e) => {
                Outcome::Vanished(op, e)
            }
            Err((Op::Rename, e)) if e.kind() == io::ErrorKind::Unsupported => {
                let dev = fr.target_meta.as_ref().map_or(0, |m| m.dev);
                log::debug!(
                    "device {dev} refuses the no-replace rename ({e}): placing files by \
                     link + unlink and directories by mkdir + children there"
                );
                self.flagless.push(dev);
                Outcome::Refused
            }
            Err((_, e)) if e.kind() == io::ErrorKind::CrossesDevices => {
                log::debug!(
                    "{}: rename crosses filesystems, copying",
                    at.cx.rel.display()
                );
                Outcome::Crosses
            }
            Err((op, e)) => Outcome::Failed(op, Side::Stage, e),
        }
    }

    /// [`Step::CreateDir`]: an empty directory with the staged one's mode;
    /// a copied one gets the staged one's times back when it is left.
    pub(super) fn create_dir<F: Fs>(&mut self, at: &mut Here<'_, '_, F>) -> Outcome<Restore> {
        let (fs, name, fr) = (at.cx.fs, at.name, &mut *at.fr);
        let smeta = match fs.stat_at(fr.stage.get(), name) {
            Ok(m) => m,
            Err(err) => return Outcome::Failed(Op::Stat, Side::Stage, err),
        };
        let mut r = fs
            .create_dir(fr.target(), name, smeta.mode)
            .map_err(|e| crate::retry::taken_if_there(fs, fr.target(), name, e));
        if denied(&r) && unlock(fs, fr) {
            r = fs.create_dir(fr.target(), name, smeta.mode);
        }
        let copied = fr.how.copies();
        match r {
            Ok(()) => Outcome::Done(Restore {
                times: smeta.atime.zip(smeta.mtime).filter(|_| copied),
                ..Restore::default()
            }),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Outcome::Taken,
            Err(e) if crate::retry::vanished(fs, fr.stage.get(), name, &e) => {
                Outcome::Vanished(Op::CreateDir, e)
            }
            Err(e) => Outcome::Failed(Op::CreateDir, Side::Target, e),
        }
    }
}

/// The staged non-directories `names` of `fr` moved into TARGET by
/// [`move_in`], `lanes` at a time (this thread one of them), each name
/// taken by the next free lane; which were placed. A lane that cannot be
/// started leaves its share to the others.
pub(super) fn move_many<F: Fs>(
    fs: &F,
    fr: &Frame<'_, F::Dir, Restore>,
    names: &[&OsStr],
    lanes: usize,
) -> Vec<bool> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let (stage, target, fallback) = (fr.stage.get(), fr.target(), fr.how.fallback);
    let next = AtomicUsize::new(0);
    let placed: Vec<AtomicBool> = names.iter().map(|_| AtomicBool::new(false)).collect();
    let lane = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(name) = names.get(i) else { break };
            if move_in(fs, stage, target, name, fallback).is_ok() {
                placed[i].store(true, Ordering::Relaxed);
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 1..lanes.min(names.len()) {
            if let Err(e) = std::thread::Builder::new().spawn_scoped(s, lane) {
                log::debug!("one lane fewer for placements: {e}");
                break;
            }
        }
        lane();
    });
    placed.into_iter().map(AtomicBool::into_inner).collect()
}

/// Moving a directory to another parent rewrites its `..`, which needs
/// write permission on the directory itself: grant it for the one rename
/// when the running user owns the directory, then restore it. `None` when
/// that cannot help.
fn read_only_dir<F: Fs>(
    fs: &F,
    fr: &Frame<'_, F::Dir, Restore>,
    name: &OsStr,
) -> Option<Result<(), (Op, io::Error)>> {
    let euid = fs.euid()?;
    let dir = fs.open_dir(fr.stage.get(), name).ok()?;
    let mode = owned_read_only(&fs.stat_dir(&dir).ok()?, euid)?;
    fs.set_dir_mode(&dir, mode | 0o200).ok()?;
    let moved = move_in(fs, fr.stage.get(), fr.target(), name, fr.how.fallback);
    // The directory is in TARGET now (or still staged); either way its mode
    // goes back to what it was.
    let _ = fs.set_dir_mode(&dir, mode);
    Some(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memfs::MemFs;

    #[test]
    fn the_fallback_links_then_unlinks() {
        let fs = MemFs::new();
        fs.file("s/f", b"x");
        let (s, t) = (fs.mkdirs("s"), fs.mkdirs("t"));
        move_in(&fs, &s, &t, OsStr::new("f"), true).unwrap();
        assert!(fs.tree(t).contains_key("f") && fs.tree(s).is_empty());
        fs.file("s/f", b"y");
        let (op, e) = move_in(&fs, &s, &t, OsStr::new("f"), true).unwrap_err();
        assert_eq!((op, e.kind()), (Op::Link, io::ErrorKind::AlreadyExists));
        assert!(
            fs.tree(s).contains_key("f"),
            "a taken name leaves the staged file"
        );
    }

    #[test]
    fn placements_in_flight_place_each_free_name_once_and_leave_taken_ones() {
        use crate::handle::Handle;
        use crate::walk::decide::How;
        let fs = MemFs::new();
        let names: Vec<String> = (0..40).map(|i| format!("f{i}")).collect();
        for n in &names {
            fs.file(&format!("s/{n}"), n.as_bytes());
        }
        fs.file("t/f7", b"theirs");
        let (s, t) = (fs.mkdirs("s"), fs.mkdirs("t"));
        let fr = Frame {
            stage: Handle::Owned(s),
            target: Some(Handle::Owned(t)),
            target_meta: None,
            name: "s".into(),
            entries: Vec::new().into_iter(),
            phys: Vec::new(),
            how: How {
                fallback: true,
                ..How::default()
            },
            fresh: false,
            hot: false,
            taken: false,
            wrote: false,
            left: 0,
            extra: Restore::default(),
        };
        let os: Vec<&OsStr> = names.iter().map(OsStr::new).collect();
        let placed = move_many(&fs, &fr, &os, 8);
        for (n, p) in names.iter().zip(&placed) {
            assert_eq!(*p, n != "f7", "{n}");
        }
        let t = fs.tree(t);
        assert_eq!(t.len(), 40);
        assert_eq!(
            fs.tree(s).keys().collect::<Vec<_>>(),
            ["f7"],
            "the taken one stays staged"
        );
    }

    #[test]
    fn a_link_already_made_by_a_repeated_call_counts_as_placed() {
        let fs = MemFs::new();
        fs.file("s/f", b"x");
        let (s, t) = (fs.mkdirs("s"), fs.mkdirs("t"));
        let f = OsStr::new("f");
        // The server carried out the first link; the client's repeat gets
        // EEXIST for our own inode.
        fs.link(&s, f, &t, f).unwrap();
        move_in(&fs, &s, &t, f, true).unwrap();
        assert!(fs.tree(t).contains_key("f") && fs.tree(s).is_empty());
    }
}
