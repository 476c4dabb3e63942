//! The command line, as clap definitions only; [`crate::config`] validates it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Move a staged install tree (a DESTDIR) into a live shared prefix:
/// safe when many merges run at once, atomic per file, resumable.
#[derive(Debug, Parser)]
#[command(name = "stagemerge", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Merge STAGE into TARGET: every staged entry is renamed into place
    /// (no-replace), merged into an existing directory, found identical, or
    /// replaced atomically; what cannot be merged stays in STAGE.
    Merge(MergeArgs),
}

/// What to do when STAGE and TARGET hold different files at one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ConflictPolicy {
    /// Replace TARGET's file atomically, with a warning.
    Replace,
    /// Keep TARGET's file; the staged one stays in STAGE (a warning).
    Keep,
    /// Count it as a conflict: exit status 1.
    Fail,
}

#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// Different non-directory already in TARGET.
    #[arg(long, value_enum, default_value_t = ConflictPolicy::Replace)]
    pub(crate) on_conflict: ConflictPolicy,

    /// Print only problems (no warnings, no summary).
    #[arg(short, long, conflicts_with = "verbose")]
    pub(crate) quiet: bool,

    /// List every action on stdout, one entry a line.
    #[arg(short, long)]
    pub(crate) verbose: bool,

    /// The staged tree (its contents are merged, not the directory itself).
    pub(crate) stage: PathBuf,

    /// The live prefix to merge into.
    pub(crate) target: PathBuf,
}
