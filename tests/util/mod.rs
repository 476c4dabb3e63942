//! Shared test helpers: a fixture of STAGE/TARGET directories on disk, a
//! runner for the real `stagemerge` binary, tree snapshots, and the "nothing
//! is lost" check every scenario ends with.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Which placement primitive the binary is made to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prim {
    /// `renameat2(RENAME_NOREPLACE)` where the filesystem has it.
    Rename,
    /// The portable fallback (link + unlink, mkdir + children), forced.
    Fallback,
    /// Not forced, on a filesystem that refuses the no-replace flag: the
    /// binary must switch to the fallback by itself.
    Refused,
    /// `merge --sandbox`: the core in Wasmtime with the portable
    /// primitives. Each merge is preceded by `plan` and `plan --sandbox`
    /// (text and JSON), which must print the same bytes and change nothing.
    Sandbox,
    /// `stagemerge.exe` (x86_64-pc-windows-gnu) run by Wine: the Windows
    /// shim on the same host directories (`windows.rs`, [`wine`]). Each
    /// merge is preceded by the Windows binary's own `plan` and `plan
    /// --sandbox`, which must agree as the native ones do.
    Wine,
}

impl Prim {
    /// Whether whole directories move by one rename (else: mkdir + children).
    pub fn renames_dirs(self) -> bool {
        matches!(self, Prim::Rename | Prim::Wine)
    }

    /// The binary that checks the plans before a merge: the Windows one for
    /// [`Prim::Wine`], else the native one.
    fn planner(self) -> Prim {
        match self {
            Prim::Wine => Prim::Wine,
            _ => Prim::Rename,
        }
    }
}

pub const BOTH: [Prim; 2] = [Prim::Rename, Prim::Fallback];

/// A temporary directory holding `stage/` and `target/` (and whatever else a
/// test puts next to them, such as a canary directory).
pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub stage: PathBuf,
    pub target: PathBuf,
    pub prim: Prim,
}

impl Fixture {
    pub fn new(prim: Prim) -> Self {
        Self::new_in(&std::env::temp_dir(), prim)
    }

    /// A fixture on tmpfs (`/dev/shm`) where there is one, else in the temp
    /// dir: for tests that create many thousands of files, which costs about
    /// 0.7 ms per file on this machine's disk and 10 µs on tmpfs.
    pub fn new_fast(prim: Prim) -> Self {
        Self::new_in(&fast_tmp(), prim)
    }

    /// A fixture below `parent` (a tmpfs or loop mount in filesystem tests).
    pub fn new_in(parent: &Path, prim: Prim) -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("stagemerge-test-")
            .tempdir_in(parent)
            .expect("create fixture dir");
        let stage = tmp.path().join("stage");
        let target = tmp.path().join("target");
        fs::create_dir(&stage).unwrap();
        fs::create_dir(&target).unwrap();
        Fixture {
            tmp,
            stage,
            target,
            prim,
        }
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes a file (creating parents) below the fixture root.
    pub fn file(&self, rel: impl AsRef<Path>, content: &[u8]) -> PathBuf {
        let p = self.root().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
        p
    }

    pub fn dir(&self, rel: impl AsRef<Path>) -> PathBuf {
        let p = self.root().join(rel);
        fs::create_dir_all(&p).unwrap();
        p
    }

    pub fn symlink(&self, text: impl AsRef<Path>, rel: impl AsRef<Path>) -> PathBuf {
        let p = self.root().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(text, &p).unwrap();
        p
    }

    /// Runs `stagemerge merge [args] STAGE TARGET` (in the sandbox, after
    /// checking the plans, for [`Prim::Sandbox`]).
    pub fn merge(&self, args: &[&str]) -> Run {
        let mut c = self.command();
        c.arg("merge");
        if matches!(self.prim, Prim::Sandbox | Prim::Wine) {
            let policy = args
                .windows(2)
                .find(|w| w[0] == "--on-conflict")
                .map(|w| w[1]);
            let policy: &[&str] = match policy {
                Some(p) => &["--on-conflict", p],
                None => &[],
            };
            plans_agree(self.prim.planner(), &self.stage, &self.target, policy);
        }
        if self.prim == Prim::Sandbox {
            c.arg("--sandbox");
        }
        c.args(args).arg(&self.stage).arg(&self.target);
        Run::of(c)
    }

    /// Runs `stagemerge plan [args] STAGE TARGET` natively.
    pub fn plan(&self, args: &[&str]) -> Run {
        let mut c = command(self.prim.planner());
        c.arg("plan").args(args).arg(&self.stage).arg(&self.target);
        Run::of(c)
    }

    /// The binary, with the fixture's primitive selected.
    pub fn command(&self) -> Command {
        command(self.prim)
    }
}

