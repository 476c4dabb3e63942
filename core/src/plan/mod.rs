//! A dry run: what [`crate::merge`] would do with STAGE and TARGET as they
//! are now, computed by the same rules and changing nothing.
//!
//! The walk only opens, lists, `lstat`s and reads, so it can run on handles
//! that allow nothing else (the read-only sandbox). Concurrency does not
//! enter: a plan describes a merge that runs alone.

mod render;
#[cfg(test)]
mod tests;

pub use render::Totals;

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use crate::classify::{Decision, Verdict, classify, on_difference};
use crate::compare::{Buffers, identical};
use crate::error::{Error, Op, Side};
use crate::fs::{Entry, Fs, Kind};
use crate::handle::Handle;
use crate::options::Options;
use crate::report::ConflictReason;
use crate::resolve::{Refusal, resolve_dir};

/// What a merge would do with one staged entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The staged directory would be placed whole (TARGET has no such name).
    PlaceDir,
    /// The staged non-directory would be placed (TARGET has no such name).
    Place {
        /// What it is.
        kind: Kind,
    },
    /// TARGET has the same directory; the staged children are planned below.
    MergeDir,
    /// TARGET has a symlink to a directory inside TARGET; the staged children
    /// are planned into that directory.
    Follow {
        /// The link text.
        link: PathBuf,
    },
    /// TARGET already holds an identical entry; the staged one would be
    /// dropped.
    Identical,
    /// TARGET holds a different non-directory that would be replaced.
    Replace,
    /// TARGET holds a different non-directory that would be kept
    /// (`--on-conflict keep`).
    Keep,
    /// Not mergeable: the entry would stay in STAGE.
    Conflict(ConflictReason),
    /// A system call failed while planning this entry.
    Error {
        /// What was being done.
        op: Op,
        /// Which tree the failing call was on.
        side: Side,
        /// The kind of the OS error (kinds, unlike errno values, are the same
        /// on every platform, so a plan reads the same natively and in the
        /// sandbox).
        kind: io::ErrorKind,
    },
}

/// One line of a plan: a staged entry and what would happen to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The entry, relative to both roots.
    pub path: PathBuf,
    /// What would happen.
    pub step: Step,
}

/// A whole plan, in walk order (each directory's names sorted by bytes,
/// parents before children), which is stable for a given pair of trees.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Every staged entry the merge would examine.
    pub steps: Vec<Planned>,
}

impl Plan {
    /// True when the merge would report problems (conflicts or errors), which
    /// is when `stagemerge plan` exits 1.
    pub fn has_problems(&self) -> bool {
        self.steps
            .iter()
            .any(|p| matches!(p.step, Step::Conflict(_) | Step::Error { .. }))
    }
}

/// Plans the merge of `stage` into `target` by the rules of SPEC.md, without
/// changing either tree.
///
/// Returns `Err` only where [`crate::merge`] would do nothing at all: a root
/// cannot be examined or listed, or both are the same directory.
pub fn plan<F: Fs>(fs: &F, stage: &F::Dir, target: &F::Dir, opts: &Options) -> Result<Plan, Error> {
    let roots = crate::roots::examine(fs, stage, target)?;
    let mut p = Planner {
        fs,
        opts,
        target_root: target,
        stage_root: roots.stage.id(),
        bufs: Buffers::new(),
        rel: PathBuf::new(),
        plan: Plan::default(),
    };
    p.dir(stage, target, &[], roots.entries);
    Ok(p.plan)
}

struct Planner<'a, F: Fs> {
    fs: &'a F,
    opts: &'a Options,
    target_root: &'a F::Dir,
    stage_root: (u64, u64),
    bufs: Buffers,
    rel: PathBuf,
    plan: Plan,
}

impl<'a, F: Fs> Planner<'a, F> {
    /// Plans the children `entries` of the staged directory `stage` into the
    /// TARGET directory `target` (at `phys` below TARGET's root).
    fn dir(&mut self, stage: &F::Dir, target: &F::Dir, phys: &[OsString], mut entries: Vec<Entry>) {
        entries.sort_unstable_by(|a, b| a.name.as_encoded_bytes().cmp(b.name.as_encoded_bytes()));
        for e in entries {
            self.rel.push(&e.name);
            self.entry(stage, target, phys, e);
            self.rel.pop();
        }
    }

