//! Copy mode: STAGE left intact, every entry written to a temporary in its
//! final directory and placed by the same rules; crash-safe.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{
    Fixture, KillSpread, Node, Prim, Run, Snapshot, ino, mode, node_at, set_mode, temporaries,
};

/// The two ways a copy makes its temporary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Temps {
    Anonymous,
    Named,
}

fn copy(f: &Fixture, temps: Temps, args: &[&str]) -> Run {
    let mut c = f.command();
    if temps == Temps::Named {
        c.env("STAGEMERGE_NO_TMPFILE", "1");
    }
    c.arg("merge")
        .arg("--copy")
        .args(args)
        .arg(&f.stage)
        .arg(&f.target);
    Run::of(c)
}

/// A package with files of several modes and times, a symlink, a fifo and
/// a hard-link pair.
fn package(f: &Fixture) {
    let tool = f.file("stage/bin/tool", b"#!/bin/sh\n");
    set_mode(&tool, 0o755);
    f.file("stage/lib/libx.so.1.0", &vec![7u8; 300_000]);
    f.symlink("libx.so.1.0", "stage/lib/libx.so.1");
    let a = f.file("stage/share/a", b"linked");
    fs::hard_link(&a, f.root().join("stage/share/b")).unwrap();
    let ro = f.file("stage/share/ro", b"read only");
    set_mode(&ro, 0o444);
    let d = f.dir("stage/share/dir");
    set_mode(&d, 0o750);
    let run = f.dir("stage/run");
    let fd = rustix::fs::open(&run, rustix::fs::OFlags::RDONLY, rustix::fs::Mode::empty()).unwrap();
    rustix::fs::mknodat(
        &fd,
        "fifo",
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    // An old mtime, to see it kept.
    Command::new("touch")
        .args(["-d", "2001-02-03 04:05:06"])
        .arg(&tool)
        .arg(&d)
        .status()
        .unwrap();
}

#[test]
fn copy_leaves_stage_intact_and_target_equal_with_modes_times_and_links() {
    for temps in [Temps::Anonymous, Temps::Named] {
        let f = Fixture::new(Prim::Rename);
        package(&f);
        let before = Snapshot::of(&f.stage);
        copy(&f, temps, &[])
            .assert_code(0)
            .assert_stderr_has("7 copied");
        assert_eq!(Snapshot::of(&f.stage), before, "{temps:?}: STAGE intact");
        assert_eq!(
            Snapshot::of(&f.target),
            before,
            "{temps:?}: TARGET holds the same tree"
        );
        let (s, t) = (&f.stage, &f.target);
        for p in ["bin/tool", "share/dir"] {
            let (sm, tm) = (
                fs::metadata(s.join(p)).unwrap(),
                fs::metadata(t.join(p)).unwrap(),
            );
            assert_eq!(
                (sm.mtime(), sm.mtime_nsec()),
                (tm.mtime(), tm.mtime_nsec()),
                "{p}: mtime kept"
            );
        }
        assert_ne!(
            ino(&s.join("bin/tool")),
            ino(&t.join("bin/tool")),
            "a copy, not a move"
        );
        assert_eq!(
            ino(&t.join("share/a")),
            ino(&t.join("share/b")),
            "hard-link group kept"
        );
        assert!(temporaries(t).is_empty());
    }
}

#[test]
fn copy_follows_the_same_rules() {
    let f = Fixture::new(Prim::Rename);
    f.dir("target/usr/lib");
    f.symlink("usr/lib", "target/lib64");
    f.file("stage/lib64/libfoo.so", b"through the link");
    f.file("stage/share/same", b"same");
    f.file("target/share/same", b"same");
    f.file("stage/share/changed", b"new");
    let old = f.file("target/share/changed", b"old");
    set_mode(&old, 0o444);
    f.file("stage/share/conflict/x", b"dir over file");
    f.file("target/share/conflict", b"a file");
    let canary = f.dir("canary");
    f.symlink(&canary, "target/etc");
    f.file("stage/etc/passwd", b"evil");
    let before = Snapshot::of(&f.stage);
    let r = copy(&f, Temps::Anonymous, &[]);
    r.assert_code(1)
        .assert_stderr_has("1 identical, 1 replaced")
        .assert_stderr_has("2 conflicts")
        .assert_stderr_has("leads out of TARGET")
        .assert_stderr_has(&format!("warning: replaced {}", old.display()));
    assert_eq!(
        fs::read(f.target.join("usr/lib/libfoo.so")).unwrap(),
        b"through the link"
    );
    assert_eq!(fs::read(&old).unwrap(), b"new");
    assert_eq!(mode(&old), 0o644);
    assert_eq!(
        fs::read(f.target.join("share/conflict")).unwrap(),
        b"a file"
    );
    assert!(Snapshot::of(&canary).is_empty());
    assert_eq!(Snapshot::of(&f.stage), before, "STAGE intact");
}

#[test]
fn replacing_with_named_temporaries_leaves_none_behind() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/share/file", b"new");
    f.symlink("new", "stage/share/link");
    f.file("target/share/file", b"old");
    f.symlink("old", "target/share/link");
    copy(&f, Temps::Named, &[])
        .assert_code(0)
        .assert_stderr_has("2 replaced");
    assert_eq!(
        node_at(&f.target, b"share/link"),
        Some(Node::Link {
            text: b"new".to_vec()
        })
    );
    assert!(temporaries(&f.target).is_empty());
}

