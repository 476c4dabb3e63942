//! The walk: STAGE top-down, each entry classified against TARGET and carried
//! out, holding only the handles of the current path (memory O(depth) plus
//! the listing of one directory per level).

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

use crate::classify::{Decision, Verdict, classify, on_difference};
use crate::compare::{Buffers, identical};
use crate::error::{Error, Op, Side};
use crate::fs::{Entry, Fs, Kind, Meta, Stamp};
use crate::handle::Handle;
use crate::options::Options;
use crate::place::{Placed, Strategy};
use crate::record::Listings;
use crate::report::{ConflictReason, Left, Problem, Report, Warning};
use crate::resolve::{Refusal, open_phys, resolve_dir};

/// How often one entry is re-examined when TARGET keeps changing under it
/// (each time another merge won a race for the same name).
const MAX_TRIES: usize = 8;

/// What happened to one staged entry, for `--verbose` listings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A directory was moved whole by one rename.
    MovedDir,
    /// A non-directory was moved.
    Moved,
    /// A non-directory was copied into place (STAGE keeps the original).
    Copied,
    /// A directory was created in TARGET by the fallback; its children follow.
    CreatedDir,
    /// A directory merged into an existing one; its children follow.
    MergedDir,
    /// Identical in TARGET; the staged copy was removed.
    Identical,
    /// Replaced a different TARGET entry.
    Replaced,
    /// Kept a different TARGET entry (`--on-conflict keep`).
    Kept,
    /// Kept a different TARGET entry another merge placed meanwhile.
    ConcurrentWrite,
    /// Not merged: a conflict.
    Conflict,
    /// Not merged: an I/O error.
    Error,
}

impl Action {
    /// The action's word in `--verbose` listings.
    pub fn word(self) -> &'static str {
        match self {
            Action::MovedDir => "moved-dir",
            Action::Moved => "moved",
            Action::Copied => "copied",
            Action::CreatedDir => "mkdir",
            Action::MergedDir => "merge-dir",
            Action::Identical => "identical",
            Action::Replaced => "replaced",
            Action::Kept => "kept",
            Action::ConcurrentWrite => "concurrent",
            Action::Conflict => "conflict",
            Action::Error => "error",
        }
    }
}

/// Merges the tree below `stage` into `target`, by the rules of SPEC.md.
///
/// Every staged entry ends either in TARGET or still in STAGE; staged
/// directories emptied by the merge are removed (never `stage` itself).
/// `on_action` is called once per entry examined, with its path relative to
/// both roots.
///
/// Returns `Err` only when nothing could be done: a root cannot be examined or
/// listed, or both handles are the same directory. Everything else, including
/// I/O errors on single entries, is in the [`Report`].
pub fn merge<F: Fs>(
    fs: &F,
    stage: &F::Dir,
    target: &F::Dir,
    opts: &Options,
    on_action: &mut dyn FnMut(&Path, Action),
) -> Result<Report, Error> {
    merge_listed(fs, stage, target, opts, Listings::default(), on_action)
}

/// [`merge`], taking each staged directory's listing from `listings` (a
/// [`crate::record::scan`] of this STAGE made just before) where it has
/// one, instead of listing the directory again.
pub fn merge_listed<F: Fs>(
    fs: &F,
    stage: &F::Dir,
    target: &F::Dir,
    opts: &Options,
    listings: Listings,
    on_action: &mut dyn FnMut(&Path, Action),
) -> Result<Report, Error> {
    let roots = crate::roots::examine(fs, stage, target)?;
    let (smeta, tmeta) = (roots.stage, roots.target);
    let entries = sorted(roots.entries);
    let start = fs.clock(target);
    let mut m = Merger {
        fs,
        opts,
        target_root: target,
        stage_root: smeta.id(),
        start,
        strategy: Strategy::new(opts.force_fallback),
        report: Report::default(),
        on_action,
        rel: PathBuf::new(),
        bufs: Buffers::new(),
        written: HashSet::new(),
        links: HashMap::new(),
        listings,
    };
    if opts.copy {
        m.clean_temps(target);
    }
    let root = Frame {
        stage: Handle::Borrowed(stage),
        target: Handle::Borrowed(target),
        name: OsString::new(),
        entries: entries.into_iter(),
        phys: Vec::new(),
        target_meta: tmeta,
        fresh: false,
        hot: false,
        left: 0,
        restore_stage: None,
        restore_target: None,
        copy: opts.copy,
        across: false,
        taken: false,
        times: None,
    };
    m.run(root);
    Ok(m.report)
}