    fn entry(&mut self, stage: &F::Dir, target: &F::Dir, phys: &[OsString], e: Entry) {
        let name = e.name;
        let kind = match e.kind {
            Kind::Unknown => match self.fs.stat_at(stage, &name) {
                Ok(m) => m.kind,
                Err(err) => return self.error(Op::Stat, Side::Stage, &err),
            },
            k => k,
        };
        let tmeta = match self.fs.stat_at(target, &name) {
            Ok(m) => m,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                let step = if kind == Kind::Dir {
                    Step::PlaceDir
                } else {
                    Step::Place { kind }
                };
                return self.push(step);
            }
            Err(err) => return self.error(Op::Stat, Side::Target, &err),
        };
        let mut below = phys.to_vec();
        let (tdir, step) = match classify(kind, tmeta.kind) {
            Verdict::Descend => match self.fs.open_dir(target, &name) {
                Ok(d) => {
                    below.push(name.clone());
                    (Handle::Owned(d), Step::MergeDir)
                }
                Err(err) => return self.error(Op::OpenDir, Side::Target, &err),
            },
            Verdict::FollowLink => {
                let link = match self.fs.read_link(target, &name) {
                    Ok(l) => l,
                    Err(err) => return self.error(Op::ReadLink, Side::Target, &err),
                };
                let resolved = resolve_dir(self.fs, self.target_root, self.stage_root, phys, &link);
                let link = PathBuf::from(link);
                match resolved {
                    Ok((d, p)) => {
                        below = p;
                        (d, Step::Follow { link })
                    }
                    Err(Refusal::Escapes) => {
                        return self.push(Step::Conflict(ConflictReason::SymlinkEscapes { link }));
                    }
                    Err(Refusal::NotDir(why)) => {
                        let r = ConflictReason::SymlinkNotDir { link, why };
                        return self.push(Step::Conflict(r));
                    }
                    Err(Refusal::IntoStage) => {
                        return self.push(Step::Conflict(ConflictReason::IntoStage));
                    }
                    Err(Refusal::Io(err)) => {
                        return self.error(Op::OpenDir, Side::Target, &err);
                    }
                }
            }
            Verdict::Conflict(reason) => return self.push(Step::Conflict(reason)),
            Verdict::Compare => return self.compare(stage, target, &name, &tmeta),
        };
        match self.fs.stat_dir(tdir.get()) {
            Ok(m) if m.id() == self.stage_root => {
                return self.push(Step::Conflict(ConflictReason::IntoStage));
            }
            Ok(_) => {}
            Err(err) => return self.error(Op::Stat, Side::Target, &err),
        }
        let sdir = match self.fs.open_dir(stage, &name) {
            Ok(d) => d,
            Err(err) => return self.error(Op::OpenDir, Side::Stage, &err),
        };
        let entries = match self.fs.read_dir(&sdir) {
            Ok(e) => e,
            Err(err) => return self.error(Op::ReadDir, Side::Stage, &err),
        };
        self.push(step);
        self.dir(&sdir, tdir.get(), &below, entries);
    }

    /// Two non-directories of mergeable kinds: identical, or a difference
    /// settled by the `--on-conflict` policy.
    fn compare(
        &mut self,
        stage: &F::Dir,
        target: &F::Dir,
        name: &std::ffi::OsStr,
        tmeta: &crate::Meta,
    ) {
        let smeta = match self.fs.stat_at(stage, name) {
            Ok(m) => m,
            Err(err) => return self.error(Op::Stat, Side::Stage, &err),
        };
        match identical(self.fs, &mut self.bufs, stage, &smeta, target, tmeta, name) {
            Err(err) => return self.error(Op::Read, Side::Stage, &err),
            Ok(true) => return self.push(Step::Identical),
            Ok(false) => {}
        }
        let step = match on_difference(self.opts.on_conflict, false) {
            Decision::Fail => Step::Conflict(ConflictReason::Different),
            Decision::Keep => Step::Keep,
            Decision::Replace | Decision::KeepConcurrent => Step::Replace,
        };
        self.push(step);
    }

    fn push(&mut self, step: Step) {
        self.plan.steps.push(Planned {
            path: self.rel.clone(),
            step,
        });
    }

    fn error(&mut self, op: Op, side: Side, err: &io::Error) {
        self.push(Step::Error {
            op,
            side,
            kind: err.kind(),
        });
    }
}

/// The path of a planned step as the text form prints it.
pub fn display_path(path: &Path) -> String {
    crate::escape::escape(path.as_os_str().as_encoded_bytes())
}
