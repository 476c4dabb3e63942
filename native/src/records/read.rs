//! Reading a record from disk: bounded, and only from a regular file, then
//! checked whole by the core's one reader (`stagemerge_core::record::read`)
//! against the paths no record may list.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use stagemerge_core::record::read::{
    self, Format, MAX_RECORD_BYTES, Parsed, Reserved, Rules, What,
};

use super::journal;

/// Reads records for one command: knows TARGET, so that an entry naming the
/// clobber store, the directory of records or a record this command uses
/// makes the record invalid, however that place is spelled.
#[derive(Clone, Debug)]
pub(crate) struct Reader {
    reserved: Reserved,
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
            for p in [r.to_path_buf(), journal::path(r)] {
                if let Some(rel) = resolved(&p).and_then(|p| below(&root, &p)) {
                    reserved.entry(rel, What::Record);
                }
            }
        }
        Ok(Reader { reserved })
    }

    /// The paths no record may list.
    pub(crate) fn reserved(&self) -> &Reserved {
        &self.reserved
    }

    /// The record at `path` (a manifest, Sage's record or a text manifest;
    /// not a journal).
    pub(crate) fn record(&self, path: &Path) -> Result<Parsed> {
        let parsed = self.bytes(path, &load(path, "record")?, "record")?;
        if parsed.format == Format::Journal {
            bail!(
                "record {}: a journal of a merge, not a record",
                path.display()
            );
        }
        Ok(parsed)
    }

    /// The record whose bytes were read from `path`.
    pub(crate) fn bytes(&self, path: &Path, bytes: &[u8], what: &str) -> Result<Parsed> {
        let rules = Rules {
            name: crate::shim::name_from_bytes,
            reserved: &self.reserved,
        };
        read::parse(bytes, &rules).map_err(|e| {
            anyhow::anyhow!(
                "{what} {} is invalid: {e}; nothing was done (a record is checked whole \
                 before anything acts on it)",
                path.display()
            )
        })
    }

    /// The journal at `path`.
    pub(crate) fn journal(&self, path: &Path) -> Result<Parsed> {
        let parsed = self.bytes(path, &load(path, "journal")?, "journal")?;
        if parsed.format != Format::Journal {
            bail!("journal {}: not a journal", path.display());
        }
        Ok(parsed)
    }
}

/// The bytes of the regular file at `path`: opened without blocking (a FIFO
/// never hangs the reader), checked on the open handle to be a regular file
/// of at most [`MAX_RECORD_BYTES`], and read no further than that.
pub(crate) fn load(path: &Path, what: &str) -> Result<Vec<u8>> {
    let file = crate::shim::open_nonblocking(path)
        .with_context(|| format!("open {what} {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("stat {what} {}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "{what} {} is not a regular file (a {}): only regular files are read as records",
            path.display(),
            crate::shim::describe_type(&meta)
        );
    }
    if meta.len() > MAX_RECORD_BYTES {
        bail!(
            "{what} {} is {} bytes, over the limit of {MAX_RECORD_BYTES} bytes for a record",
            path.display(),
            meta.len()
        );
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("read {what} {}", path.display()))?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        bail!(
            "{what} {} grew over the limit of {MAX_RECORD_BYTES} bytes while it was read",
            path.display()
        );
    }
    Ok(bytes)
}

/// `path` relative to `root`, spelled with `/`, if it is inside (`None`
/// for `root` itself).
fn below(root: &Path, path: &Path) -> Option<PathBuf> {
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
