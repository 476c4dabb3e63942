//! What carries out the walk's steps: the interface both executors share.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Op, Side};
use crate::fs::{Fs, Stamp};
use crate::options::Options;
use crate::ownership::Collided;
use crate::step::Step;

use super::frame::Frame;

/// What the walk shares with its executor.
pub(crate) struct Ctx<'a, F: Fs> {
    pub(crate) fs: &'a F,
    pub(crate) opts: &'a Options,
    pub(crate) target_root: &'a F::Dir,
    /// STAGE's root, which nothing may be merged into.
    pub(crate) stage_id: (u64, u64),
    /// When a merge started, by TARGET's clock (`None` for a plan).
    pub(crate) start: Option<Stamp>,
    /// The entry (or directory) being worked on, relative to both roots.
    pub(crate) rel: PathBuf,
}

/// The staged entry a step is for: its name in the frame's two directories.
pub(crate) struct At<'e, 'a, F: Fs, E> {
    pub(crate) cx: &'e Ctx<'a, F>,
    pub(crate) fr: &'e mut Frame<'a, F::Dir, E>,
    pub(crate) name: &'e OsStr,
    /// The TARGET entry the step was decided on (`(dev, ino)`), where the
    /// walk looked: a step that replaces it must find the same one.
    pub(crate) seen: Option<(u64, u64)>,
    /// The staged entry (`(dev, ino)`), where the walk compared it: a
    /// rename that a network filesystem's client sent twice answers the
    /// second time as if it failed, and TARGET then holds this inode.
    pub(crate) staged: Option<(u64, u64)>,
}

/// How an executor answered a step.
pub(crate) enum Outcome<E> {
    /// Carried out; `E` is what a directory just created keeps until it is
    /// left.
    Done(E),
    /// The name is taken in TARGET: look again.
    Taken,
    /// TARGET changed between the look and the act: look again, as after a
    /// race.
    Raced,
    /// TARGET's filesystem refuses the no-replace rename (the executor
    /// remembers it): decide again, with the fallback.
    Refused,
    /// The rename crossed filesystems: decide again, copying.
    Crosses,
    /// The TARGET directory the walk entered is gone (the call answered
    /// `ENOENT` while the staged entry is still there): another client's
    /// uninstall pruned it, or this client entered it from a stale view.
    /// The walk opens it again by its path, making it anew, and decides
    /// again; the error stands if that fails.
    Vanished(Op, io::Error),
    /// A system call failed: the entry stays in STAGE.
    Failed(Op, Side, io::Error),
}

/// Carries out the steps of one walk.
pub(crate) trait Executor<'a, F: Fs> {
    /// What the executor keeps per directory until it is left.
    type Extra: Default;

    /// Whether a non-directory is placed before TARGET is looked at (the
    /// name, if taken, answers for itself).
    fn places_blind(&self) -> bool;

    /// Places the non-directories `names` of `fr`, each staged and, as far
    /// as the walk knows, free in TARGET (none was looked at), several at a
    /// time, `lanes` at once (the filesystem's [`Fs::in_flight`]); returns
    /// which were placed. Each one not placed is then walked alone, as if
    /// it had not been tried (so every way a placement can fail is handled
    /// in one place). Default: none placed.
    fn place_many(
        &mut self,
        cx: &Ctx<'a, F>,
        fr: &Frame<'a, F::Dir, Self::Extra>,
        names: &[&OsStr],
        lanes: usize,
    ) -> Vec<bool> {
        let _ = (cx, fr, lanes);
        vec![false; names.len()]
    }

    /// Whether TARGET's filesystem `dev` was found to refuse the no-replace
    /// rename.
    fn refuses_flag(&self, dev: u64) -> bool;

    /// Carries out `step` for the staged entry `at`. Steps that change
    /// nothing (a directory entered, a kept file, a conflict) are `Done` at
    /// once.
    fn carry_out(&mut self, at: At<'_, 'a, F, Self::Extra>, step: &Step) -> Outcome<Self::Extra>;

    /// The directory [`Step::CreateDir`] made for `at`, to merge into;
    /// `None` where it was not made (a dry run).
    fn open_created(&mut self, at: At<'_, 'a, F, Self::Extra>) -> io::Result<Option<F::Dir>>;

    /// A directory's frame was made (the root's too).
    fn entered(&mut self, cx: &Ctx<'a, F>, fr: &mut Frame<'a, F::Dir, Self::Extra>);

    /// A directory's children are done; `parent` is `None` for the root.
    fn leave(
        &mut self,
        cx: &Ctx<'a, F>,
        fr: Frame<'a, F::Dir, Self::Extra>,
        parent: Option<&mut Frame<'a, F::Dir, Self::Extra>>,
    );

    /// The step taken for the entry at `rel`, with the error of a
    /// [`Step::Error`] where there is one, and what the records say of a
    /// different TARGET file it met (with ownership).
    fn record(
        &mut self,
        rel: &Path,
        step: Step,
        err: Option<io::Error>,
        collided: Option<Collided>,
    );
}
