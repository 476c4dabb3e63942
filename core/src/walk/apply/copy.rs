//! Copying a staged non-directory into place (copy mode, or across
//! filesystems), keeping hard-link groups one inode.

use std::io;

use crate::error::{Op, Side};
use crate::fs::{Fs, Kind, Meta};
use crate::resolve::open_phys;

use super::super::executor::Outcome;
use super::unlock::unlock;
use super::{Apply, Here, Restore, replaced_err};

impl Apply<'_> {
    /// [`crate::Step::Copy`] (`replace` false: the name must be free) and a
    /// copying [`crate::Step::Replace`].
    pub(super) fn copy<F: Fs>(
        &mut self,
        at: &mut Here<'_, '_, F>,
        replace: bool,
    ) -> Outcome<Restore> {
        let smeta = match at.cx.fs.stat_at(at.fr.stage.get(), at.name) {
            Ok(m) => m,
            Err(err) => return Outcome::Failed(Op::Stat, Side::Stage, err),
        };
        let mut r = self.copy_file(at, &smeta, replace);
        if matches!(&r, Err((_, e)) if e.kind() == io::ErrorKind::PermissionDenied)
            && unlock(at.cx.fs, at.fr)
        {
            r = self.copy_file(at, &smeta, replace);
        }
        match r {
            Ok(()) => Outcome::Done(Restore::default()),
            Err((_, e)) if !replace && e.kind() == io::ErrorKind::AlreadyExists => Outcome::Taken,
            Err((op, e)) => replaced_err(op, e),
        }
    }

    /// Copies the staged non-directory `name` into place; a further name of
    /// an inode already copied is linked to that copy instead.
    fn copy_file<F: Fs>(
        &mut self,
        at: &Here<'_, '_, F>,
        smeta: &Meta,
        replace: bool,
    ) -> Result<(), (Op, io::Error)> {
        let (fs, cx, fr, name) = (at.cx.fs, at.cx, &*at.fr, at.name);
        let grouped = smeta.kind == Kind::File && smeta.nlink > 1;
        if grouped
            && !replace
            && let Some((phys, first)) = self.links.get(&smeta.id())
            && let Ok(dir) = open_phys(fs, cx.target_root, phys)
        {
            match fs.link(dir.get(), first, fr.target(), name) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err((Op::Link, e));
                }
                // The first copy is gone or cannot be linked: copy.
                Err(_) => {}
            }
        }
        fs.copy_in(fr.stage.get(), name, smeta, fr.target(), name, replace)
            .map_err(|e| (Op::Copy, e))?;
        if grouped {
            self.links
                .entry(smeta.id())
                .or_insert_with(|| (fr.phys.clone(), name.to_owned()));
        }
        Ok(())
    }
}
