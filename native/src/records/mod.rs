//! Installation records on disk, as the command line names them: the
//! record's directory and the directory of records are opened here once
//! and handed to the core, which reads, checks and writes every record
//! through those handles (`stagemerge_core::record::file`).

mod read;
mod recording;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cap_std::fs::Dir;
use stagemerge_core::ownership::Owners;
use stagemerge_core::record::file::{self, Place};
use stagemerge_core::record::read::pip_site_of;

pub(crate) use read::{Reader, resolved};
pub(crate) use recording::for_merge;

use crate::shim::{NativeFs, open_root};

/// Where the record named `path` lies: its directory opened, and its name
/// there. A symlink at `path` is followed once here (the user named it);
/// records in a directory of records never are.
pub(crate) fn place(path: &Path) -> Result<Place<Dir>> {
    let (dir, name) = located(path)?;
    Ok(Place {
        dir: open_root(&dir, "the directory of record")?,
        name,
        shown: path.to_owned(),
    })
}

/// The directory (resolved) and the name of the record at `path`, as
/// [`place`] opens them.
pub(crate) fn located(path: &Path) -> Result<(PathBuf, OsString)> {
    let real = match path.symlink_metadata() {
        Ok(m) if m.file_type().is_symlink() => path.canonicalize().ok(),
        _ => None,
    }
    .or_else(|| resolved(path))
    .with_context(|| format!("resolve the directory of record {}", path.display()))?;
    let (Some(dir), Some(name)) = (real.parent(), real.file_name()) else {
        anyhow::bail!("record {}: not a file's path", path.display());
    };
    Ok((dir.to_owned(), name.to_owned()))
}

/// Where the journal of the record at `record` lies.
pub(crate) fn journal_path(record: &Path) -> PathBuf {
    let mut p = record.as_os_str().to_owned();
    p.push(file::JOURNAL_SUFFIX);
    PathBuf::from(p)
}

/// The path of `path` relative to TARGET `target` (both resolved), `None`
/// when it lies outside.
pub(crate) fn below_target(target: &Path, path: &Path) -> Result<Option<PathBuf>> {
    let root = target
        .canonicalize()
        .with_context(|| format!("TARGET {}: cannot resolve", target.display()))?;
    Ok(resolved(path).and_then(|p| read::below(&root, &p)))
}

/// The TARGET-relative path of `manifest` when it is pip's RECORD of a
/// distribution inside TARGET (read as one, and not reserved: it lists
/// itself), else `None`. A distribution's RECORD outside TARGET is an
/// error: its paths are relative to a site directory TARGET does not hold
/// (pip, too, refuses to uninstall outside the environment).
pub(crate) fn pip_record(target: &Path, manifest: &Path) -> Result<Option<PathBuf>> {
    let rel = below_target(target, manifest)?;
    if let Some(rel) = rel.filter(|rel| pip_site_of(rel).is_some()) {
        return Ok(Some(rel));
    }
    let looks_pip = pip_site_of(manifest).is_some()
        || resolved(manifest).is_some_and(|p| pip_site_of(&p).is_some());
    if looks_pip {
        anyhow::bail!(
            "record {}: the RECORD of a distribution outside TARGET {}; nothing was done",
            manifest.display(),
            target.display()
        );
    }
    Ok(None)
}

/// The records of stagemerge among `manifest` (all but a pip RECORD, which
/// is the distribution's own file), as [`Reader::new`] reserves them.
pub(crate) fn reserved_records<'a>(manifest: &'a Path, pip_record: Option<&Path>) -> Vec<&'a Path> {
    match pip_record {
        Some(_) => Vec::new(),
        None => vec![manifest],
    }
}

/// The names, in the directory of records `dir`, of those of `records`
/// that lie there.
pub(crate) fn names_in(dir: &Path, records: &[&Path]) -> Vec<OsString> {
    let Ok(dir) = dir.canonicalize() else {
        return Vec::new();
    };
    records
        .iter()
        .filter_map(|r| resolved(r))
        .filter(|r| r.parent() == Some(dir.as_path()))
        .filter_map(|r| r.file_name().map(|n| n.to_owned()))
        .collect()
}

/// Every record in the directory of records `dir` (see
/// [`file::index::read`]), leaving out `skip` and marking `own`.
pub(crate) fn owners(
    dir: &Path,
    skip: Option<&Path>,
    own: &[&Path],
    reader: &Reader,
) -> Result<Owners> {
    let handle = open_root(dir, "the directory of records")?;
    let skip = skip.and_then(|s| names_in(dir, &[s]).pop());
    let own = names_in(dir, own);
    Ok(file::index::read(
        &NativeFs::new(),
        &handle,
        dir,
        skip.as_deref(),
        &own,
        reader.core(),
    )?)
}
