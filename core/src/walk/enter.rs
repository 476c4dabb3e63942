//! Entering directories: an existing TARGET directory, one reached through
//! a symlink inside TARGET, or one the executor just created; and how the
//! children of each are merged.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use crate::classify::changed_since;
use crate::error::{Op, Side};
use crate::fs::{Fs, Kind, Meta};
use crate::handle::Handle;
use crate::record::Listed;
use crate::report::ConflictReason;
use crate::resolve::{Refusal, resolve_dir};
use crate::step::Step;

use super::decide::{How, below};
use super::executor::{At, Executor};
use super::frame::Frame;
use super::{Child, Walk, sorted};

/// A directory about to be entered, and how it was reached.
pub(super) struct Entering<'a, D> {
    name: OsString,
    target: Option<Handle<'a, D>>,
    phys: Vec<OsString>,
    /// The step to record once the directory is open (none for one the merge
    /// just created: its step is recorded already).
    step: Option<Step>,
    created: bool,
    fresh: bool,
}

impl<'a, F: Fs, X: Executor<'a, F>> Walk<'a, F, X> {
    /// Enters the directory the executor just created for `name`.
    pub(super) fn created(
        &mut self,
        fr: &mut Child<'a, F, X>,
        name: &OsStr,
        extra: X::Extra,
    ) -> Option<Child<'a, F, X>> {
        self.x.record(&self.cx.rel, Step::CreateDir, None, None);
        let here = At {
            cx: &self.cx,
            fr: &mut *fr,
            name,
            seen: None,
            staged: None,
        };
        let target = match self.x.open_created(here) {
            Ok(t) => t.map(Handle::Owned),
            Err(err) => return self.fail(fr, Op::OpenDir, Side::Target, err),
        };
        let mut phys = fr.phys.clone();
        phys.push(name.to_owned());
        let into = Entering {
            name: name.to_owned(),
            target,
            phys,
            step: None,
            created: true,
            fresh: fr.fresh,
        };
        let mut child = self.enter(fr, into)?;
        child.extra = extra;
        Some(child)
    }

    /// STAGE has a directory where TARGET has a symlink: merge through it if
    /// it leads to a directory inside TARGET.
    pub(super) fn follow(
        &mut self,
        fr: &mut Child<'a, F, X>,
        name: &OsStr,
        raced: bool,
    ) -> Option<Child<'a, F, X>> {
        let fs = self.cx.fs;
        let link = match fs.read_link(fr.target(), name) {
            Ok(l) => l,
            Err(err) => return self.fail(fr, Op::ReadLink, Side::Target, err),
        };
        let resolved = resolve_dir(fs, self.cx.target_root, self.cx.stage_id, &fr.phys, &link);
        let link = PathBuf::from(link);
        let reason = match resolved {
            Ok((dir, phys)) => {
                let mut into = self.existing(fr, name, dir, Some(Step::Follow { link }), raced);
                into.phys = phys;
                return self.enter(fr, into);
            }
            Err(Refusal::Escapes) => ConflictReason::SymlinkEscapes { link },
            Err(Refusal::NotDir(why)) => ConflictReason::SymlinkNotDir { link, why },
            Err(Refusal::IntoStage) => ConflictReason::IntoStage,
            Err(Refusal::Io(err)) => return self.fail(fr, Op::OpenDir, Side::Target, err),
        };
        self.take(fr, Step::Conflict(reason), Kind::Dir)
    }

    /// An existing TARGET directory to enter for `name`.
    pub(super) fn existing<E>(
        &self,
        fr: &Frame<'a, F::Dir, E>,
        name: &OsStr,
        target: Handle<'a, F::Dir>,
        step: Option<Step>,
        raced: bool,
    ) -> Entering<'a, F::Dir> {
        let mut phys = fr.phys.clone();
        phys.push(name.to_owned());
        Entering {
            name: name.to_owned(),
            target: Some(target),
            phys,
            step: Some(step.unwrap_or(Step::MergeDir)),
            created: false,
            fresh: raced || fr.fresh,
        }
    }

    /// Opens the staged directory and its listing, and makes the frame that
    /// merges it into `into.target`.
    pub(super) fn enter(
        &mut self,
        fr: &mut Child<'a, F, X>,
        into: Entering<'a, F::Dir>,
    ) -> Option<Child<'a, F, X>> {
        let fs = self.cx.fs;
        let tmeta = match into.target.as_ref().map(|t| fs.stat_dir(t.get())) {
            None => None,
            Some(Ok(m)) => Some(m),
            Some(Err(err)) => return self.fail(fr, Op::Stat, Side::Target, err),
        };
        if tmeta.as_ref().is_some_and(|m| m.id() == self.cx.stage_id) {
            return self.take(fr, Step::Conflict(ConflictReason::IntoStage), Kind::Dir);
        }
        // The scan of STAGE (a merge writing a record) listed the directory
        // and may have kept it open.
        let (sdir, listed) = match self.listings.take(&self.cx.rel) {
            Some(Listed {
                entries,
                handle: Some(h),
            }) => (Handle::Shared(h), Ok(entries)),
            taken => {
                let sdir = match fs.open_dir(fr.stage.get(), &into.name) {
                    Ok(d) => d,
                    Err(err) => return self.fail(fr, Op::OpenDir, Side::Stage, err),
                };
                let listed = match taken {
                    Some(l) => Ok(l.entries),
                    None => fs.read_dir(&sdir),
                };
                (Handle::Owned(sdir), listed)
            }
        };
        let entries = match listed {
            Ok(e) => sorted(e),
            Err(err) => return self.fail(fr, Op::ReadDir, Side::Stage, err),
        };
        if let Some(step) = into.step {
            self.x.record(&self.cx.rel, step, None, None);
        }
        let ours = !self.moved_in.is_empty()
            && (1..=into.phys.len()).any(|n| self.moved_in.contains(&into.phys[..n]));
        if let Some(m) = tmeta.as_ref().filter(|_| ours) {
            self.written.insert(m.id());
        }
        let hot = tmeta.as_ref().is_some_and(|m| {
            changed_since(m.ctime, self.cx.start, false) && !self.wrote_into(Some(m))
        });
        let how = match &tmeta {
            Some(m) => {
                // A rename that crossed filesystems into the parent also
                // crosses into a directory on the same filesystem below it
                // (a bind mount has the same device as its source).
                let parent_dev = fr.target_meta.as_ref().map(|p| p.dev);
                let learned = fr.how.crosses && parent_dev == Some(m.dev);
                let mut how = self.how_into(m, below(&fr.how, into.created));
                how.crosses |= learned;
                how
            }
            None => {
                let (copy, across) = below(&fr.how, into.created);
                How {
                    copy,
                    across,
                    ..fr.how
                }
            }
        };
        let mut child = Frame {
            stage: sdir,
            target: into.target,
            target_meta: tmeta,
            name: into.name,
            entries: entries.into_iter(),
            phys: into.phys,
            how,
            fresh: into.fresh,
            hot,
            taken: false,
            wrote: false,
            left: 0,
            extra: X::Extra::default(),
        };
        self.x.entered(&self.cx, &mut child);
        Some(child)
    }

    /// The TARGET directory `fr` entered is gone ([`Outcome::Vanished`]):
    /// another client's uninstall pruned it after this merge entered it, or
    /// this client entered it from a cached view after it was removed.
    /// Opens it again by its path from TARGET's root, making each missing
    /// directory on the way with the staged directory's mode (its parents'
    /// frames, holding gone handles too, find them there when they place
    /// next). The walk then decides the entry again.
    ///
    /// [`Outcome::Vanished`]: super::executor::Outcome::Vanished
    pub(super) fn reenter(&mut self, fr: &mut Child<'a, F, X>) -> std::io::Result<()> {
        use std::io::ErrorKind;
        let fs = self.cx.fs;
        let mode = fs.stat_dir(fr.stage.get())?.mode;
        let mut dir: Option<F::Dir> = None;
        for name in &fr.phys {
            let parent = dir.as_ref().unwrap_or(self.cx.target_root);
            let next = match fs.open_dir(parent, name) {
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    match fs.create_dir(parent, name, mode) {
                        Ok(()) => log::debug!("{name:?}: made again in TARGET (it was removed)"),
                        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(e),
                    }
                    fs.open_dir(parent, name)?
                }
                r => r?,
            };
            dir = Some(next);
        }
        // TARGET's root itself cannot be made again.
        let dir = dir.ok_or_else(|| std::io::Error::from(ErrorKind::NotFound))?;
        let meta = fs.stat_dir(&dir)?;
        if fr.wrote {
            self.written.insert(meta.id());
        }
        fr.target_meta = Some(meta);
        fr.target = Some(Handle::Owned(dir));
        Ok(())
    }

    /// How the children of a directory go into the TARGET directory `tmeta`:
    /// `(copy, across)` as inherited, whether renames from STAGE would cross
    /// filesystems, and whether TARGET's filesystem needs the fallback.
    pub(super) fn how_into(&self, tmeta: &Meta, (copy, across): (bool, bool)) -> How {
        How {
            copy,
            across,
            crosses: tmeta.dev != self.stage_dev,
            fallback: self.cx.opts.force_fallback || self.x.refuses_flag(tmeta.dev),
            policy: self.cx.opts.on_conflict,
            store: self.cx.opts.ownership.is_some(),
        }
    }
}
