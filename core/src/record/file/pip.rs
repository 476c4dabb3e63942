//! Who lists what in a Python environment: each `*.dist-info/RECORD` of a
//! site directory (site-packages) as an owner, so that removing one
//! distribution, or a package whose record lists the same files, keeps
//! what another installed distribution lists (pip's own uninstall removes
//! a namespace package's shared `__init__.py` with the first distribution
//! uninstalled: pip issue 4689).
//!
//! A RECORD is the distribution's, named by its `.dist-info` directory. A
//! record that lists a RECORD file claims that distribution (Sage's record
//! of a wheel staged with `pip install --root` lists its `.dist-info`): the
//! claimed distribution is the same package, not another owner.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use super::{FileError, Reader};
use crate::fs::{Fs, Kind};
use crate::ownership::{Owner, Owners};

/// The RECORD files `entries` list (TARGET-relative): the distributions a
/// record claims as its own.
pub fn claimed(entries: &[crate::Installed]) -> Vec<PathBuf> {
    entries
        .iter()
        .filter(|e| crate::record::read::pip_site_of(&e.path).is_some())
        .map(|e| e.path.clone())
        .collect()
}

/// The TARGET-relative directory `site`, opened component by component
/// (no symlink followed, as every directory a command opens).
pub fn open_site<F: Fs>(fs: &F, target: &F::Dir, site: &Path) -> io::Result<F::Dir> {
    let mut dir = fs.reopen_dir(target)?;
    for c in site.components() {
        dir = fs.open_dir(&dir, c.as_os_str())?;
    }
    Ok(dir)
}

/// Adds to `owners` every distribution of the TARGET-relative directory
/// `site` (shown as `shown`) but those whose RECORD (TARGET-relative) is
/// in `skip`. A `.dist-info` without a RECORD lists nothing (pip cannot
/// uninstall it either); any other entry of the directory is not a
/// distribution and is passed over. A `.dist-info` that is not a
/// directory, or a RECORD that is not a valid record, is an error: an
/// owner passed over would lose its files.
pub fn add_owners<F: Fs>(
    fs: &F,
    target: &F::Dir,
    site: &Path,
    shown: &Path,
    skip: &[PathBuf],
    reader: &Reader,
    owners: &mut Owners,
) -> Result<(), FileError> {
    let io = |op, path: &Path, e| FileError::io(op, "site directory", path.to_owned(), e);
    let dir = open_site(fs, target, site).map_err(|e| io("open", shown, e))?;
    let listing = super::listing::list_fresh(fs, &dir).map_err(|e| io("read", shown, e))?;
    let mut names: Vec<_> = listing
        .into_iter()
        .filter(|e| e.name.as_encoded_bytes().ends_with(b".dist-info"))
        .collect();
    names.sort_by(|a, b| a.name.cmp(&b.name));
    for e in names {
        let record = site.join(&e.name).join("RECORD");
        if skip.contains(&record) {
            continue;
        }
        let at = shown.join(&e.name);
        let kind = match e.kind {
            Kind::Unknown => match fs.stat_at(&dir, &e.name) {
                Ok(m) => m.kind,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(io("stat", &at, err)),
            },
            k => k,
        };
        if kind != Kind::Dir {
            return Err(FileError::WrongFormat {
                what: "distribution",
                path: at,
                wrong: "not a directory (a .dist-info is read as a distribution)",
            });
        }
        let d = match fs.open_dir(&dir, &e.name) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            r => r.map_err(|err| io("open", &at, err))?,
        };
        let name = OsStr::new("RECORD");
        if let Some(parsed) = reader.pip_record(fs, &d, name, &at.join(name), site)? {
            owners.add(Owner {
                name: e.name.to_string_lossy().into_owned(),
                own: false,
                incomplete: false,
                entries: parsed.entries,
            });
        }
    }
    Ok(())
}
