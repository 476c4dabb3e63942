//! `stagemerge`: the command-line front end and native platform shim.
#![deny(unsafe_code)]

mod cli;
mod config;
mod escalate;
mod exit;
mod generate;
mod lock;
mod output;
mod progress;
mod records;
mod run_merge;
mod run_plan;
mod run_uninstall;
mod run_verify;
#[cfg_attr(not(feature = "sandbox"), path = "sandbox_absent.rs")]
mod sandbox;
mod shim;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::Exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::set_color(cli.color);
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("off"))
        .format_timestamp_micros()
        .init();
    shim::raise_open_files();
    let outcome = match cli.command {
        Command::Merge(args) => {
            config::MergeConfig::from_args(args).and_then(|cfg| run_merge::run(&cfg))
        }
        Command::Plan(args) => {
            config::PlanConfig::from_args(args).and_then(|cfg| run_plan::run(&cfg))
        }
        Command::Uninstall(args) => run_uninstall::run(&args),
        Command::Verify(args) => run_verify::run(&args),
        Command::Generate(what) => generate::run(what),
        Command::SandboxProbe(a) => sandbox::probe(&a),
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
