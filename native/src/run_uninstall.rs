//! `stagemerge uninstall`: removes a package's recorded files
//! (`stagemerge_core::command::uninstall`, natively or in the sandbox).

use anyhow::{Context, Result};
use stagemerge_core::abi::Command;
use stagemerge_core::command::{self, PipSites, RecordsAt, UninstallFlags};

use crate::cli::UninstallArgs;
use crate::exit::Exit;
use crate::lifecycle::{self, Role};
use crate::records::{self, Reader};
use crate::sandbox::{self, Access, RecordsCommand};
use crate::shim::{NativeFs, open_root};

pub(crate) fn run(a: &UninstallArgs) -> Result<Exit> {
    let target = open_root(&a.target, "TARGET")?;
    // Alone in TARGET from before the records are read to after the record
    // is gone: no merge is between its journal and its record meanwhile.
    let _lifecycle = lifecycle::acquire(&target, &a.target, Role::Uninstall)?;
    // pip's RECORD lists itself: it is the distribution's file as much as
    // its record, so it is not reserved as stagemerge's own records are.
    let pip_record = records::pip_record(&a.target, &a.manifest)?;
    let own = records::reserved_records(&a.manifest, pip_record.as_deref());
    let reader = Reader::new(&a.target, a.manifest_dir.as_deref(), &own)?;
    let mut sites = Vec::new();
    for site in &a.pip_site {
        let rel = records::below_target(&a.target, site)?.with_context(|| {
            format!(
                "--pip-site {}: not a directory inside TARGET",
                site.display()
            )
        })?;
        sites.push((rel, site.clone()));
    }
    let flags = UninstallFlags {
        force: a.force,
        keep_record: a.keep_record,
        json: a.json,
        quiet: a.quiet,
    };
    if a.sandbox {
        return sandbox::run_records(RecordsCommand {
            command: Command::Uninstall {
                flags,
                pip_record: pip_record.clone(),
                pip_sites: sites.clone(),
            },
            target: &a.target,
            record: Some(&a.manifest),
            dir: a.manifest_dir.as_deref(),
            reader: &reader,
            access: Access::ReadWrite,
        });
    }
    let place = records::place(&a.manifest)?;
    let dir = match &a.manifest_dir {
        Some(d) => Some((open_root(d, "the directory of records")?, d)),
        None => None,
    };
    // The record uninstalled is not another owner, if it lies there.
    let skip = a
        .manifest_dir
        .as_deref()
        .and_then(|d| records::names_in(d, &[&a.manifest]).pop());
    let out = command::uninstall(
        &NativeFs::new(),
        &target,
        &a.target,
        &place,
        dir.as_ref()
            .map(|(h, shown)| (RecordsAt { dir: h, shown }, skip.as_deref())),
        PipSites {
            record: pip_record.as_deref(),
            sites: &sites,
        },
        reader.core(),
        flags,
    )?;
    Ok(crate::output::print(&out))
}
