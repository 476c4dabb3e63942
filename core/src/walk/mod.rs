//! The one walk of STAGE, shared by `plan` and `merge`: top-down with an
//! explicit stack (memory O(depth) plus one listing per level), each entry
//! reduced to a [`Step`] by [`decide`] and carried out by an [`Executor`]:
//! [`DryRun`] records the steps (a plan), [`Apply`] acts and may answer
//! "raced, look again" (a merge).

mod apply;
mod decide;
mod dry;
mod enter;
mod executor;
mod frame;
#[cfg(test)]
mod tests;

pub(crate) use apply::Apply;
pub(crate) use decide::{How, compared};
pub(crate) use dry::DryRun;
pub(crate) use executor::{At, Ctx, Executor, Outcome};
pub(crate) use frame::Frame;

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::PathBuf;

use crate::classify::{Clues, changed_since, concurrent, peer_write};
use crate::compare::{Buffers, identical};
use crate::error::{Error, Op, Side};
use crate::fs::{Entry, Fs, Kind, Meta, Stamp};
use crate::handle::Handle;
use crate::options::Options;
use crate::ownership::{Collided, version_at};
use crate::record::Listings;
use crate::report::ConflictReason;
use crate::step::Step;

use decide::{Next, Seen, decide};

/// How often one entry is re-examined when TARGET keeps changing under it
/// (each time another merge won a race for the same name, or a network
/// filesystem's client still showed what another client had changed).
const MAX_TRIES: usize = crate::retry::TRIES;

/// Walks `stage` into `target`, deciding each entry and handing the step to
/// the executor `x`, which it returns at the end. `start` is when a merge
/// started, by TARGET's clock (`None` for a plan, which concurrency does not
/// enter); `listings` are staged directories already listed.
///
/// Returns `Err` only when nothing could be done: a root cannot be examined
/// or listed, or both handles are the same directory.
pub(crate) fn walk<'a, F: Fs, X: Executor<'a, F>>(
    fs: &'a F,
    stage: &'a F::Dir,
    target: &'a F::Dir,
    opts: &'a Options,
    listings: Listings<F::Dir>,
    start: Option<Stamp>,
    x: X,
) -> Result<X, Error> {
    let roots = crate::roots::examine(fs, stage, target)?;
    let mut w = Walk {
        cx: Ctx {
            fs,
            opts,
            target_root: target,
            stage_id: roots.stage.id(),
            start,
            rel: PathBuf::new(),
        },
        stage_dev: roots.stage.dev,
        collided: None,
        written: HashSet::new(),
        moved_in: HashSet::new(),
        bufs: Buffers::new(),
        listings,
        lanes: HashMap::new(),
        x,
    };
    let how = w.how_into(&roots.target, (opts.copy, false));
    let mut root = Frame {
        stage: Handle::Borrowed(stage),
        target: Some(Handle::Borrowed(target)),
        target_meta: Some(roots.target),
        name: OsString::new(),
        entries: sorted(roots.entries).into_iter(),
        phys: Vec::new(),
        how,
        fresh: false,
        hot: false,
        taken: false,
        wrote: false,
        left: 0,
        extra: X::Extra::default(),
    };
    w.x.entered(&w.cx, &mut root);
    w.run(root);
    Ok(w.x)
}

fn sorted(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_unstable_by(|a, b| a.name.as_encoded_bytes().cmp(b.name.as_encoded_bytes()));
    entries
}

