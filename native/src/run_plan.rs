//! `stagemerge plan`: what a merge would do, natively or in the sandbox.

use std::io::Write;

use anyhow::{Result, anyhow};

use stagemerge_core::abi::Command;
use stagemerge_core::outcome::Printing;

use crate::config::PlanConfig;
use crate::exit::Exit;
use crate::sandbox::{self, Access};
use crate::shim::NativeFs;
use crate::shim::open_root;

pub(crate) fn run(cfg: &PlanConfig) -> Result<Exit> {
    let stage = open_root(&cfg.stage, "STAGE")?;
    let target = open_root(&cfg.target, "TARGET")?;
    if cfg.sandbox {
        let printing = Printing {
            json: cfg.json,
            ..Printing::default()
        };
        let roots = (cfg.stage.as_path(), cfg.target.as_path());
        return sandbox::run(
            Command::Plan,
            &cfg.options,
            printing,
            roots,
            Access::ReadOnly,
        );
    }
    let plan = stagemerge_core::plan(&NativeFs::new(), &stage, &target, &cfg.options)
        .map_err(|e| anyhow!(e.render(&cfg.stage, &cfg.target)))?;
    let text = if cfg.json {
        plan.to_json()
    } else {
        plan.to_text()
    };
    // A closed stdout (`| head`) is not an error of the plan.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(if plan.has_problems() {
        Exit::Problems
    } else {
        Exit::Ok
    })
}
