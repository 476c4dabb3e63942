//! `stagemerge owner`: which records of a records directory list a path,
//! and whose version of it is visible in TARGET
//! (`stagemerge_core::command::owner`, natively or in the sandbox).

use std::path::{Component, Path, PathBuf};

use anyhow::{Result, bail};
use stagemerge_core::abi::Command;
use stagemerge_core::command::{self, RecordsAt};

use crate::cli::OwnerArgs;
use crate::exit::Exit;
use crate::lifecycle::{self, Role};
use crate::records::Reader;
use crate::sandbox::{self, Access, RecordsCommand};
use crate::shim::{NativeFs, open_root};

pub(crate) fn run(a: &OwnerArgs) -> Result<Exit> {
    let target = open_root(&a.target, "TARGET")?;
    let _lifecycle = lifecycle::acquire(&target, &a.target, Role::Reader)?;
    let reader = Reader::new(&a.target, Some(&a.manifest_dir), &[])?;
    let paths = a
        .paths
        .iter()
        .map(|p| relative(&a.target, p))
        .collect::<Result<Vec<_>>>()?;
    if a.sandbox {
        return sandbox::run_records(RecordsCommand {
            command: Command::Owner {
                paths,
                json: a.json,
            },
            target: &a.target,
            record: None,
            dir: Some(&a.manifest_dir),
            reader: &reader,
            access: Access::ReadOnly,
        });
    }
    let dir = open_root(&a.manifest_dir, "the directory of records")?;
    let out = command::owner(
        &NativeFs::new(),
        &target,
        &a.target,
        RecordsAt {
            dir: &dir,
            shown: &a.manifest_dir,
        },
        reader.core(),
        &paths,
        a.json,
    )?;
    Ok(crate::output::print(&out))
}

/// `path` relative to TARGET: as given if relative, else below TARGET as
/// the user named it. Never `..` or a root: a record names nothing else.
fn relative(target: &Path, path: &Path) -> Result<PathBuf> {
    let rel = if path.is_absolute() {
        match path.strip_prefix(target) {
            Ok(rel) => rel.to_owned(),
            Err(_) => bail!(
                "{} is not inside TARGET {}",
                path.display(),
                target.display()
            ),
        }
    } else {
        path.to_owned()
    };
    let clean: PathBuf = rel
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    if clean.as_os_str().is_empty()
        || clean
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
    {
        bail!(
            "{}: name a file below TARGET (relative, no `..`)",
            path.display()
        );
    }
    Ok(clean)
}