fn sorted(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_unstable_by(|a, b| a.name.as_encoded_bytes().cmp(b.name.as_encoded_bytes()));
    entries
}

/// What a directory's frame inherits from how the directory was reached.
#[derive(Clone, Copy, Debug, Default)]
struct Child {
    copy: bool,
    across: bool,
    times: Option<(Stamp, Stamp)>,
}

/// One level of the walk: a staged directory and the TARGET directory its
/// children go into.
struct Frame<'a, D> {
    stage: Handle<'a, D>,
    target: Handle<'a, D>,
    /// Name of `stage` in its parent (empty for the root).
    name: OsString,
    entries: std::vec::IntoIter<Entry>,
    /// Where `target` is, as components below TARGET's root (symlinks resolved).
    phys: Vec<OsString>,
    target_meta: Meta,
    /// This TARGET directory did not exist when the merge first looked:
    /// another merge made it meanwhile, so everything in it is theirs.
    fresh: bool,
    /// This TARGET directory changed after the merge started (as it was first
    /// entered): a different file in it may be a concurrent merge's.
    hot: bool,
    /// Entries of `stage` that stay in STAGE.
    left: u64,
    restore_stage: Option<u32>,
    restore_target: Option<u32>,
    /// Copy instead of moving below here: `--copy`, or a rename crossed
    /// filesystems. STAGE is not changed in a copy frame.
    copy: bool,
    /// The copying started because a rename crossed filesystems.
    across: bool,
    /// The previous name looked up here was taken: look before placing.
    taken: bool,
    /// Times to give `target` when done (a directory this merge created by
    /// copying: its children's arrival changed them).
    times: Option<(Stamp, Stamp)>,
}

struct Merger<'a, 'b, F: Fs> {
    fs: &'a F,
    opts: &'a Options,
    target_root: &'a F::Dir,
    stage_root: (u64, u64),
    start: Stamp,
    strategy: Strategy,
    report: Report,
    on_action: &'b mut dyn FnMut(&Path, Action),
    /// Path of the entry (or directory) being worked on, relative to both roots.
    rel: PathBuf,
    bufs: Buffers,
    /// TARGET directories this merge has written into, so that entering one
    /// again (through an alias such as `lib64 -> lib`) does not mistake the
    /// merge's own writes for a concurrent merge's.
    written: HashSet<(u64, u64)>,
    /// Copy mode: the first copy of each staged inode with several links
    /// (where it is, below TARGET's root, and its name), so the others are
    /// linked to it and the group stays one inode.
    links: HashMap<(u64, u64), (Vec<OsString>, OsString)>,
    /// Listings of staged directories taken by the record's scan.
    listings: Listings,
}

