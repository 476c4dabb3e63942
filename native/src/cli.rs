//! The command line, as clap definitions only; [`crate::config`] validates it.

use std::path::PathBuf;

use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Move a staged install tree (a DESTDIR) into a live shared prefix:
/// safe when many merges run at once, atomic per file, resumable.
#[derive(Debug, Parser)]
#[command(name = "stagemerge", version, propagate_version = true)]
pub(crate) struct Cli {
    /// When to color the labels of errors and warnings.
    #[arg(long, value_enum, global = true, default_value_t = Color::Auto)]
    pub(crate) color: Color,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// A subcommand's arguments, defined only when that subcommand runs (or
/// its help or a man page is made): defining every subcommand's arguments on
/// each start was most of an empty merge's start-up (BENCHMARKS.md,
/// "Start-up").
#[derive(Debug)]
pub(crate) struct Lazy<T>(pub(crate) T);

impl<T: FromArgMatches> FromArgMatches for Lazy<T> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(m).map(Lazy)
    }

    fn from_arg_matches_mut(m: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(m).map(Lazy)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(m)
    }

    fn update_from_arg_matches_mut(&mut self, m: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(m)
    }
}

impl<T: Args> Args for Lazy<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.defer(T::augment_args)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(T::augment_args_for_update)
    }

    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Color {
    /// When stderr is a terminal and NO_COLOR is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Merge STAGE into TARGET: every staged entry is renamed into place
    /// (no-replace), merged into an existing directory, found identical, or
    /// replaced atomically; what cannot be merged stays in STAGE.
    Merge(Lazy<MergeArgs>),
    /// Show what `merge` would do, changing nothing: one line per staged
    /// entry (place-dir, place, merge-dir, follow, identical, replace, keep,
    /// conflict, error) and a summary; exit status 1 if the merge would
    /// report conflicts or errors.
    Plan(Lazy<PlanArgs>),
    /// Remove a package's files listed in a manifest or Sage installation
    /// record, deepest first, then the directories they leave empty. Files
    /// that another record in --manifest-dir lists are kept.
    Uninstall(Lazy<UninstallArgs>),
    /// Which records of a records directory list each PATH, and whose
    /// version of it is visible in TARGET; exit status 1 if a path is listed
    /// by no record.
    Owner(Lazy<OwnerArgs>),
    /// Compare installed files with a manifest: list missing, modified and
    /// type-changed files; exit status 1 if there are any.
    Verify(Lazy<VerifyArgs>),
    /// Write the man pages or a shell completion script, generated from
    /// these definitions.
    #[command(subcommand)]
    Generate(Generate),
    /// Internal (tests): tries every write the sandbox guest can express on
    /// STAGE, TARGET and the entries FILE and DIR in each; exit 0 only if
    /// all were refused.
    #[command(name = "sandbox-probe", hide = true)]
    SandboxProbe(Lazy<ProbeArgs>),
    /// Internal: answers the probe of SAGE_SUDO escalation.
    #[command(name = "escalation-check", hide = true)]
    EscalationCheck,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Generate {
    /// Man pages (stagemerge.1 and one per subcommand) into DIR.
    Man {
        /// Where to write them (created if missing).
        dir: PathBuf,
    },
    /// A completion script for SHELL, on stdout.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// How `--manifest` is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ManifestFormat {
    /// One path a line, relative to TARGET, sorted by bytes.
    Text,
    /// A JSON object: each file's path, kind, size, mode and SHA-256
    /// (symlinks: link text); names that are not UTF-8 in hex.
    Json,
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

    /// Copy instead of moving: STAGE is left intact. Each file is written
    /// to a temporary in its final directory, then placed by the same rules
    /// (automatic, per entry, where STAGE and TARGET are on different
    /// filesystems).
    #[arg(long)]
    pub(crate) copy: bool,

    /// Internal: this run is the SAGE_SUDO re-run; never escalate again.
    #[arg(long, hide = true)]
    pub(crate) escalated: bool,

    /// Print only problems (no warnings, no summary).
    #[arg(short, long, conflicts_with = "verbose")]
    pub(crate) quiet: bool,

    /// List every action on stdout, one entry a line, and every warning.
    #[arg(short, long)]
    pub(crate) verbose: bool,

    /// Print the outcome as JSON on stdout (format "stagemerge-report",
    /// version 1: counts, every warning and every problem).
    #[arg(long)]
    pub(crate) json: bool,

    /// After the merge, write (atomically) the files the package now owns
    /// in TARGET: placed, identical or replaced, relative to TARGET.
    #[arg(long, value_name = "FILE")]
    pub(crate) manifest: Option<PathBuf>,

    /// Format of --manifest.
    #[arg(long, value_enum, default_value_t = ManifestFormat::Text, requires = "manifest")]
    pub(crate) manifest_format: ManifestFormat,

    /// After the merge, write Sage's installation record (JSON with
    /// package_name, package_version, install_date, system_uname, files).
    #[arg(long, value_name = "FILE", requires_all = ["package", "package_version"])]
    pub(crate) sage_record: Option<PathBuf>,

    /// Package name for --sage-record.
    #[arg(long, value_name = "NAME", requires = "sage_record")]
    pub(crate) package: Option<String>,

    /// Package version for --sage-record.
    #[arg(long, value_name = "VERSION", requires = "sage_record")]
    pub(crate) package_version: Option<String>,

    /// `sage_version` for --sage-record (Sage's VERSION.txt).
    #[arg(long, value_name = "VERSION", requires = "sage_record")]
    pub(crate) sage_version: Option<String>,

    /// `test_result` for --sage-record ("passed", "failed", "not available").
    #[arg(long, value_name = "RESULT", requires = "sage_record")]
    pub(crate) test_result: Option<String>,

    /// Hold an flock(2) lock on FILE for the duration of the merge (the lock
    /// Sage's sage-flock takes); the merge is correct without it.
    #[arg(long, value_name = "FILE")]
    pub(crate) lock: Option<PathBuf>,

    /// Take --lock shared instead of exclusive.
    #[arg(long, requires = "lock")]
    pub(crate) shared: bool,

    /// Take --lock even where its filesystem keeps locks on this machine
    /// (sshfs; NFS mounted local_lock=flock): it then excludes processes of
    /// this machine only. Without it such a lock is refused (exit 2).
    #[arg(long, requires = "lock")]
    pub(crate) lock_this_machine: bool,

    /// Make the merged entries durable before exiting (one syncfs of
    /// TARGET's filesystem).
    #[arg(long)]
    pub(crate) sync: bool,

    /// Placements kept in flight at once on a filesystem served by a client
    /// (FUSE, NFS, SMB), where each is a round trip [default: 16; 1: one at
    /// a time]. A local filesystem places one at a time whatever this says.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) in_flight: Option<u16>,

    #[command(flatten)]
    pub(crate) ownership: OwnershipArgs,

    /// Run the merge inside the Wasmtime sandbox, which can reach only STAGE,
    /// TARGET and the directories of the records it reads and writes; it
    /// places entries with the portable primitives (link + unlink, mkdir +
    /// children) and reads and writes records with the same core as
    /// natively.
    #[arg(long, conflicts_with_all = ["copy", "sync"])]
    pub(crate) sandbox: bool,

    /// The staged tree (its contents are merged, not the directory itself).
    pub(crate) stage: PathBuf,

    /// The live prefix to merge into.
    pub(crate) target: PathBuf,
}

/// What the installed packages' records decide (merge and plan).
#[derive(Debug, Args)]
pub(crate) struct OwnershipArgs {
    /// The directory of the installed packages' records, one file per
    /// package in any of the three formats (Sage: SAGE_LOCAL/var/lib/sage/
    /// installed). Replacing another package's file names it; --on-owned,
    /// --allow-overwrite and --protect apply; every version the merge makes
    /// invisible that a package still lists is kept in
    /// TARGET/.stagemerge/clobbered, for `uninstall` to put back.
    #[arg(long, value_name = "DIR")]
    pub(crate) manifest_dir: Option<PathBuf>,

    /// A different file that another package's record lists (default: as
    /// --on-conflict).
    #[arg(long, value_enum, value_name = "POLICY", requires = "manifest_dir")]
    pub(crate) on_owned: Option<ConflictPolicy>,

    /// Paths (or globs, relative to TARGET) where another package's file
    /// may be replaced whatever --on-owned says, as portage's
    /// COLLISION_IGNORE. Repeatable.
    #[arg(long, value_name = "GLOB", requires = "manifest_dir")]
    pub(crate) allow_overwrite: Vec<String>,

    /// Protected configuration (a path, a directory such as `etc/`, or a
    /// glob; repeatable): a file there whose content no record lists (the
    /// user edited it) is kept, and the staged one is placed beside it as
    /// NAME.stagemerge-new.
    #[arg(long, value_name = "PATH-OR-GLOB", requires = "manifest_dir")]
    pub(crate) protect: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// Different non-directory already in TARGET (as for `merge`).
    #[arg(long, value_enum, default_value_t = ConflictPolicy::Replace)]
    pub(crate) on_conflict: ConflictPolicy,

    /// Print the plan as JSON (format "stagemerge-plan", version 1).
    #[arg(long)]
    pub(crate) json: bool,

    /// Plan a copy (as `merge --copy`): STAGE would be left intact.
    #[arg(long)]
    pub(crate) copy: bool,

    #[command(flatten)]
    pub(crate) ownership: OwnershipArgs,

    /// The record the merge would write (`merge --manifest` or
    /// `--sage-record`): in --manifest-dir, it is the package's own, not
    /// another owner.
    #[arg(long, value_name = "FILE", requires = "manifest_dir")]
    pub(crate) manifest: Option<PathBuf>,

    /// Compute the plan inside the Wasmtime sandbox, with STAGE and TARGET
    /// preopened read-only: it provably cannot write anything. The output is
    /// the same as without it.
    #[arg(long)]
    pub(crate) sandbox: bool,

    /// The staged tree.
    pub(crate) stage: PathBuf,

    /// The live prefix it would be merged into.
    pub(crate) target: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ProbeArgs {
    /// Preopen the two directories read-write (the control run).
    #[arg(long)]
    pub(crate) writable: bool,
    pub(crate) stage: PathBuf,
    pub(crate) target: PathBuf,
    pub(crate) file: String,
    pub(crate) dir: String,
}

#[derive(Debug, Args)]
pub(crate) struct UninstallArgs {
    /// The package's manifest (text or JSON), Sage installation record, or
    /// pip's RECORD of a distribution (a `RECORD` in a `*.dist-info`
    /// inside TARGET: the other distributions of its site directory are
    /// owners too).
    #[arg(long, value_name = "FILE")]
    pub(crate) manifest: PathBuf,

    /// A directory of the other installed packages' manifests or records
    /// (such as var/lib/sage/installed): files they list are kept.
    #[arg(long, value_name = "DIR")]
    pub(crate) manifest_dir: Option<PathBuf>,

    /// A site directory inside TARGET (such as
    /// lib/python3.11/site-packages): files that the RECORD of any of its
    /// distributions lists are kept, except the distributions the
    /// manifest itself lists. May be given more than once.
    #[arg(long, value_name = "DIR")]
    pub(crate) pip_site: Vec<PathBuf>,

    /// Remove files even if they changed since they were installed.
    #[arg(long)]
    pub(crate) force: bool,

    /// Leave the record in place when the uninstall succeeds (by default it
    /// is removed, durably, as the last step, before any merge can read it
    /// again; a record whose uninstall had problems is always kept).
    #[arg(long)]
    pub(crate) keep_record: bool,

    /// Print only problems.
    #[arg(short, long)]
    pub(crate) quiet: bool,

    /// Print the outcome as JSON on stdout: {"removed", "pruned", "kept":
    /// [{"path", "why"}], "record"}.
    #[arg(long)]
    pub(crate) json: bool,

    /// Run the uninstall inside the Wasmtime sandbox, which can reach only
    /// TARGET, the record's directory and the directory of records.
    #[arg(long)]
    pub(crate) sandbox: bool,

    /// The prefix the package was merged into.
    pub(crate) target: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct OwnerArgs {
    /// The directory of the installed packages' manifests or records (such
    /// as var/lib/sage/installed); each record is a package, named by its
    /// file name.
    #[arg(long, value_name = "DIR")]
    pub(crate) manifest_dir: PathBuf,

    /// Print the answer as JSON on stdout: {"records", "paths": [{"path",
    /// "present", "owners": [{"record", "incomplete", "version"}],
    /// "visible"}]}.
    #[arg(long)]
    pub(crate) json: bool,

    /// Answer inside the Wasmtime sandbox, read-only, which can reach only
    /// TARGET and the directory of records.
    #[arg(long)]
    pub(crate) sandbox: bool,

    /// The prefix the packages were merged into.
    pub(crate) target: PathBuf,

    /// Paths relative to TARGET (or absolute, below TARGET as named).
    #[arg(required = true)]
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The package's manifest (text or JSON) or Sage installation record.
    #[arg(long, value_name = "FILE")]
    pub(crate) manifest: PathBuf,

    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,

    /// Verify inside the Wasmtime sandbox, read-only, which can reach only
    /// TARGET and the record's directory.
    #[arg(long)]
    pub(crate) sandbox: bool,

    /// The prefix the package was merged into.
    pub(crate) target: PathBuf,
}
