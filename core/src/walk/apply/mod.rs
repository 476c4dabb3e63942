//! The applying executor: carries out each step on the two trees (this is
//! `merge`), answering "taken" or "raced" where TARGET changed under it.

mod clobber;
mod copy;
mod place;
mod unlock;

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::path::Path;

use crate::error::{Op, Side};
use crate::fs::{Fs, Stamp};
use crate::ownership::Collided;
use crate::report::Report;
use crate::step::{Action, Step};

use super::executor::{At, Ctx, Executor, Outcome};
use super::frame::Frame;
use unlock::{denied, unlock};

/// The entry a merge's step is for.
type Here<'e, 'a, F> = At<'e, 'a, F, Restore>;

/// What a merge keeps per directory until it is left.
#[derive(Debug, Default)]
pub(crate) struct Restore {
    /// Modes to give back to STAGE's and TARGET's directory, changed so the
    /// merge could write there.
    stage_mode: Option<u32>,
    target_mode: Option<u32>,
    /// Times to give TARGET's directory (one this merge created by copying:
    /// its children's arrival changed them).
    times: Option<(Stamp, Stamp)>,
}

/// Carries out a merge and reports it.
pub(crate) struct Apply<'o> {
    pub(crate) report: Report,
    on_action: &'o mut dyn FnMut(&Path, Action),
    /// TARGET filesystems (by device) that refuse the no-replace flag, so the
    /// refused call is not repeated per entry.
    flagless: Vec<u64>,
    /// Copy mode: the first copy of each staged inode with several links
    /// (where it is, below TARGET's root, and its name), so the others are
    /// linked to it and the group stays one inode.
    links: HashMap<(u64, u64), (Vec<OsString>, OsString)>,
    /// The step just carried out moved a staged version into the clobber
    /// store (for its warning).
    stored: bool,
}

impl<'o> Apply<'o> {
    pub(crate) fn new(on_action: &'o mut dyn FnMut(&Path, Action)) -> Self {
        Apply {
            report: Report::default(),
            on_action,
            flagless: Vec::new(),
            links: HashMap::new(),
            stored: false,
        }
    }

    /// A problem that is not an entry's step (restoring a mode, removing an
    /// emptied staged directory, cleaning stale temporaries).
    fn problem(&mut self, rel: &Path, op: Op, side: Side, err: io::Error) {
        self.report.problem(rel, op, side, err);
        (self.on_action)(rel, Action::Error);
    }

    /// An identical entry: the staged copy is dropped, unless copying.
    fn drop_staged<F: Fs>(&mut self, at: &mut Here<'_, '_, F>) -> Outcome<Restore> {
        if at.fr.how.copy {
            return Outcome::Done(Restore::default());
        }
        let (fs, name) = (at.cx.fs, at.name);
        let mut r = fs.remove_file(at.fr.stage.get(), name);
        if denied(&r) && unlock(fs, at.fr) {
            r = fs.remove_file(at.fr.stage.get(), name);
        }
        match r {
            Ok(()) => Outcome::Done(Restore::default()),
            Err(err) => Outcome::Failed(Op::Remove, Side::Stage, err),
        }
    }

    /// A different entry: replaced by one atomic rename (a copy renamed over
    /// it when copying).
    fn replace<F: Fs>(&mut self, at: &mut Here<'_, '_, F>) -> Outcome<Restore> {
        // Held until the rename below is done.
        let _lock = match self.keep_replaced(at) {
            Outcome::Done(lock) => lock,
            Outcome::Failed(op, side, e) => return Outcome::Failed(op, side, e),
            _ => return Outcome::Raced,
        };
        match set_aside(at) {
            Ok(()) => {}
            // The version to set aside is gone, or its directory: look again.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Outcome::Raced,
            Err(e) => return Outcome::Failed(Op::Link, Side::Target, e),
        }
        if at.fr.how.copies() {
            return self.copy(at, true);
        }
        let (fs, name) = (at.cx.fs, at.name);
        let rename = |fr: &Frame<'_, F::Dir, Restore>| {
            fs.rename_replace(fr.stage.get(), name, fr.target(), name)
        };
        let mut r = rename(at.fr);
        if denied(&r) && unlock(fs, at.fr) {
            r = rename(at.fr);
        }
        match r {
            Ok(()) => Outcome::Done(Restore::default()),
            // A rename the client sent twice: the first one made it.
            Err(err)
                if at.staged.is_some_and(|ours| {
                    crate::retry::done_before(fs, at.fr.target(), name, ours, &err)
                }) =>
            {
                Outcome::Done(Restore::default())
            }
            Err(err) if crate::retry::vanished(fs, at.fr.stage.get(), name, &err) => {
                Outcome::Vanished(Op::Rename, err)
            }
            Err(err) => replaced_err(Op::Rename, err),
        }
    }
}

