//! What a merge reads and writes besides its two trees, as its command line
//! asks: each record's directory and the directory of records opened once,
//! for the core's [`stagemerge_core::driver::Driver`].

use anyhow::Result;
use cap_std::fs::Dir;
use stagemerge_core::driver::{Records, RecordsDir};
use stagemerge_core::record::file::{Book, WriteFormat};

use crate::cli::ManifestFormat;
use crate::config::MergeConfig;
use crate::shim::open_root;

/// The records `cfg` asks for, their places opened.
pub(crate) fn for_merge(cfg: &MergeConfig) -> Result<Records<Dir>> {
    let mut books = Vec::new();
    if let Some((path, format)) = &cfg.manifest {
        let format = match format {
            ManifestFormat::Text => WriteFormat::Text,
            ManifestFormat::Json => WriteFormat::Json,
        };
        books.push(Book::new(super::place(path)?, format));
    }
    if let Some(r) = &cfg.sage_record {
        books.push(Book::new(
            super::place(&r.path)?,
            WriteFormat::Sage(r.header()),
        ));
    }
    let dir = match &cfg.ownership {
        Some(spec) => Some(RecordsDir {
            dir: open_root(spec.dir(), "the directory of records")?,
            shown: spec.dir().to_owned(),
            own: super::names_in(spec.dir(), &spec.own()),
            policies: spec.policies(),
        }),
        None => None,
    };
    Ok(Records {
        books,
        level: cfg.record,
        dir,
        reader: cfg.reader.core().clone(),
    })
}