impl<'a, F: Fs> Merger<'a, '_, F> {
    fn run(&mut self, root: Frame<'a, F::Dir>) {
        let mut stack = vec![root];
        while let Some(top) = stack.last_mut() {
            if let Some(entry) = top.entries.next() {
                self.rel.push(&entry.name);
                match self.entry(top, entry) {
                    Some(child) => stack.push(child),
                    None => {
                        self.rel.pop();
                    }
                }
            } else {
                let done = stack.pop().expect("stack is not empty");
                self.finish(done, stack.last_mut());
                if !stack.is_empty() {
                    self.rel.pop();
                }
            }
        }
    }

    /// Carries out one staged entry; returns the frame to walk next when it
    /// is a directory whose children must be merged one by one.
    fn entry(&mut self, fr: &mut Frame<'a, F::Dir>, e: Entry) -> Option<Frame<'a, F::Dir>> {
        let name = e.name;
        let kind = match e.kind {
            Kind::Unknown => match self.fs.stat_at(fr.stage.get(), &name) {
                Ok(m) => m.kind,
                Err(err) => return self.io(fr, Op::Stat, Side::Stage, err),
            },
            k => k,
        };
        let mut raced = false;
        let mut unlocked = false;
        // A non-directory is first placed without looking: one system call
        // in the common case. Its own change time tells a concurrent writer
        // if the name is taken. A directory is looked at first, so that
        // losing the race for it is known for sure: what another merge moved
        // in whole keeps its old change times below it.
        // A copy is looked at first too: a wasted copy costs more than a look.
        // Where this directory already held the previous file (a
        // reinstall), look first too, rather than fail a rename per file.
        let mut look = kind == Kind::Dir || fr.copy || fr.taken;
        for _ in 0..MAX_TRIES {
            let looked = look;
            look = true;
            // A directory is looked at by opening it: an existing one is
            // then entered with that handle; anything else is examined.
            if looked && kind == Kind::Dir {
                match self.fs.open_dir(fr.target.get(), &name) {
                    Ok(dir) => {
                        let mut phys = fr.phys.clone();
                        phys.push(name.clone());
                        let (fresh, child) = (raced || fr.fresh, fr.child());
                        return self.enter(fr, name, Handle::Owned(dir), phys, fresh, child);
                    }
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    // Not a directory (or not openable): lstat tells what.
                    Err(_) => {}
                }
            }
            let stat = if looked {
                self.fs.stat_at(fr.target.get(), &name)
            } else {
                Err(io::ErrorKind::NotFound.into())
            };
            fr.taken = stat.is_ok();
            let tmeta = match stat {
                Ok(m) => m,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    let mut placed = self.place_entry(fr, &name, kind);
                    if matches!(&placed, Err((_, e)) if e.kind() == io::ErrorKind::PermissionDenied)
                        && !unlocked
                    {
                        unlocked = true;
                        if self.unlock(fr) {
                            placed = self.place_entry(fr, &name, kind);
                        } else if let Some(p) = self.place_read_only_dir(fr, &name, kind) {
                            placed = p.map(|p| (p, Child::default()));
                        }
                    }
                    if placed.is_ok() {
                        self.written.insert(fr.target_meta.id());
                    }
                    match placed {
                        Ok((Placed::Copied, child)) => {
                            self.report.counts.copied += 1;
                            if child.across {
                                self.report.counts.copied_across += 1;
                            }
                            // The staged original stays in STAGE.
                            fr.left += 1;
                            self.act(Action::Copied);
                            return None;
                        }
                        Ok((Placed::Moved, _)) => {
                            self.report.counts.moved += 1;
                            if kind == Kind::Dir {
                                self.report.counts.whole_dirs += 1;
                                self.act(Action::MovedDir);
                            } else {
                                self.act(Action::Moved);
                            }
                            return None;
                        }
                        Ok((Placed::DirCreated, child)) => {
                            self.report.counts.created_dirs += 1;
                            self.act(Action::CreatedDir);
                            return self.descend(fr, name, false, child);
                        }
                        Err((_, err)) if err.kind() == io::ErrorKind::AlreadyExists => {
                            // Absent when looked at, taken now: another
                            // merge placed it meanwhile.
                            raced |= looked;
                            fr.taken = true;
                            continue;
                        }
                        Err((op, err)) => {
                            let side = if op == Op::CreateDir {
                                Side::Target
                            } else {
                                Side::Stage
                            };
                            return self.io(fr, op, side, err);
                        }
                    }
                }
                Err(err) => return self.io(fr, Op::Stat, Side::Target, err),
            };
            match classify(kind, tmeta.kind) {
                Verdict::Descend => {
                    let child = fr.child();
                    return self.descend(fr, name, raced, child);
                }
                Verdict::FollowLink => return self.follow(fr, name, raced),
                Verdict::Conflict(reason) => return self.conflict(fr, reason),
                Verdict::Compare => {}
            }
            let smeta = match self.fs.stat_at(fr.stage.get(), &name) {
                Ok(m) => m,
                Err(err) => return self.io(fr, Op::Stat, Side::Stage, err),
            };
            let same = identical(
                self.fs,
                &mut self.bufs,
                fr.stage.get(),
                &smeta,
                fr.target.get(),
                &tmeta,
                &name,
            );
            match same {
                Err(err) => return self.io(fr, Op::Read, Side::Stage, err),
                Ok(true) if fr.copy => {
                    fr.left += 1;
                    self.report.counts.identical += 1;
                    self.act(Action::Identical);
                    return None;
                }
                Ok(true) => {
                    let mut r = self.fs.remove_file(fr.stage.get(), &name);
                    if matches!(&r, Err(e) if e.kind() == io::ErrorKind::PermissionDenied)
                        && self.unlock(fr)
                    {
                        r = self.fs.remove_file(fr.stage.get(), &name);
                    }
                    if let Err(err) = r {
                        return self.io(fr, Op::Remove, Side::Stage, err);
                    }
                    self.report.counts.identical += 1;
                    self.act(Action::Identical);
                    return None;
                }
                Ok(false) => {}
            }
            // A change after the start is someone else's, unless this merge
            // wrote into the directory itself (an alias such as
            // `lib64 -> lib` brings it back here); a peer's write missed
            // that way still gets a "replaced" warning.
            let changed_since_start = tmeta.ctime.is_some_and(|c| c > self.start)
                && !self.written.contains(&fr.target_meta.id());
            let concurrent = raced || fr.fresh || fr.hot || changed_since_start;
            log::debug!(
                "{}: differs from TARGET (raced {raced}, fresh dir {}, dir changed since start {}, \
                 entry changed since start {changed_since_start})",
                self.rel.display(),
                fr.fresh,
                fr.hot
            );
            match on_difference(self.opts.on_conflict, concurrent) {
                Decision::Fail => return self.conflict(fr, ConflictReason::Different),
                Decision::Keep => {
                    self.report.counts.kept += 1;
                    return self.leave(
                        fr,
                        Warning::Kept {
                            path: self.rel.clone(),
                        },
                        Action::Kept,
                    );
                }
                Decision::KeepConcurrent => {
                    self.report.counts.concurrent += 1;
                    let w = Warning::ConcurrentWrite {
                        path: self.rel.clone(),
                    };
                    return self.leave(fr, w, Action::ConcurrentWrite);
                }
                Decision::Replace => {}
            }
            let (op, replaced) = if fr.copy {
                (
                    Op::Copy,
                    self.copy_file(fr, &name, &smeta, true).map_err(|(_, e)| e),
                )
            } else {
                let r = self
                    .fs
                    .rename_replace(fr.stage.get(), &name, fr.target.get(), &name);
                (Op::Rename, r)
            };
            match replaced {
                Ok(()) => {
                    if fr.copy {
                        fr.left += 1;
                    }
                    self.written.insert(fr.target_meta.id());
                    self.report.counts.replaced += 1;
                    self.report.warnings.push(Warning::Replaced {
                        path: self.rel.clone(),
                    });
                    self.act(Action::Replaced);
                    return None;
                }
                // TARGET changed between the look and the rename (a directory
                // appeared, or the entry went): look again.
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::IsADirectory
                            | io::ErrorKind::NotADirectory
                            | io::ErrorKind::DirectoryNotEmpty
                    ) =>
                {
                    raced = true;
                }
                Err(err) if err.kind() == io::ErrorKind::PermissionDenied && !unlocked => {
                    unlocked = true;
                    if !self.unlock(fr) {
                        return self.io(fr, op, Side::Stage, err);
                    }
                }
                Err(err) => return self.io(fr, op, Side::Stage, err),
            }
        }
        self.conflict(fr, ConflictReason::Unstable)
    }

    /// Enters the staged directory `name` and TARGET's directory of the same
    /// name (already there, or just created by the fallback).
    fn descend(
        &mut self,
        fr: &mut Frame<'a, F::Dir>,
        name: OsString,
        raced: bool,
        child: Child,
    ) -> Option<Frame<'a, F::Dir>> {
        let tdir = match self.fs.open_dir(fr.target.get(), &name) {
            Ok(d) => d,
            Err(err) => return self.io(fr, Op::OpenDir, Side::Target, err),
        };
        let mut phys = fr.phys.clone();
        phys.push(name.clone());
        let fresh = raced || fr.fresh;
        self.enter(fr, name, Handle::Owned(tdir), phys, fresh, child)
    }

    /// STAGE has a directory where TARGET has a symlink: merge through it if
    /// it leads to a directory inside TARGET.
    fn follow(
        &mut self,
        fr: &mut Frame<'a, F::Dir>,
        name: OsString,
        raced: bool,
    ) -> Option<Frame<'a, F::Dir>> {
        let link = match self.fs.read_link(fr.target.get(), &name) {
            Ok(l) => l,
            Err(err) => return self.io(fr, Op::ReadLink, Side::Target, err),
        };
        match resolve_dir(self.fs, self.target_root, self.stage_root, &fr.phys, &link) {
            Ok((dir, phys)) => {
                let (fresh, child) = (raced || fr.fresh, fr.child());
                self.enter(fr, name, dir, phys, fresh, child)
            }
            Err(Refusal::Escapes) => {
                let link = PathBuf::from(link);
                self.conflict(fr, ConflictReason::SymlinkEscapes { link })
            }
            Err(Refusal::NotDir(why)) => {
                let link = PathBuf::from(link);
                self.conflict(fr, ConflictReason::SymlinkNotDir { link, why })
            }
            Err(Refusal::IntoStage) => self.conflict(fr, ConflictReason::IntoStage),
            Err(Refusal::Io(err)) => self.io(fr, Op::OpenDir, Side::Target, err),
        }
    }

    fn enter(
        &mut self,
        fr: &mut Frame<'a, F::Dir>,
        name: OsString,
        target: Handle<'a, F::Dir>,
        phys: Vec<OsString>,
        fresh: bool,
        child: Child,
    ) -> Option<Frame<'a, F::Dir>> {
        let tmeta = match self.fs.stat_dir(target.get()) {
            Ok(m) => m,
            Err(err) => return self.io(fr, Op::Stat, Side::Target, err),
        };
        if tmeta.id() == self.stage_root {
            return self.conflict(fr, ConflictReason::IntoStage);
        }
        let sdir = match self.fs.open_dir(fr.stage.get(), &name) {
            Ok(d) => d,
            Err(err) => return self.io(fr, Op::OpenDir, Side::Stage, err),
        };
        let listed = match self.listings.take(&self.rel) {
            Some(e) => Ok(e),
            None => self.fs.read_dir(&sdir),
        };
        let entries = match listed {
            Ok(e) => sorted(e),
            Err(err) => return self.io(fr, Op::ReadDir, Side::Stage, err),
        };
        self.act(Action::MergedDir);
        if child.copy {
            self.clean_temps(target.get());
        }
        let hot =
            tmeta.ctime.is_some_and(|c| c > self.start) && !self.written.contains(&tmeta.id());
        Some(Frame {
            stage: Handle::Owned(sdir),
            target,
            name,
            entries: entries.into_iter(),
            phys,
            target_meta: tmeta,
            fresh,
            hot,
            left: 0,
            restore_stage: None,
            restore_target: None,
            copy: child.copy,
            across: child.across,
            taken: false,
            times: child.times,
        })
    }

    /// Leaves a finished directory: restores modes changed for writing, and
    /// removes the staged directory when all of it was merged.
    fn finish(&mut self, fr: Frame<'a, F::Dir>, parent: Option<&mut Frame<'a, F::Dir>>) {
        if let Some(mode) = fr.restore_target
            && let Err(err) = self.fs.set_dir_mode(fr.target.get(), mode)
        {
            self.push_io(Op::Chmod, Side::Target, err);
        }
        if let Some(mode) = fr.restore_stage
            && let Err(err) = self.fs.set_dir_mode(fr.stage.get(), mode)
        {
            self.push_io(Op::Chmod, Side::Stage, err);
        }
        if let Some((atime, mtime)) = fr.times
            && let Err(err) = self.fs.set_dir_times(fr.target.get(), atime, mtime)
        {
            self.push_io(Op::SetTimes, Side::Target, err);
        }
        let Some(parent) = parent else { return };
        if fr.left > 0 || fr.copy {
            parent.left += 1;
            return;
        }
        drop(fr.stage);
        let mut r = self.fs.remove_dir(parent.stage.get(), &fr.name);
        if matches!(&r, Err(e) if e.kind() == io::ErrorKind::PermissionDenied)
            && self.unlock(parent)
        {
            r = self.fs.remove_dir(parent.stage.get(), &fr.name);
        }
        if let Err(err) = r {
            parent.left += 1;
            self.push_io(Op::RemoveDir, Side::Stage, err);
        }
    }

    /// Makes the frame's directories writable where they are read-only and
    /// owned by the running user; they are restored in [`Self::finish`].
    /// Returns whether anything changed (so a retry can help).
    fn unlock(&mut self, fr: &mut Frame<'a, F::Dir>) -> bool {
        let Some(euid) = self.fs.euid() else {
            return false;
        };
        let mut changed = false;
        if fr.restore_target.is_none()
            && let Some(mode) = owned_read_only(&fr.target_meta, euid)
            && self.fs.set_dir_mode(fr.target.get(), mode | 0o200).is_ok()
        {
            fr.restore_target = Some(mode);
            changed = true;
        }
        if fr.restore_stage.is_none()
            && let Ok(meta) = self.fs.stat_dir(fr.stage.get())
            && let Some(mode) = owned_read_only(&meta, euid)
            && self.fs.set_dir_mode(fr.stage.get(), mode | 0o200).is_ok()
        {
            fr.restore_stage = Some(mode);
            changed = true;
        }
        changed
    }

    /// Places an absent entry: moved, or copied in a copy frame or when the
    /// rename crosses filesystems. A created directory comes with whether
    /// it is copied, and the times to give it when its children are in.
    fn place_entry(
        &mut self,
        fr: &Frame<'a, F::Dir>,
        name: &OsStr,
        kind: Kind,
    ) -> Result<(Placed, Child), (Op, io::Error)> {
        if !fr.copy {
            match self.place(fr, name, kind) {
                Err((_, e)) if e.kind() == io::ErrorKind::CrossesDevices => {
                    log::debug!(
                        "{}: rename crosses filesystems, copying",
                        self.rel.display()
                    );
                }
                r => return r.map(|p| (p, Child::default())),
            }
            return self.copy_place(fr, name, kind, true);
        }
        self.copy_place(fr, name, kind, fr.across)
    }

    fn copy_place(
        &mut self,
        fr: &Frame<'a, F::Dir>,
        name: &OsStr,
        kind: Kind,
        across: bool,
    ) -> Result<(Placed, Child), (Op, io::Error)> {
        let smeta = self
            .fs
            .stat_at(fr.stage.get(), name)
            .map_err(|e| (Op::Stat, e))?;
        if kind == Kind::Dir {
            self.fs
                .create_dir(fr.target.get(), name, smeta.mode)
                .map_err(|e| (Op::CreateDir, e))?;
            let times = smeta.atime.zip(smeta.mtime);
            let child = Child {
                copy: true,
                across,
                times,
            };
            return Ok((Placed::DirCreated, child));
        }
        self.copy_file(fr, name, &smeta, false)?;
        Ok((
            Placed::Copied,
            Child {
                copy: true,
                across,
                times: None,
            },
        ))
    }

    /// Copies the staged non-directory `name` into place; a further name of
    /// an inode already copied is linked to that copy instead.
    fn copy_file(
        &mut self,
        fr: &Frame<'a, F::Dir>,
        name: &OsStr,
        smeta: &Meta,
        replace: bool,
    ) -> Result<(), (Op, io::Error)> {
        let grouped = smeta.kind == Kind::File && smeta.nlink > 1;
        if grouped
            && !replace
            && let Some((phys, first)) = self.links.get(&smeta.id())
            && let Ok(dir) = open_phys(self.fs, self.target_root, phys)
        {
            match self.fs.link(dir.get(), first, fr.target.get(), name) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err((Op::Link, e));
                }
                // The first copy is gone or cannot be linked: copy.
                Err(_) => {}
            }
        }
        self.fs
            .copy_in(fr.stage.get(), name, smeta, fr.target.get(), name, replace)
            .map_err(|e| (Op::Copy, e))?;
        if grouped {
            self.links
                .entry(smeta.id())
                .or_insert_with(|| (fr.phys.clone(), name.to_owned()));
        }
        Ok(())
    }

    fn clean_temps(&mut self, dir: &F::Dir) {
        match self.fs.clean_temps(dir) {
            Ok(n) => self.report.counts.stale_temps += n,
            Err(err) => self.push_io(Op::ReadDir, Side::Target, err),
        }
    }

    fn place(
        &mut self,
        fr: &Frame<'a, F::Dir>,
        name: &OsStr,
        kind: Kind,
    ) -> Result<Placed, (Op, io::Error)> {
        let (stage, target) = (fr.stage.get(), fr.target.get());
        self.strategy
            .place(self.fs, stage, target, fr.target_meta.dev, name, kind)
    }

    /// Moving a directory to another parent rewrites its `..`, which needs
    /// write permission on the directory itself: grant it for the one rename
    /// when the running user owns the directory, then restore it. `None` when
    /// that cannot help.
    fn place_read_only_dir(
        &mut self,
        fr: &Frame<'a, F::Dir>,
        name: &OsStr,
        kind: Kind,
    ) -> Option<Result<Placed, (Op, io::Error)>> {
        if kind != Kind::Dir {
            return None;
        }
        let euid = self.fs.euid()?;
        let dir = self.fs.open_dir(fr.stage.get(), name).ok()?;
        let mode = owned_read_only(&self.fs.stat_dir(&dir).ok()?, euid)?;
        self.fs.set_dir_mode(&dir, mode | 0o200).ok()?;
        let placed = self.place(fr, name, kind);
        if let Err(err) = self.fs.set_dir_mode(&dir, mode) {
            self.push_io(Op::Chmod, Side::Target, err);
        }
        Some(placed)
    }

    fn act(&mut self, action: Action) {
        (self.on_action)(&self.rel, action);
    }

    fn leave(
        &mut self,
        fr: &mut Frame<'a, F::Dir>,
        w: Warning,
        a: Action,
    ) -> Option<Frame<'a, F::Dir>> {
        fr.left += 1;
        self.report.left.push((self.rel.clone(), Left::Shadowed));
        self.report.warnings.push(w);
        self.act(a);
        None
    }

    fn conflict(
        &mut self,
        fr: &mut Frame<'a, F::Dir>,
        reason: ConflictReason,
    ) -> Option<Frame<'a, F::Dir>> {
        fr.left += 1;
        self.report.left.push((self.rel.clone(), Left::Unplaced));
        self.report.counts.conflicts += 1;
        self.report.problems.push(Problem::Conflict {
            path: self.rel.clone(),
            reason,
        });
        self.act(Action::Conflict);
        None
    }

    fn io(
        &mut self,
        fr: &mut Frame<'a, F::Dir>,
        op: Op,
        side: Side,
        err: io::Error,
    ) -> Option<Frame<'a, F::Dir>> {
        fr.left += 1;
        self.report.left.push((self.rel.clone(), Left::Unplaced));
        self.push_io(op, side, err);
        None
    }

    fn push_io(&mut self, op: Op, side: Side, err: io::Error) {
        self.report.counts.errors += 1;
        self.report
            .problems
            .push(Problem::Io(Error::new(op, side, self.rel.clone(), err)));
        self.act(Action::Error);
    }
}

/// The mode to restore if `meta` is a directory the user `euid` owns and
/// cannot write.
fn owned_read_only(meta: &Meta, euid: u32) -> Option<u32> {
    match (meta.mode, meta.uid) {
        (Some(mode), Some(uid)) if uid == euid && mode & 0o200 == 0 => Some(mode),
        _ => None,
    }
}

impl<D> Frame<'_, D> {
    /// What a directory merged into an existing one below this frame
    /// inherits: the same copying, no times to set.
    fn child(&self) -> Child {
        Child {
            copy: self.copy,
            across: self.across,
            times: None,
        }
    }
}
