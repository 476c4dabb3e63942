//! The rules a command reads records by: the core's one reader
//! (`stagemerge_core::record::{read, file}`), told which paths below TARGET
//! no record may list, however they are spelled.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use stagemerge_core::record::file;
use stagemerge_core::record::read::{Reserved, What};

/// Reads records for one command: knows TARGET, so that an entry naming the
/// clobber store, the directory of records or a record this command uses
/// makes the record invalid.
#[derive(Clone, Debug)]
pub(crate) struct Reader {
    core: file::Reader,
}

impl Reader {
    /// A reader for records of packages installed in `target`, reserving
    /// the clobber store, `records_dir` (if inside TARGET) and each of
    /// `records` with its journal (those inside TARGET).
    pub(crate) fn new(
        target: &Path,
        records_dir: Option<&Path>,
        records: &[&Path],
    ) -> Result<Self> {
        let root = target
            .canonicalize()
            .with_context(|| format!("TARGET {}: cannot resolve", target.display()))?;
        let mut reserved = Reserved::default();
        if let Some(rel) = records_dir
            .and_then(|dir| dir.canonicalize().ok())
            .and_then(|d| below(&root, &d))
        {
            reserved.tree(rel, What::RecordsDir);
        }
        for r in records {
            for p in [r.to_path_buf(), super::journal_path(r)] {
                if let Some(rel) = resolved(&p).and_then(|p| below(&root, &p)) {
                    reserved.entry(rel, What::Record);
                }
            }
        }
        Ok(Reader {
            core: file::Reader {
                name: crate::shim::name_from_bytes,
                reserved,
            },
        })
    }

    /// The paths no record may list.
    pub(crate) fn reserved(&self) -> &Reserved {
        &self.core.reserved
    }

    /// The core's reader, with these rules.
    pub(crate) fn core(&self) -> &file::Reader {
        &self.core
    }
}

/// `path` relative to `root`, spelled with `/`, if it is inside (`None`
/// for `root` itself).
pub(crate) fn below(root: &Path, path: &Path) -> Option<PathBuf> {
    let rel = path.strip_prefix(root).ok()?;
    let mut out = PathBuf::new();
    for c in rel.components() {
        stagemerge_core::rel::push(&mut out, c.as_os_str());
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// `path` with its directory resolved (the file itself need not exist).
pub(crate) fn resolved(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    parent.canonicalize().ok().map(|p| p.join(name))
}