/// The walk's own state, apart from what executors may read ([`Ctx`]),
/// and its executor.
struct Walk<'a, F: Fs, X> {
    cx: Ctx<'a, F>,
    stage_dev: u64,
    /// What the records say of the different TARGET file the entry being
    /// decided met, for the step's record.
    collided: Option<Collided>,
    /// Concurrency clue: the TARGET directories this merge has written into
    /// itself (so entering one again through an alias such as `lib64 ->
    /// lib` does not mistake its own writes for a peer's).
    written: HashSet<(u64, u64)>,
    /// Directories this merge moved in whole (where they are below TARGET's
    /// root): what is below them is its own, reached again through an alias.
    moved_in: HashSet<Vec<OsString>>,
    bufs: Buffers,
    listings: Listings<F::Dir>,
    /// Placements kept in flight per TARGET device ([`Fs::in_flight`]),
    /// asked once per device.
    lanes: HashMap<u64, usize>,
    x: X,
}

/// The most staged files handed to the executor at once to place in
/// flight: enough to keep every lane busy, few enough that an entry
/// another merge took is looked at soon.
const BATCH: usize = 64;

/// The per-entry attempt state: whether to look at TARGET before acting,
/// and whether a name was seen free and then found taken.
#[derive(Clone, Copy, Debug)]
struct Attempt {
    look: bool,
    raced: bool,
    /// The TARGET entry this attempt's decision was made on.
    seen: Option<(u64, u64)>,
    /// The staged entry, where the decision compared it.
    staged: Option<(u64, u64)>,
}

/// How one attempt at an entry ended.
enum Turn<T> {
    /// Settled; a directory to walk next, if any.
    Done(Option<T>),
    /// TARGET changed, or the executor learned something: decide again.
    Again,
}

type Child<'a, F, X> = Frame<'a, <F as Fs>::Dir, <X as Executor<'a, F>>::Extra>;