/// `/dev/shm` when it is a writable directory, else the temp dir.
pub fn fast_tmp() -> PathBuf {
    let shm = Path::new("/dev/shm");
    let writable = tempfile::Builder::new().tempdir_in(shm).is_ok();
    if writable {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// The binary under test: this build's, or `STAGEMERGE_TEST_BIN` (to show
/// that a test catches what an older build got wrong).
pub fn bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("STAGEMERGE_TEST_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_stagemerge").to_owned())
    })
}

pub fn command(prim: Prim) -> Command {
    if prim == Prim::Wine {
        return wine::command();
    }
    let mut c = Command::new(bin());
    c.env_remove("STAGEMERGE_FORCE_FALLBACK");
    if prim == Prim::Fallback {
        c.env("STAGEMERGE_FORCE_FALLBACK", "1");
    }
    c
}

/// Every path below `root` (and `root` itself, as "") with its
/// modification time: what a run that changes nothing must leave as it was.
pub fn mtimes(root: &Path) -> BTreeMap<Vec<u8>, (i64, i64)> {
    let mut out = BTreeMap::new();
    let m = fs::symlink_metadata(root).unwrap();
    out.insert(Vec::new(), (m.mtime(), m.mtime_nsec()));
    for rel in Snapshot::of(root).nodes.keys() {
        let m = fs::symlink_metadata(root.join(OsStr::from_bytes(rel))).unwrap();
        out.insert(rel.clone(), (m.mtime(), m.mtime_nsec()));
    }
    out
}

/// `plan` and `plan --sandbox`, in text and in JSON, print the same bytes
/// and exit alike, and none of the four changes either tree (paths,
/// contents, modes, modification times). Returns the native text plan.
#[track_caller]
pub fn assert_plans_agree(stage: &Path, target: &Path, policy: Option<&str>) -> Run {
    match policy {
        Some(p) => assert_plans_agree_with(stage, target, &["--on-conflict", p]),
        None => assert_plans_agree_with(stage, target, &[]),
    }
}

/// [`assert_plans_agree`] for plans with the options `args`.
#[track_caller]
pub fn assert_plans_agree_with(stage: &Path, target: &Path, args: &[&str]) -> Run {
    plans_agree(Prim::Rename, stage, target, args)
}

/// [`assert_plans_agree_with`] for the binary `prim` selects (the native
/// one, or the Windows one under Wine).
#[track_caller]
fn plans_agree(prim: Prim, stage: &Path, target: &Path, args: &[&str]) -> Run {
    let trees = || {
        (
            Snapshot::of(stage),
            Snapshot::of(target),
            mtimes(stage),
            mtimes(target),
        )
    };
    let before = trees();
    let plan = |extra: &[&str]| {
        let mut c = command(prim);
        c.arg("plan").args(extra).args(args);
        c.arg(stage).arg(target);
        Run::of(c)
    };
    let native = plan(&[]);
    let native_json = plan(&["--json"]);
    assert_eq!(
        native_json.code, native.code,
        "text and JSON plans exit alike"
    );
    for extra in [&["--sandbox"][..], &["--json", "--sandbox"]] {
        let other = plan(extra);
        let reference = if extra.contains(&"--json") {
            &native_json
        } else {
            &native
        };
        assert_eq!(other.stderr, reference.stderr, "stderr of plan {extra:?}");
        assert_eq!(
            other.stdout, reference.stdout,
            "plan {extra:?} differs from the native plan"
        );
        assert_eq!(other.code, reference.code, "exit status of plan {extra:?}");
    }
    assert!(
        native.stdout.contains("plan: "),
        "a plan ends with its summary: {native:?}"
    );
    assert!(trees() == before, "a plan changed STAGE or TARGET");
    native
}

/// What a finished run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(mut c: Command) -> Run {
        Run::from_output(c.output().expect("run stagemerge"))
    }

    pub fn from_output(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit status\n--- stderr:\n{}\n--- stdout:\n{}",
            self.stderr, self.stdout
        );
        self
    }

    #[track_caller]
    pub fn assert_stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn assert_stderr_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stderr.contains(needle),
            "stderr has {needle:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// One entry of a tree, as far as a merge must preserve it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Dir { mode: u32 },
    File { mode: u32, data: Vec<u8> },
    Link { text: Vec<u8> },
    Other { kind: u32, mode: u32 },
}

/// Every entry below a root, by path bytes relative to it (symlinks not
/// followed), with inode numbers kept aside for hard-link checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub nodes: BTreeMap<Vec<u8>, Node>,
}

impl Snapshot {
    pub fn of(root: &Path) -> Snapshot {
        let mut s = Snapshot::default();
        walk(root, root, &mut s.nodes);
        s
    }

