//! The reliability suite on real package trees (tests/corpus/build.sh):
//! parallel merges against the legacy `cp -Rp`, and a usr-merged root.
//! `STAGEMERGE_ROUNDS` lengthens the race runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::corpus::{corpus, farm, run_jobs, sh, stages, usrmerged_root, versions};
use std::os::unix::ffi::OsStrExt;

use crate::util::{Node, Prim, Snapshot, command, fast_tmp};

const JOBS: usize = 16;
/// Left out of the many race rounds for time (they share no directory with
/// the rest beyond site-packages); merged in the full round.
const BIG: &[&str] = &["numpy", "scipy", "sympy"];

fn rounds(default: usize) -> usize {
    std::env::var("STAGEMERGE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn merge_cmd(stage: &Path, target: &Path) -> Command {
    let mut c = command(Prim::Rename);
    c.arg("merge").arg(stage).arg(target);
    c
}

/// SPEC: every staged entry is in TARGET or still in STAGE. With several
/// merges shipping different versions of one path, a version may also have
/// left TARGET through a later merge's replacement, which that merge
/// announced ("warning: replaced TARGET/p").
#[track_caller]
fn assert_nothing_lost_unannounced(before: &Snapshot, stage: &Path, target: &Path, warnings: &str) {
    for (rel, node) in &before.nodes {
        if matches!(node, Node::Dir { .. }) {
            continue;
        }
        let here = |root: &Path| crate::util::node_at(root, rel).as_ref() == Some(node);
        if here(stage) || here(target) {
            continue;
        }
        let shown = target.join(std::ffi::OsStr::from_bytes(rel));
        let announced = format!("warning: replaced {}", shown.display());
        assert!(
            warnings.contains(&announced),
            "lost unannounced: {}",
            shown.display()
        );
    }
}

/// The TARGET a sequential merge of `stages` (in order) gives.
fn sequential(stages: &[PathBuf], work: &Path) -> Snapshot {
    let round = work.join("sequential");
    let farmed = farm(stages, &round.join("stages"));
    let target = round.join("target");
    std::fs::create_dir_all(&target).unwrap();
    for s in &farmed {
        let r = crate::util::Run::of(merge_cmd(s, &target));
        assert_eq!(
            r.code,
            0,
            "sequential merge of {}: {}",
            s.display(),
            r.stderr
        );
    }
    let snap = Snapshot::of(&target);
    std::fs::remove_dir_all(&round).unwrap();
    snap
}

/// A parallel result equals the sequential one: the same paths, the same
/// entries, except where stages ship different versions of one path, where
/// it holds one of those versions, whole.
#[track_caller]
fn assert_equivalent(
    got: &Snapshot,
    want: &Snapshot,
    versions: &HashMap<Vec<u8>, Vec<Node>>,
    what: &str,
) {
    let (g, w): (Vec<_>, Vec<_>) = (got.nodes.keys().collect(), want.nodes.keys().collect());
    assert_eq!(g.len(), w.len(), "{what}: number of paths");
    assert!(g == w, "{what}: the same paths");
    for (p, n) in &got.nodes {
        if n != &want.nodes[p] {
            let ok = versions
                .get(p)
                .is_some_and(|v| v.len() > 1 && v.contains(n));
            assert!(
                ok,
                "{what}: {} differs and is no staged version",
                String::from_utf8_lossy(p)
            );
        }
    }
}

/// The legacy way, `cp -Rp STAGE/. PREFIX` for every stage, 16 at once,
/// fails at random on shared directories; stagemerge on the same workload
/// never does, and gives what a sequential merge gives.
#[test]
fn parallel_merges_of_real_stages_never_fail_where_cp_does() {
    let Some(corpus) = corpus() else { return };
    let work = tempfile::tempdir_in(fast_tmp()).unwrap();
    // A private copy on tmpfs, so that rounds can hard-link from it.
    let pristine = work.path().join("corpus");
    sh(Command::new("cp").arg("-a").arg(&corpus).arg(&pristine));
    let mut set = stages(&pristine, "wheels", BIG);
    set.extend(stages(&pristine, "debs", &[]));
    let staged_versions = versions(&set);

    // Legacy: count the rounds in which some cp failed.
    let (mut cp_rounds, mut cp_failed, mut example) = (0, 0, String::new());
    while cp_rounds < 100 && (cp_failed < 3 || cp_rounds < 20) {
        let target = work.path().join("cp-target");
        std::fs::create_dir(&target).unwrap();
        let cmds = set
            .iter()
            .map(|s| {
                let mut c = Command::new("cp");
                c.arg("-Rp").arg(s.join(".")).arg(&target);
                c
            })
            .collect();
        let runs = run_jobs(cmds, JOBS);
        if let Some(r) = runs.iter().find(|r| r.code != 0) {
            cp_failed += 1;
            example = r.stderr.lines().next().unwrap_or_default().to_owned();
        }
        cp_rounds += 1;
        std::fs::remove_dir_all(&target).unwrap();
    }
    eprintln!(
        "cp -Rp, {JOBS} at once, {} stages: {cp_failed} of {cp_rounds} rounds failed, e.g. {example}",
        set.len()
    );
    assert!(
        cp_failed > 0,
        "the legacy method is expected to fail in some round"
    );

    let want = sequential(&set, work.path());
    let n = rounds(50);
    for round in 0..n {
        let dir = work.path().join(format!("round{round}"));
        let farmed = farm(&set, &dir.join("stages"));
        let before: Vec<Snapshot> = farmed.iter().map(|s| Snapshot::of(s)).collect();
        let target = dir.join("target");
        std::fs::create_dir(&target).unwrap();
        let runs = run_jobs(farmed.iter().map(|s| merge_cmd(s, &target)).collect(), JOBS);
        let warnings: String = runs.iter().map(|r| r.stderr.as_str()).collect();
        for (i, r) in runs.iter().enumerate() {
            assert_eq!(
                r.code,
                0,
                "round {round}, {}: {}",
                farmed[i].display(),
                r.stderr
            );
            assert_nothing_lost_unannounced(&before[i], &farmed[i], &target, &warnings);
        }
        assert_equivalent(
            &Snapshot::of(&target),
            &want,
            &staged_versions,
            &format!("round {round}"),
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!(
        "stagemerge, {JOBS} at once, {} stages: 0 of {n} rounds failed",
        set.len()
    );

    // One round with everything, the big trees included.
    let mut all = stages(&pristine, "wheels", &[]);
    all.extend(stages(&pristine, "debs", &[]));
    let want = sequential(&all, work.path());
    let dir = work.path().join("full");
    let farmed = farm(&all, &dir.join("stages"));
    let target = dir.join("target");
    std::fs::create_dir(&target).unwrap();
    for (i, r) in run_jobs(farmed.iter().map(|s| merge_cmd(s, &target)).collect(), JOBS)
        .iter()
        .enumerate()
    {
        assert_eq!(r.code, 0, "{}: {}", farmed[i].display(), r.stderr);
    }
    assert_equivalent(
        &Snapshot::of(&target),
        &want,
        &versions(&all),
        "full corpus",
    );
}

fn is_symlink(p: &Path) -> bool {
    p.symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
}

/// Every Debian stage merged into a usr-merged root keeps its symlinks and
/// lands under usr/, exactly as dpkg unpacks into such a root (tar with
/// --keep-directory-symlink). Plain `dpkg-deb -x` (and tar, rsync) replaces
/// the symlinks with directories.
#[test]
fn debian_stages_into_a_usrmerged_root() {
    let Some(corpus) = corpus() else { return };
    let debs_dir = corpus.join("../corpus-cache/debs");
    let work = tempfile::tempdir_in(fast_tmp()).unwrap();
    let pristine = work.path().join("debs");
    sh(Command::new("cp")
        .arg("-a")
        .arg(corpus.join("debs"))
        .arg(&pristine));
    let set = stages(work.path(), "debs", &[]);
    let farmed = farm(&set, &work.path().join("stages"));
    let root = work.path().join("root");
    usrmerged_root(&root);
    let runs = run_jobs(farmed.iter().map(|s| merge_cmd(s, &root)).collect(), JOBS);
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r.code, 0, "{}: {}", farmed[i].display(), r.stderr);
    }
    for d in ["bin", "lib", "lib64", "sbin"] {
        assert!(is_symlink(&root.join(d)), "{d} is still a symlink");
    }
    let got = Snapshot::of(&root);
    let top: Vec<String> = got
        .paths()
        .into_iter()
        .filter(|p| !p.contains('/'))
        .collect();
    assert!(
        top.iter()
            .all(|p| ["bin", "lib", "lib64", "sbin", "usr", "etc", "var"].contains(&p.as_str())),
        "{top:?}"
    );
    assert!(got.nodes.contains_key(&b"usr/bin/bash"[..]));
    assert!(
        got.nodes
            .contains_key(&b"usr/lib64/ld-linux-x86-64.so.2"[..])
    );

    let reference = work.path().join("reference");
    usrmerged_root(&reference);
    // The cache also holds debs-conflicting's packages: only this set's.
    let names: Vec<String> = set
        .iter()
        .map(|s| s.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut debs: Vec<PathBuf> = std::fs::read_dir(&debs_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let file = p.file_name().unwrap().to_string_lossy();
            names.iter().any(|n| file.starts_with(&format!("{n}_")))
        })
        .collect();
    debs.sort();
    assert_eq!(debs.len(), set.len(), "one .deb per stage");
    for deb in &debs {
        let cmd = format!(
            "dpkg-deb --fsys-tarfile '{}' | tar -x --keep-directory-symlink -C '{}'",
            deb.display(),
            reference.display()
        );
        sh(Command::new("sh").arg("-c").arg(cmd));
    }
    assert_eq!(
        got,
        Snapshot::of(&reference),
        "the same tree as dpkg's unpacking"
    );

    // The legacy contrast: dpkg-deb -x turns the symlinks into directories.
    let plain = work.path().join("plain");
    usrmerged_root(&plain);
    sh(Command::new("dpkg-deb").arg("-x").arg(&debs[0]).arg(&plain));
    let broken: Vec<&str> = ["bin", "lib", "lib64", "sbin"]
        .into_iter()
        .filter(|d| !is_symlink(&plain.join(d)))
        .collect();
    eprintln!(
        "dpkg-deb -x of {} replaced {broken:?} with directories",
        debs[0].display()
    );
}