impl<'a, F: Fs, X: Executor<'a, F>> Walk<'a, F, X> {
    fn run(&mut self, root: Child<'a, F, X>) {
        let mut stack = vec![root];
        while let Some(top) = stack.last_mut() {
            let (n, lanes) = self.batch_len(top);
            if n > 1 {
                self.place_batch(top, n, lanes);
                continue;
            }
            if let Some(entry) = top.entries.next() {
                crate::rel::push(&mut self.cx.rel, &entry.name);
                match self.entry(top, entry) {
                    Some(child) => stack.push(child),
                    None => {
                        self.cx.rel.pop();
                    }
                }
            } else {
                let done = stack.pop().expect("stack is not empty");
                self.x.leave(&self.cx, done, stack.last_mut());
                if !stack.is_empty() {
                    self.cx.rel.pop();
                }
            }
        }
    }

    /// How many of `fr`'s next entries to place in flight: the files and
    /// symlinks that come next (at most [`BATCH`]), where the executor
    /// places without looking, this directory has not met a taken name,
    /// entries are moved (not copied) and TARGET's filesystem gains from
    /// several placements at once (0 or 1: one at a time), and how many
    /// lanes that filesystem takes.
    fn batch_len(&mut self, fr: &Child<'a, F, X>) -> (usize, usize) {
        let rest = fr.entries.as_slice();
        let file = |e: &Entry| matches!(e.kind, Kind::File | Kind::Symlink);
        if rest.len() < 2 || !file(&rest[0]) || !file(&rest[1]) {
            return (0, 1);
        }
        if !self.x.places_blind() || fr.taken || fr.how.copies() {
            return (0, 1);
        }
        let (Some(meta), Some(target)) = (&fr.target_meta, &fr.target) else {
            return (0, 1);
        };
        let fs = self.cx.fs;
        let lanes = *self
            .lanes
            .entry(meta.dev)
            .or_insert_with(|| fs.in_flight(target.get()));
        if lanes < 2 {
            return (0, 1);
        }
        (
            rest.iter().take(BATCH).take_while(|e| file(e)).count(),
            lanes,
        )
    }

    /// Places `fr`'s next `n` entries in flight ([`Executor::place_many`]);
    /// each one placed is recorded as a placement without a look (as one
    /// at a time would), each one not placed is walked alone.
    fn place_batch(&mut self, fr: &mut Child<'a, F, X>, n: usize, lanes: usize) {
        let batch: Vec<Entry> = fr.entries.by_ref().take(n).collect();
        let names: Vec<&OsStr> = batch.iter().map(|e| e.name.as_os_str()).collect();
        let placed = self.x.place_many(&self.cx, fr, &names, lanes);
        for (e, placed) in batch.into_iter().zip(placed) {
            crate::rel::push(&mut self.cx.rel, &e.name);
            let kind = e.kind;
            match decide(kind, Seen::Absent, &fr.how) {
                Next::Do(step @ Step::Place { .. }) if placed => {
                    self.wrote_in(fr);
                    self.take(fr, step, kind);
                }
                _ => {
                    let child = self.entry(fr, e);
                    debug_assert!(child.is_none(), "a file or symlink has no children");
                }
            }
            self.cx.rel.pop();
        }
    }

    /// Decides and carries out one staged entry; returns the frame to walk
    /// next when it is a directory whose children follow.
    fn entry(&mut self, fr: &mut Child<'a, F, X>, e: Entry) -> Option<Child<'a, F, X>> {
        let name = e.name;
        let kind = match e.kind {
            Kind::Unknown => match self.cx.fs.stat_at(fr.stage.get(), &name) {
                Ok(m) => m.kind,
                Err(err) => return self.fail(fr, Op::Stat, Side::Stage, err),
            },
            k => k,
        };
        // A non-directory is first placed without looking: one system call
        // in the common case; a taken name answers for itself. A directory
        // is looked at first, so that losing the race for it is known for
        // sure (what another merge moved in whole keeps its old change times
        // below it). A copy is looked at first too (a wasted copy costs more
        // than a look), and so is every name in a directory where the
        // previous one was taken (a reinstall), rather than fail a rename
        // per file.
        let look = kind == Kind::Dir
            || fr.how.copy
            || fr.how.crosses
            || fr.taken
            || !self.x.places_blind();
        let mut at = Attempt {
            look,
            raced: false,
            seen: None,
            staged: None,
        };
        for n in 0..MAX_TRIES {
            let pause = crate::retry::pause(n);
            if !pause.is_zero() {
                log::debug!(
                    "{}: try {} after {pause:?} (TARGET changed under it)",
                    self.cx.rel.display(),
                    n + 1
                );
                std::thread::sleep(pause);
            }
            if let Turn::Done(child) = self.attempt(fr, &name, kind, &mut at) {
                return child;
            }
        }
        self.take(fr, Step::Conflict(ConflictReason::Unstable), Kind::Unknown)
    }

    fn attempt(
        &mut self,
        fr: &mut Child<'a, F, X>,
        name: &OsStr,
        kind: Kind,
        at: &mut Attempt,
    ) -> Turn<Child<'a, F, X>> {
        let looked = std::mem::replace(&mut at.look, true);
        let tmeta = if looked {
            match self.look(fr, name, kind) {
                Look::Dir(dir) => {
                    let into = self.existing(fr, name, Handle::Owned(dir), None, at.raced);
                    return Turn::Done(self.enter(fr, into));
                }
                Look::Found(m) => Some(m),
                Look::Absent => None,
                Look::Failed(err) if err.kind() == io::ErrorKind::StaleNetworkFileHandle => {
                    at.raced = true;
                    return Turn::Again;
                }
                Look::Failed(err) => {
                    return Turn::Done(self.fail(fr, Op::Stat, Side::Target, err));
                }
            }
        } else {
            None
        };
        fr.taken = tmeta.is_some();
        at.seen = tmeta.as_ref().map(Meta::id);
        let seen = tmeta
            .as_ref()
            .map_or(Seen::Absent, |m| Seen::Present(m.kind));
        match decide(kind, seen, &fr.how) {
            Next::Do(step) => self.act(fr, name, kind, step, looked, at),
            Next::Enter => match self.cx.fs.open_dir(fr.target(), name) {
                Ok(dir) => {
                    let into = self.existing(fr, name, Handle::Owned(dir), None, at.raced);
                    Turn::Done(self.enter(fr, into))
                }
                // The look saw a directory that cannot be opened now:
                // removed meanwhile, or a client's stale view of it.
                Err(err) if crate::retry::looked_at_again(&err) => {
                    at.raced = true;
                    Turn::Again
                }
                Err(err) => Turn::Done(self.fail(fr, Op::OpenDir, Side::Target, err)),
            },
            Next::Follow => Turn::Done(self.follow(fr, name, at.raced)),
            Next::Compare => {
                let tmeta = tmeta.expect("only an entry found is compared");
                match self.compare(fr, name, &tmeta, at) {
                    Ok(step) => self.act(fr, name, kind, step, looked, at),
                    Err((op, err)) => Turn::Done(self.fail(fr, op, Side::Stage, err)),
                }
            }
        }
    }

    /// Notes that this merge wrote into `fr`'s TARGET directory (a
    /// concurrency clue: its own writes are not a peer's).
    fn wrote_in(&mut self, fr: &mut Child<'a, F, X>) {
        if !fr.wrote
            && let Some(m) = &fr.target_meta
        {
            self.written.insert(m.id());
            fr.wrote = true;
        }
    }

    /// Whether this merge has written into the TARGET directory `dir`.
    fn wrote_into(&self, dir: Option<&Meta>) -> bool {
        dir.is_some_and(|m| self.written.contains(&m.id()))
    }

    /// What TARGET has at `name`: a directory is looked at by opening it (an
    /// existing one is then entered with that handle), anything else by
    /// `lstat`. Below a directory a dry run would create, nothing.
    fn look<E>(&self, fr: &Frame<'a, F::Dir, E>, name: &OsStr, kind: Kind) -> Look<F::Dir> {
        let Some(target) = &fr.target else {
            return Look::Absent;
        };
        if kind == Kind::Dir
            && let Ok(dir) = self.cx.fs.open_dir(target.get(), name)
        {
            return Look::Dir(dir);
        }
        match self.cx.fs.stat_at(target.get(), name) {
            Ok(m) => Look::Found(m),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Look::Absent,
            Err(err) => Look::Failed(err),
        }
    }

    /// Compares two non-directories and decides by content, policy and the
    /// concurrency rule.
    fn compare<E>(
        &mut self,
        fr: &Frame<'a, F::Dir, E>,
        name: &OsStr,
        tmeta: &Meta,
        at: &mut Attempt,
    ) -> Result<Step, (Op, io::Error)> {
        let fs = self.cx.fs;
        let smeta = fs
            .stat_at(fr.stage.get(), name)
            .map_err(|e| (Op::Stat, e))?;
        at.staged = Some(smeta.id());
        let raced = at.raced;
        let target = fr
            .target
            .as_ref()
            .expect("an entry found has a directory")
            .get();
        let same = identical(
            fs,
            &mut self.bufs,
            fr.stage.get(),
            &smeta,
            target,
            tmeta,
            name,
        )
        .map_err(|e| (Op::Read, e))?;
        // Whether this merge wrote here matters only for a change after the
        // start, and costs a lookup: ask only then.
        let after_start = changed_since(tmeta.ctime, self.cx.start, false);
        let clues = Clues {
            raced,
            fresh_dir: fr.fresh,
            hot_dir: fr.hot,
            ctime: tmeta.ctime,
            start: self.cx.start,
            wrote_here: after_start && (fr.wrote || self.wrote_into(fr.target_meta.as_ref())),
        };
        if same {
            return Ok(Step::Identical);
        }
        log::debug!("{}: differs from TARGET ({clues:?})", self.cx.rel.display());
        let opts = self.cx.opts;
        let (policy, edited, late) = match &opts.ownership {
            None => (fr.how.policy, false, false),
            Some(own) => {
                let c = own.collision(&self.cx.rel, fr.how.policy, || {
                    version_at(fs, target, name, tmeta).map_err(|e| (Op::Read, e))
                })?;
                let (edited, late) = (c.seen.edited, c.late);
                self.collided = Some(c.seen);
                (c.policy, edited, late)
            }
        };
        let records = opts.ownership.as_ref().map(|o| &o.owners);
        // What the records say matters only where a clue calls the write a
        // peer's, and costs a read of TARGET's file: ask only then.
        let peer = match records.or(opts.earlier.as_deref()) {
            Some(owners) if late || concurrent(&clues) => {
                let v = version_at(fs, target, name, tmeta).map_err(|e| (Op::Read, e))?;
                peer_write(&clues, owners.known(&self.cx.rel, v.as_ref()), late)
            }
            _ => late || concurrent(&clues),
        };
        Ok(compared(same, peer, policy, edited))
    }

    /// Hands `step` to the executor and settles what it answers.
    fn act(
        &mut self,
        fr: &mut Child<'a, F, X>,
        name: &OsStr,
        kind: Kind,
        step: Step,
        looked: bool,
        at: &mut Attempt,
    ) -> Turn<Child<'a, F, X>> {
        let here = At {
            cx: &self.cx,
            fr: &mut *fr,
            name,
            seen: at.seen,
            staged: at.staged,
        };
        match self.x.carry_out(here, &step) {
            Outcome::Done(extra) => {
                if step.writes_target() {
                    self.wrote_in(fr);
                }
                if matches!(step, Step::CreateDir) {
                    return Turn::Done(self.created(fr, name, extra));
                }
                if matches!(step, Step::PlaceDir) {
                    let mut phys = fr.phys.clone();
                    phys.push(name.to_owned());
                    self.moved_in.insert(phys);
                }
                Turn::Done(self.take(fr, step, kind))
            }
            // Absent when looked at, taken now: another merge placed it
            // meanwhile. Taken without a look: it was there before.
            Outcome::Taken => {
                at.raced |= looked;
                fr.taken = true;
                Turn::Again
            }
            Outcome::Raced => {
                at.raced = true;
                Turn::Again
            }
            // Nothing changed in TARGET: decide again without a new look.
            Outcome::Refused => {
                fr.how.fallback = true;
                at.look = looked;
                Turn::Again
            }
            Outcome::Crosses => {
                fr.how.crosses = true;
                Turn::Again
            }
            Outcome::Vanished(op, err) => match self.reenter(fr) {
                Ok(()) => {
                    at.raced = true;
                    Turn::Again
                }
                Err(again) => {
                    log::debug!(
                        "{}: TARGET's directory is gone and could not be made again: {again}",
                        self.cx.rel.display()
                    );
                    Turn::Done(self.fail(fr, op, Side::Target, err))
                }
            },
            Outcome::Failed(op, side, err) => Turn::Done(self.fail(fr, op, side, err)),
        }
    }

    /// Records a step that settles the entry.
    fn take(
        &mut self,
        fr: &mut Child<'a, F, X>,
        step: Step,
        kind: Kind,
    ) -> Option<Child<'a, F, X>> {
        if step.stays_staged(&fr.how, kind) {
            fr.left += 1;
        }
        let collided = self.collided.take();
        self.x.record(&self.cx.rel, step, None, collided);
        None
    }

    fn fail(
        &mut self,
        fr: &mut Child<'a, F, X>,
        op: Op,
        side: Side,
        err: io::Error,
    ) -> Option<Child<'a, F, X>> {
        fr.left += 1;
        let kind = err.kind();
        self.collided = None;
        self.x.record(
            &self.cx.rel,
            Step::Error { op, side, kind },
            Some(err),
            None,
        );
        None
    }
}

/// What TARGET has at a staged entry's name.
enum Look<D> {
    Dir(D),
    Found(Meta),
    Absent,
    Failed(io::Error),
}
