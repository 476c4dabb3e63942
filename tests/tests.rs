//! The integration tests, one test binary (as ripgrep's `tests/tests.rs`):
//! each module is a theme and drives the real `stagemerge` binary on real
//! directories. One binary links the shared helpers (`util/`) once instead
//! of once per theme.

#[macro_use]
mod util;

mod bad_records;
mod cli;
mod clobber;
mod concurrency;
mod copy;
mod escalation;
mod filesystems;
mod journal;
mod lifecycle;
mod model;
mod netfs;
mod odd_trees;
mod output;
mod ownership;
mod pip_records;
mod placement;
mod power_cut;
mod protect;
mod real_trees;
mod records;
mod reliability;
mod sage;
mod sage_spkg;
mod sandbox;
mod uninstall;
mod windows;