#[test]
fn temporaries_of_a_dead_copy_are_removed_and_a_live_ones_kept() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/share/x", b"x");
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let stale = f.file(
        format!("target/share/.stagemerge-{dead_pid}-0.tmp"),
        b"half a file",
    );
    let live = f.file(
        format!("target/share/.stagemerge-{}-0.tmp", std::process::id()),
        b"in progress",
    );
    copy(&f, Temps::Anonymous, &[])
        .assert_code(0)
        .assert_stderr_has("1 temporaries of an interrupted copy removed");
    assert!(!stale.exists());
    assert!(
        live.exists(),
        "a running process's temporary is not touched"
    );
}

/// A tree of `n` files in nested directories, some sharing inodes.
fn big_tree(f: &Fixture, n: usize) {
    for i in 0..n {
        let p = f.file(
            format!("stage/lib/d{}/e{}/f{i}", i % 7, i % 13),
            format!("{i}").repeat(50).as_bytes(),
        );
        if i % 100 == 0 {
            fs::hard_link(&p, p.with_extension("link")).unwrap();
        }
    }
    f.symlink("d0", "stage/lib/alias");
}

/// SPEC: killed at any instant, the same command run again finishes the job
/// and gives the same TARGET as an uninterrupted run, with no temporary left.
#[test]
fn killed_copy_rerun_gives_the_uninterrupted_result() {
    let _heavy = crate::util::heavy();
    let trials = crate::util::kill_trials(if crate::util::soak() { 60 } else { 30 });
    for temps in [Temps::Anonymous, Temps::Named] {
        let f = Fixture::new_fast(Prim::Rename);
        big_tree(&f, 3000);
        let stage = Snapshot::of(&f.stage);
        // The shortest of three runs: a run slowed by a moment's load would
        // spread the kills past the end of the runs that follow.
        let mut full = Duration::MAX;
        for _ in 0..3 {
            fs::remove_dir_all(&f.target).unwrap();
            fs::create_dir(&f.target).unwrap();
            let t0 = Instant::now();
            copy(&f, temps, &[]).assert_code(0);
            full = full.min(t0.elapsed());
        }
        let want = Snapshot::of(&f.target);
        let mut spread = KillSpread::new(full, trials);
        for trial in 0..trials {
            fs::remove_dir_all(&f.target).unwrap();
            fs::create_dir(&f.target).unwrap();
            let mut c = f.command();
            if temps == Temps::Named {
                c.env("STAGEMERGE_NO_TMPFILE", "1");
            }
            c.arg("merge")
                .arg("--copy")
                .arg(&f.stage)
                .arg(&f.target)
                .stderr(Stdio::null());
            let mut child = c.spawn().unwrap();
            let (at, _) = spread.strike(trial, &mut child);
            copy(&f, temps, &[]).assert_code(0);
            assert_eq!(
                Snapshot::of(&f.target),
                want,
                "{temps:?} trial {trial} killed at {at:?}"
            );
            assert!(
                temporaries(&f.target).is_empty(),
                "{temps:?} trial {trial}: {:?}",
                temporaries(&f.target)
            );
            assert_eq!(Snapshot::of(&f.stage), stage, "STAGE intact");
        }
        eprintln!(
            "{temps:?}: {} of {trials} runs killed before they finished (full run {:?})",
            spread.mid_way,
            spread.full()
        );
        spread.assert_inside_runs(&format!("{temps:?}"));
    }
}
