//! `stagemerge generate`: man pages and shell completions, generated from
//! the clap definitions so they never drift from the binary.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, Generate};
use crate::exit::Exit;

pub(crate) fn run(what: Generate) -> Result<Exit> {
    let mut cmd = Cli::command();
    // Every subcommand's arguments are deferred (`cli::Lazy`): define them.
    cmd.build();
    match what {
        Generate::Man { dir } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("write man pages into {}", dir.display()))?;
        }
        Generate::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "stagemerge", &mut out);
            std::io::stdout()
                .write_all(&out)
                .context("write to stdout")?;
        }
    }
    Ok(Exit::Ok)
}
