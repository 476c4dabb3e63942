//! `stagemerge verify`: compares installed files with their record
//! (`stagemerge_core::command::verify`, natively or in the sandbox).

use anyhow::Result;
use stagemerge_core::abi::Command;
use stagemerge_core::command;

use crate::cli::VerifyArgs;
use crate::exit::Exit;
use crate::lifecycle::{self, Role};
use crate::records::{self, Reader};
use crate::sandbox::{self, Access, RecordsCommand};
use crate::shim::{NativeFs, open_root};

pub(crate) fn run(a: &VerifyArgs) -> Result<Exit> {
    let target = open_root(&a.target, "TARGET")?;
    let _lifecycle = lifecycle::acquire(&target, &a.target, Role::Reader)?;
    let pip_record = records::pip_record(&a.target, &a.manifest)?;
    let own = records::reserved_records(&a.manifest, pip_record.as_deref());
    let reader = Reader::new(&a.target, None, &own)?;
    if a.sandbox {
        return sandbox::run_records(RecordsCommand {
            command: Command::Verify {
                json: a.json,
                pip_record: pip_record.clone(),
            },
            target: &a.target,
            record: Some(&a.manifest),
            dir: None,
            reader: &reader,
            access: Access::ReadOnly,
        });
    }
    let place = records::place(&a.manifest)?;
    let out = command::verify(
        &NativeFs::new(),
        &target,
        &a.target,
        &place,
        pip_record.as_deref(),
        reader.core(),
        a.json,
    )?;
    Ok(crate::output::print(&out))
}
