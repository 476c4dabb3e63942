//! Many merges of overlapping stages into one TARGET at once.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use super::{Fixture, Prim, Run, Snapshot, assert_nothing_lost, command};

/// How many merges run at once, as with `make -j16`.
pub const MERGES: usize = 16;

pub const SITE: &str = "lib/python3.12/site-packages";

/// Stage `i`: a namespace package sharing `backports/` and `share/pari/`
/// with every other stage, the shared files identical, plus its own files.
pub fn namespace_stage(root: &Path, i: usize) -> PathBuf {
    let s = root.join(format!("stage{i}"));
    let site = s.join(SITE);
    fs::create_dir_all(site.join(format!("backports/pkg{i}"))).unwrap();
    fs::write(
        site.join("backports/__init__.py"),
        "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n",
    )
    .unwrap();
    fs::write(
        site.join(format!("backports/pkg{i}/__init__.py")),
        format!("# {i}\n"),
    )
    .unwrap();
    fs::create_dir_all(site.join(format!("pkg{i}-1.0.dist-info"))).unwrap();
    fs::write(
        site.join(format!("pkg{i}-1.0.dist-info/RECORD")),
        format!("record {i}\n"),
    )
    .unwrap();
    fs::create_dir_all(s.join("share/pari/doc")).unwrap();
    fs::write(s.join("share/pari/doc/common.tex"), "shared\n").unwrap();
    fs::write(
        s.join(format!("share/pari/doc/pkg{i}.tex")),
        format!("{i}\n"),
    )
    .unwrap();
    s
}

fn spawn(prim: Prim, stage: &Path, target: &Path) -> Child {
    let mut c = command(prim);
    c.arg("merge")
        .arg(stage)
        .arg(target)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c.spawn().unwrap()
}

pub fn run_parallel(prim: Prim, stages: &[PathBuf], target: &Path) -> Vec<Run> {
    let children: Vec<Child> = stages.iter().map(|s| spawn(prim, s, target)).collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::from_output(c.wait_with_output().unwrap()))
        .collect();
    runs.into_iter()
        .zip(stages)
        .map(|(r, s)| rerun_if_wine_never_started(prim, r, s, target))
        .collect()
}

/// Wine's loader now and then cannot map the fixed region it needs
/// ("wine: failed to map the shared user data", STATUS_CONFLICTING_ADDRESSES,
/// an address-space layout clash; once in a CI run of 16 at a time): the
/// process ends before one instruction of stagemerge runs, so nothing was
/// tried. Such a run, and only such a run, is started again (at most
/// twice), and said so on stderr.
fn rerun_if_wine_never_started(prim: Prim, mut r: Run, stage: &Path, target: &Path) -> Run {
    const NEVER_STARTED: &str = "wine: failed to map the shared user data";
    for _ in 0..2 {
        if prim != Prim::Wine || !r.stderr.contains(NEVER_STARTED) || !r.stdout.is_empty() {
            break;
        }
        eprintln!(
            "Wine's loader did not start the merge of {}; started again",
            stage.display()
        );
        r = Run::from_output(spawn(prim, stage, target).wait_with_output().unwrap());
    }
    r
}

/// One round: 16 stages sharing `backports/` and `share/pari/` (shared files
/// identical) merged at once into the fixture's TARGET. Odd rounds start
/// with site-packages already there. Every merge must succeed without a
/// warning, empty its stage and lose nothing; TARGET must hold every file.
pub fn shared_namespace_round(f: &Fixture, round: usize) {
    let prim = f.prim;
    if round % 2 == 1 {
        f.dir(format!("target/{SITE}"));
    }
    let stages: Vec<PathBuf> = (0..MERGES).map(|i| namespace_stage(f.root(), i)).collect();
    let before: Vec<Snapshot> = stages.iter().map(|s| Snapshot::of(s)).collect();
    let runs = run_parallel(prim, &stages, &f.target);
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r.code, 0, "{prim:?} round {round} merge {i}:\n{}", r.stderr);
        r.assert_stderr_lacks("warning");
        assert!(
            Snapshot::of(&stages[i]).is_empty(),
            "round {round}: stage {i} not emptied"
        );
        assert_nothing_lost(&before[i], &stages[i], &f.target);
    }
    let t = Snapshot::of(&f.target);
    assert!(
        t.nodes
            .contains_key(format!("{SITE}/backports/__init__.py").as_bytes())
    );
    for i in 0..MERGES {
        assert!(
            t.nodes
                .contains_key(format!("{SITE}/backports/pkg{i}/__init__.py").as_bytes())
        );
        assert!(
            t.nodes
                .contains_key(format!("share/pari/doc/pkg{i}.tex").as_bytes())
        );
    }
}
