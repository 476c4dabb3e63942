//! The dry-run executor: records each step and changes nothing, so the walk
//! only opens, lists, `lstat`s and reads (it runs on read-only handles).

use std::io;
use std::path::Path;

use crate::fs::Fs;
use crate::ownership::Collided;
use crate::plan::{Plan, Planned};
use crate::step::Step;

use super::executor::{At, Ctx, Executor, Outcome};
use super::frame::Frame;

/// Collects the walk's steps into a [`Plan`].
#[derive(Debug, Default)]
pub(crate) struct DryRun {
    pub(crate) plan: Plan,
}

impl<'a, F: Fs> Executor<'a, F> for DryRun {
    type Extra = ();

    fn places_blind(&self) -> bool {
        false
    }

    fn refuses_flag(&self, _dev: u64) -> bool {
        false
    }

    fn carry_out(&mut self, _: At<'_, 'a, F, ()>, _: &Step) -> Outcome<()> {
        Outcome::Done(())
    }

    fn open_created(&mut self, _: At<'_, 'a, F, ()>) -> io::Result<Option<F::Dir>> {
        Ok(None)
    }

    fn entered(&mut self, _: &Ctx<'a, F>, _: &mut Frame<'a, F::Dir, ()>) {}

    fn leave(
        &mut self,
        _: &Ctx<'a, F>,
        _: Frame<'a, F::Dir, ()>,
        _: Option<&mut Frame<'a, F::Dir, ()>>,
    ) {
    }

    fn record(
        &mut self,
        rel: &Path,
        step: Step,
        _err: Option<io::Error>,
        collided: Option<Collided>,
    ) {
        self.plan.steps.push(Planned {
            path: rel.to_owned(),
            step,
            collided,
        });
    }
}
