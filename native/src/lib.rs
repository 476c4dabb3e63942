//! `stagemerge`: the command-line front end and native platform shim, as a
//! library behind two binaries: `stagemerge` ([`main`]) and, with the
//! `sandbox` feature, its Wasmtime helper `stagemerge-sandbox` (which takes
//! what it needs from [`helper`] and alone links Wasmtime), kept apart so
//! that the front end's start-up loads no Wasmtime.
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod cli;
mod config;
mod escalate;
mod exit;
mod generate;
pub mod helper;
mod lifecycle;
mod lock;
mod output;
mod progress;
mod records;
mod run_merge;
mod run_owner;
mod run_plan;
mod run_uninstall;
mod run_verify;
mod sandbox;
mod shim;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, Lazy};
use crate::exit::Exit;

/// The `stagemerge` command: parses the command line, runs it, and returns
/// the exit status (0 done, 1 done with problems, 2 nothing done).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    output::set_color(cli.color);
    init_logging();
    shim::raise_open_files();
    let outcome = match cli.command {
        Command::Merge(Lazy(args)) => {
            config::MergeConfig::from_args(args).and_then(|cfg| run_merge::run(&cfg))
        }
        Command::Plan(Lazy(args)) => {
            config::PlanConfig::from_args(args).and_then(|cfg| run_plan::run(&cfg))
        }
        Command::Uninstall(Lazy(args)) => run_uninstall::run(&args),
        Command::Verify(Lazy(args)) => run_verify::run(&args),
        Command::Owner(Lazy(args)) => run_owner::run(&args),
        Command::Generate(what) => generate::run(what),
        Command::SandboxProbe(Lazy(a)) => sandbox::probe(&a),
        Command::EscalationCheck => Ok(escalate::check()),
    };
    match outcome {
        Ok(exit) => exit.into(),
        Err(e) => {
            output::Messages::new().error(&format!("{e:#}"));
            Exit::NothingDone.into()
        }
    }
}

/// `RUST_LOG=stagemerge=debug` logs to stderr (both binaries).
fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("off"))
        .format_timestamp_micros()
        .init();
}