    pub fn paths(&self) -> Vec<String> {
        self.nodes
            .keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<Vec<u8>, Node>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let rel = p
            .strip_prefix(root)
            .unwrap()
            .as_os_str()
            .as_bytes()
            .to_vec();
        let m = fs::symlink_metadata(&p).unwrap();
        let mode = m.permissions().mode() & 0o7777;
        let ft = m.file_type();
        let node = if ft.is_dir() {
            walk(root, &p, out);
            Node::Dir { mode }
        } else if ft.is_file() {
            Node::File {
                mode,
                data: fs::read(&p).unwrap(),
            }
        } else if ft.is_symlink() {
            Node::Link {
                text: fs::read_link(&p).unwrap().as_os_str().as_bytes().to_vec(),
            }
        } else {
            Node::Other {
                kind: m.mode() & 0o170000,
                mode,
            }
        };
        out.insert(rel, node);
    }
}

/// What `root/rel` is now, following symlinks in the middle of `rel` (as a
/// merge through `lib -> usr/lib` places files) but not at its end.
pub fn node_at(root: &Path, rel: &[u8]) -> Option<Node> {
    let p = root.join(OsStr::from_bytes(rel));
    let m = fs::symlink_metadata(&p).ok()?;
    let mode = m.permissions().mode() & 0o7777;
    let ft = m.file_type();
    Some(if ft.is_dir() {
        Node::Dir { mode }
    } else if ft.is_file() {
        Node::File {
            mode,
            data: fs::read(&p).ok()?,
        }
    } else if ft.is_symlink() {
        Node::Link {
            text: fs::read_link(&p).ok()?.as_os_str().as_bytes().to_vec(),
        }
    } else {
        Node::Other {
            kind: m.mode() & 0o170000,
            mode,
        }
    })
}

/// SPEC: every staged entry is either in TARGET or still in STAGE. Checks
/// each non-directory of the stage as it was before the merge.
#[track_caller]
pub fn assert_nothing_lost(stage_before: &Snapshot, stage: &Path, target: &Path) {
    for (rel, node) in &stage_before.nodes {
        if matches!(node, Node::Dir { .. }) {
            continue;
        }
        let in_stage = node_at(stage, rel).as_ref() == Some(node);
        let in_target = node_at(target, rel).as_ref() == Some(node);
        assert!(
            in_stage || in_target,
            "lost {:?}: in neither STAGE nor TARGET",
            String::from_utf8_lossy(rel)
        );
    }
}

/// Runs a merge of the fixture and checks that nothing staged was lost.
pub fn merge_checked(f: &Fixture, args: &[&str]) -> Run {
    let before = Snapshot::of(&f.stage);
    let run = f.merge(args);
    assert_nothing_lost(&before, &f.stage, &f.target);
    run
}

/// Names anywhere below `root` that look like stagemerge's temporaries
/// (`.stagemerge-<pid>-<n>.tmp`): none may be left after a merge.
pub fn temporaries(root: &Path) -> Vec<String> {
    Snapshot::of(root)
        .paths()
        .into_iter()
        .filter(|p| p.contains(".stagemerge-"))
        .collect()
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Skips a test that needs root, saying why.
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::util::is_root() {
            eprintln!("skipped: this test needs root (mounts, other users)");
            return;
        }
    };
}

pub fn ino(p: &Path) -> u64 {
    fs::symlink_metadata(p).unwrap().ino()
}

pub fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