/// Where other machines' clients may still look TARGET's version up by
/// its old name ([`Fs::caches_views`]), links it aside before the
/// replacing rename, so that their reads keep working ([`crate::aside`]).
/// An error stops the replacement: the old version stays.
fn set_aside<F: Fs>(at: &Here<'_, '_, F>) -> io::Result<()> {
    let (fs, dir, name) = (at.cx.fs, at.fr.target(), at.name);
    if !fs.caches_views(dir) {
        return Ok(());
    }
    let meta = fs.stat_at(dir, name)?;
    let stamp = at.cx.start.unwrap_or_else(|| fs.clock(at.cx.target_root));
    crate::aside::set_aside(fs, at.cx.target_root, dir, name, &meta, stamp)
}

/// What a failed replacement means: TARGET changed between the look and
/// the rename (a directory appeared, or the entry went), or a real error.
fn replaced_err(op: Op, err: io::Error) -> Outcome<Restore> {
    match err.kind() {
        io::ErrorKind::IsADirectory
        | io::ErrorKind::NotADirectory
        | io::ErrorKind::DirectoryNotEmpty => Outcome::Raced,
        io::ErrorKind::CrossesDevices => Outcome::Crosses,
        _ => Outcome::Failed(op, Side::Stage, err),
    }
}

impl<'a, F: Fs> Executor<'a, F> for Apply<'_> {
    type Extra = Restore;

    fn places_blind(&self) -> bool {
        true
    }

    fn place_many(
        &mut self,
        cx: &Ctx<'a, F>,
        fr: &Frame<'a, F::Dir, Restore>,
        names: &[&std::ffi::OsStr],
        lanes: usize,
    ) -> Vec<bool> {
        place::move_many(cx.fs, fr, names, lanes)
    }

    fn refuses_flag(&self, dev: u64) -> bool {
        self.flagless.contains(&dev)
    }

    fn carry_out(&mut self, mut at: Here<'_, 'a, F>, step: &Step) -> Outcome<Restore> {
        let at = &mut at;
        match step {
            Step::PlaceDir | Step::Place { .. } => self.place(at, step),
            Step::CreateDir => self.create_dir(at),
            Step::Copy { .. } => self.copy(at, false),
            Step::Identical => self.drop_staged(at),
            Step::Replace => self.replace(at),
            Step::Protect => self.protect(at),
            Step::Keep | Step::KeepConcurrent => self.store_lost(at),
            Step::MergeDir | Step::Follow { .. } | Step::Conflict(_) | Step::Error { .. } => {
                Outcome::Done(Restore::default())
            }
        }
    }

    fn open_created(&mut self, at: Here<'_, 'a, F>) -> io::Result<Option<F::Dir>> {
        at.cx.fs.open_dir(at.fr.target(), at.name).map(Some)
    }

    fn entered(&mut self, cx: &Ctx<'a, F>, fr: &mut Frame<'a, F::Dir, Restore>) {
        if fr.how.copy {
            match cx.fs.clean_temps(fr.target()) {
                Ok(n) => self.report.counts.stale_temps += n,
                Err(err) => self.problem(&cx.rel, Op::ReadDir, Side::Target, err),
            }
        }
    }

    /// Restores modes changed for writing and times of a copied directory,
    /// and removes the staged directory when all of it was merged.
    fn leave(
        &mut self,
        cx: &Ctx<'a, F>,
        fr: Frame<'a, F::Dir, Restore>,
        parent: Option<&mut Frame<'a, F::Dir, Restore>>,
    ) {
        let (fs, rel) = (cx.fs, &cx.rel);
        let r = &fr.extra;
        if let Some(mode) = r.target_mode
            && let Err(err) = fs.set_dir_mode(fr.target(), mode)
        {
            self.problem(rel, Op::Chmod, Side::Target, err);
        }
        if let Some(mode) = r.stage_mode
            && let Err(err) = fs.set_dir_mode(fr.stage.get(), mode)
        {
            self.problem(rel, Op::Chmod, Side::Stage, err);
        }
        if let Some((atime, mtime)) = r.times
            && let Err(err) = fs.set_dir_times(fr.target(), atime, mtime)
        {
            self.problem(rel, Op::SetTimes, Side::Target, err);
        }
        let Some(parent) = parent else { return };
        if fr.left > 0 || fr.how.copy {
            parent.left += 1;
            return;
        }
        drop(fr.stage);
        let mut r = fs.remove_dir(parent.stage.get(), &fr.name);
        if denied(&r) && unlock(fs, parent) {
            r = fs.remove_dir(parent.stage.get(), &fr.name);
        }
        if let Err(err) = r {
            parent.left += 1;
            self.problem(rel, Op::RemoveDir, Side::Stage, err);
        }
    }

    fn record(
        &mut self,
        rel: &Path,
        step: Step,
        err: Option<io::Error>,
        collided: Option<Collided>,
    ) {
        (self.on_action)(rel, step.action());
        let stored = std::mem::take(&mut self.stored);
        self.report.record(rel, &step, err, collided, stored);
    }
}
