//! The corpus of real staged installs (tests/corpus/build.sh): where it is,
//! a private copy on fast storage, and cheap per-round copies of it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{Run, Snapshot};

/// The corpus built by tests/corpus/build.sh, or None (with the reason
/// printed) when it is absent. With `STAGEMERGE_CORPUS_REQUIRED` set (the
/// README's test command sets it), an absent corpus is a failure instead.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("STAGEMERGE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/corpus"));
    if dir.join("wheels").is_dir() && dir.join("debs").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("STAGEMERGE_CORPUS_REQUIRED").is_none(),
        "no corpus at {}: run tests/corpus/build.sh",
        dir.display()
    );
    eprintln!(
        "skipped: no corpus at {} (run tests/corpus/build.sh)",
        dir.display()
    );
    None
}

/// The stage directories of one kind ("wheels" or "debs"), sorted by name,
/// without those named in `except`.
pub fn stages(corpus: &Path, kind: &str, except: &[&str]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus.join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !except.iter().any(|x| p.file_name().unwrap() == *x))
        .collect();
    v.sort();
    v
}

#[track_caller]
pub fn sh(c: &mut Command) {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies each stage into `into/<name>` as a farm of hard links: instant,
/// and a merge that moves the links leaves the originals in place.
pub fn farm(stages: &[PathBuf], into: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(into).unwrap();
    stages
        .iter()
        .map(|s| {
            let to = into.join(s.file_name().unwrap());
            sh(Command::new("cp").arg("-al").arg(s).arg(&to));
            to
        })
        .collect()
}

/// Runs the commands with at most `jobs` at once (as `make -j`), and
/// returns their outcomes in order.
pub fn run_jobs(mut cmds: Vec<Command>, jobs: usize) -> Vec<Run> {
    let mut out: Vec<Option<Run>> = (0..cmds.len()).map(|_| None).collect();
    let mut running: Vec<(usize, Child)> = Vec::new();
    let mut next = 0;
    while next < cmds.len() || !running.is_empty() {
        while running.len() < jobs && next < cmds.len() {
            let c = cmds[next].stdout(Stdio::null()).stderr(Stdio::piped());
            running.push((next, c.spawn().unwrap()));
            next += 1;
        }
        let (i, child) = running.remove(0);
        out[i] = Some(Run::from_output(child.wait_with_output().unwrap()));
    }
    out.into_iter().map(Option::unwrap).collect()
}

/// Every version of every path across `stages` (non-directories).
pub fn versions(stages: &[PathBuf]) -> std::collections::HashMap<Vec<u8>, Vec<super::Node>> {
    let mut map: std::collections::HashMap<Vec<u8>, Vec<super::Node>> = Default::default();
    for s in stages {
        for (p, n) in Snapshot::of(s).nodes {
            if !matches!(n, super::Node::Dir { .. }) {
                let v = map.entry(p).or_default();
                if !v.contains(&n) {
                    v.push(n);
                }
            }
        }
    }
    map
}

/// A usr-merged root (`bin -> usr/bin`, `lib -> usr/lib`, ...).
pub fn usrmerged_root(root: &Path) {
    for d in ["bin", "lib", "lib64", "sbin"] {
        std::fs::create_dir_all(root.join("usr").join(d)).unwrap();
        std::os::unix::fs::symlink(format!("usr/{d}"), root.join(d)).unwrap();
    }
}

/// A reinstall over an older install of the same packages: of each file
/// the old install has a third missing, a third changed, a third the same;
/// so the merge moves, replaces and discards files one by one.
pub fn older_install(stage: &Path, base: &Path) {
    sh(Command::new("cp").arg("-a").arg(stage.join(".")).arg(base));
    let mut files: Vec<String> = Snapshot::of(base)
        .nodes
        .iter()
        .filter(|(_, n)| matches!(n, super::Node::File { .. }))
        .map(|(p, _)| String::from_utf8(p.clone()).unwrap())
        .collect();
    files.sort();
    for (i, f) in files.iter().enumerate() {
        let p = base.join(f);
        match i % 3 {
            0 => std::fs::remove_file(&p).unwrap(),
            1 => {
                let mut data = std::fs::read(&p).unwrap();
                data.extend_from_slice(b"# older version\n");
                super::set_mode(&p, 0o644);
                std::fs::write(&p, data).unwrap();
            }
            _ => {}
        }
    }
}

/// The packages of [`mixed_stage`]: docutils and pygments with many files
/// each, and namespace packages sharing jaraco/.
pub const MIXED: [&str; 5] = [
    "docutils",
    "pygments",
    "jaraco.functools",
    "jaraco.text",
    "jaraco.context",
];

/// The three namespace packages of [`MIXED`] alone (79 entries): a real
/// reinstall small enough for Wine, where a merge costs about 6 ms a file.
pub const JARACO: [&str; 3] = ["jaraco.functools", "jaraco.text", "jaraco.context"];

/// One staged tree of several real packages at `into` ([`MIXED`]).
pub fn mixed_stage(corpus: &Path, into: &Path) {
    stage_of(corpus, into, &MIXED);
}

/// The corpus's wheel stages `names` staged together at `into`.
pub fn stage_of(corpus: &Path, into: &Path, names: &[&str]) {
    std::fs::create_dir(into).unwrap();
    for name in names {
        sh(Command::new("cp")
            .arg("-a")
            .arg(corpus.join("wheels").join(name).join("."))
            .arg(into));
    }
}

/// The mixed stage at `w/pristine` and an older install of it at `w/base`
/// (see [`older_install`]): a reinstall of real packages.
pub fn mixed_reinstall(corpus: &Path, w: &Path) -> (PathBuf, PathBuf) {
    reinstall_of(corpus, w, &MIXED)
}

/// [`mixed_reinstall`] of the wheel stages `names`.
pub fn reinstall_of(corpus: &Path, w: &Path, names: &[&str]) -> (PathBuf, PathBuf) {
    let pristine = w.join("pristine");
    stage_of(corpus, &pristine, names);
    let base = w.join("base");
    std::fs::create_dir(&base).unwrap();
    older_install(&pristine, &base);
    (pristine, base)
}
