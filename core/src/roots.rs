//! The two roots of a merge or a plan, examined before anything else: what
//! is wrong here means nothing can be done at all.

use std::io;
use std::path::PathBuf;

use crate::error::{Error, Op, Side};
use crate::fs::{Entry, Fs, Meta};

/// STAGE's and TARGET's metadata, and STAGE's listing.
pub(crate) struct Roots {
    pub(crate) stage: Meta,
    pub(crate) target: Meta,
    pub(crate) entries: Vec<Entry>,
}

/// Examines both roots: each can be `fstat`ed, they are not one directory,
/// and STAGE can be listed.
pub(crate) fn examine<F: Fs>(fs: &F, stage: &F::Dir, target: &F::Dir) -> Result<Roots, Error> {
    let root_err = |op, side, e| Error::new(op, side, PathBuf::new(), e);
    let smeta = fs
        .stat_dir(stage)
        .map_err(|e| root_err(Op::Stat, Side::Stage, e))?;
    let tmeta = fs
        .stat_dir(target)
        .map_err(|e| root_err(Op::Stat, Side::Target, e))?;
    if smeta.id() == tmeta.id() {
        let e = io::Error::new(
            io::ErrorKind::InvalidInput,
            "STAGE and TARGET are the same directory",
        );
        return Err(root_err(Op::OpenDir, Side::Target, e));
    }
    let entries = fs
        .read_dir(stage)
        .map_err(|e| root_err(Op::ReadDir, Side::Stage, e))?;
    Ok(Roots {
        stage: smeta,
        target: tmeta,
        entries,
    })
}
