//! Placing an entry whose name is free in TARGET: one no-replace rename, or
//! the portable fallback where the filesystem refuses the flag.

use std::ffi::OsStr;
use std::io;

use crate::error::Op;
use crate::fs::{Fs, Kind};

/// How an absent entry was placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placed {
    /// The staged entry itself is now in TARGET (renamed, or linked and
    /// unlinked); a directory came with everything below it.
    Moved,
    /// Fallback for a directory (or copy mode): an empty directory was
    /// created in TARGET; the caller merges the staged children into it.
    DirCreated,
    /// Copy mode: a copy of the staged non-directory is in TARGET.
    Copied,
}

/// Which filesystems (by device) refused the no-replace flag, so the fallback
/// is chosen per filesystem and the refused call is not repeated per entry.
#[derive(Debug, Default)]
pub(crate) struct Strategy {
    force_fallback: bool,
    no_flag: Vec<u64>,
}

impl Strategy {
    pub(crate) fn new(force_fallback: bool) -> Self {
        Strategy {
            force_fallback,
            no_flag: Vec::new(),
        }
    }

    /// Places `stage/name` (of kind `kind`) at `target/name` if that name is
    /// free. `AlreadyExists` means it is taken. `dev` is the device of
    /// `target`. A failed step is returned with the operation it was.
    pub(crate) fn place<F: Fs>(
        &mut self,
        fs: &F,
        stage: &F::Dir,
        target: &F::Dir,
        dev: u64,
        name: &OsStr,
        kind: Kind,
    ) -> Result<Placed, (Op, io::Error)> {
        if !self.force_fallback && !self.no_flag.contains(&dev) {
            match fs.rename_noreplace(stage, name, target, name) {
                Ok(()) => return Ok(Placed::Moved),
                Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                    log::debug!(
                        "device {dev} refuses the no-replace rename ({e}): placing files by \
                         link + unlink and directories by mkdir + children there"
                    );
                    self.no_flag.push(dev);
                }
                Err(e) => return Err((Op::Rename, e)),
            }
        }
        if kind == Kind::Dir {
            let mode = fs.stat_at(stage, name).map_err(|e| (Op::Stat, e))?.mode;
            fs.create_dir(target, name, mode)
                .map_err(|e| (Op::CreateDir, e))?;
            Ok(Placed::DirCreated)
        } else {
            fs.link(stage, name, target, name)
                .map_err(|e| (Op::Link, e))?;
            // Linked: the entry is safe in TARGET. If the unlink fails, both
            // names exist; a rerun finds them identical and removes it.
            fs.remove_file(stage, name).map_err(|e| (Op::Remove, e))?;
            Ok(Placed::Moved)
        }
    }
}