pub fn set_mode(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// Held by the tests that load the machine (16 commands at a time) and by
/// those whose kills are spread by a timed run: the two kinds never run at
/// once, so a kill test's timing is not taken under another's load.
pub fn heavy() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether the soak mode is on (`STAGEMERGE_SOAK=1`): the randomized and
/// repeated tests run many more rounds.
pub fn soak() -> bool {
    std::env::var_os("STAGEMERGE_SOAK").is_some_and(|v| v != "0")
}

/// How many kills a crash test makes: `STAGEMERGE_KILL_TRIALS`, else
/// `default`.
pub fn kill_trials(default: usize) -> usize {
    std::env::var("STAGEMERGE_KILL_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Kill instants spread over a run (start-up included, and a little past
/// its end), with the run's length learnt as the trials go: a trial that
/// ends before its kill lowers the estimate. A first measurement slowed by
/// a moment's load (other tests run beside the crash tests) would otherwise
/// push every later kill past the end of its run, and the test would prove
/// nothing (the flake of CI run 31: `copy::killed_copy_rerun_...`).
pub struct KillSpread {
    full: std::time::Duration,
    trials: usize,
    /// How many trials were killed before they finished.
    pub mid_way: usize,
}

impl KillSpread {
    /// Spreads `trials` kills over 1.2 times `full`, an uninterrupted run.
    pub fn new(full: std::time::Duration, trials: usize) -> KillSpread {
        KillSpread {
            full,
            trials,
            mid_way: 0,
        }
    }

    /// The current estimate of an uninterrupted run.
    pub fn full(&self) -> std::time::Duration {
        self.full
    }

    /// Waits while `child` (just spawned) runs until trial `trial`'s
    /// instant, then kills it and reaps it. Returns the instant aimed at and
    /// whether the kill landed before the child finished.
    pub fn strike(
        &mut self,
        trial: usize,
        child: &mut std::process::Child,
    ) -> (std::time::Duration, bool) {
        let start = std::time::Instant::now();
        let at = self
            .full
            .mul_f64((trial as f64 + 0.5) / self.trials as f64 * 1.2);
        loop {
            if child.try_wait().unwrap().is_some() {
                // Ended on its own before `at`: runs are this short now.
                self.full = self.full.min(start.elapsed());
                return (at, false);
            }
            let elapsed = start.elapsed();
            if elapsed >= at {
                break;
            }
            std::thread::sleep((at - elapsed).min(std::time::Duration::from_micros(500)));
        }
        let _ = child.kill();
        let killed = child.wait().unwrap().code().is_none();
        if killed {
            self.mid_way += 1;
        }
        (at, killed)
    }

    /// Fails unless more than a third of the kills landed inside runs.
    #[track_caller]
    pub fn assert_inside_runs(&self, what: &str) {
        assert!(
            self.mid_way > self.trials / 3,
            "{what}: the kills must land inside runs ({} of {} did; run estimated at {:?})",
            self.mid_way,
            self.trials,
            self.full
        );
    }
}

/// Waits until `path` exists while `child` runs; returns how long that took,
/// or None when the child ended first (or after a minute). Crash tests use
/// it to strike after a merge has written its journal.
pub fn wait_for_file(path: &Path, child: &mut std::process::Child) -> Option<std::time::Duration> {
    let start = std::time::Instant::now();
    while !path.exists() {
        if child.try_wait().unwrap().is_some() || start.elapsed().as_secs() > 60 {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_micros(100));
    }
    Some(start.elapsed())
}

pub mod corpus;
pub mod netfs;
pub mod packages;
pub mod parallel;
pub mod scenarios;
pub mod wine;

/// Generates one `#[test]` per placement primitive (and one in the sandbox,
/// with the plans checked first) for each named scenario
/// of [`scenarios`], each on a fresh fixture in the default temp dir.
#[macro_export]
macro_rules! both_primitives {
    ($($name:ident),* $(,)?) => {
        mod with_rename {
            $( #[test] fn $name() {
                let f = $crate::util::Fixture::new($crate::util::Prim::Rename);
                $crate::util::scenarios::$name(&f)
            } )*
        }
        mod with_fallback {
            $( #[test] fn $name() {
                let f = $crate::util::Fixture::new($crate::util::Prim::Fallback);
                $crate::util::scenarios::$name(&f)
            } )*
        }
        mod in_sandbox {
            $( #[test] fn $name() {
                let f = $crate::util::Fixture::new($crate::util::Prim::Sandbox);
                $crate::util::scenarios::$name(&f)
            } )*
        }
    };
}

/// Maps a plan's word to the word `merge --verbose` prints for it (the
/// core's `Step::action`, seen from outside).
pub fn merge_word(plan_word: &str) -> &str {
    match plan_word {
        "place-dir" => "moved-dir",
        "place" => "moved",
        "copy" => "copied",
        "follow" | "merge-dir" => "merge-dir",
        "replace" => "replaced",
        "keep" => "kept",
        "keep-concurrent" => "concurrent",
        w => w,
    }
}

/// `(word, path)` of each step line of a text plan, mapped to merge's words.
pub fn predicted(plan: &str) -> Vec<(String, String)> {
    plan.lines()
        .filter(|l| !l.starts_with("plan: "))
        .map(|l| {
            let (word, rest) = l.split_once(' ').unwrap();
            let path = rest.trim_start();
            let path = path.split_once("  (").map_or(path, |(p, _)| p);
            (merge_word(word).to_owned(), path.to_owned())
        })
        .collect()
}

/// `(word, path)` of each line `merge --verbose` printed.
pub fn merged(verbose: &str) -> Vec<(String, String)> {
    verbose
        .lines()
        .map(|l| {
            let (word, path) = l.split_once(' ').unwrap();
            (word.to_owned(), path.trim_start().to_owned())
        })
        .collect()
}

/// A small deterministic generator (xorshift64*), so a round replays from
/// its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}
