//! The command line's contract: help and version, exit statuses, what is
//! printed where, and that refused invocations change nothing.

use std::fs;

use crate::util::{Fixture, Prim, Run, Snapshot, command};

fn run(args: &[&std::ffi::OsStr]) -> Run {
    let mut c = command(Prim::Rename);
    c.args(args);
    Run::of(c)
}

#[test]
fn help_and_version() {
    let h = run(&["--help".as_ref()]);
    h.assert_code(0);
    assert!(h.stdout.contains("merge"), "{}", h.stdout);
    let h = run(&["merge".as_ref(), "--help".as_ref()]);
    assert!(h.stdout.contains("--on-conflict"), "{}", h.stdout);
    let v = run(&["--version".as_ref()]);
    v.assert_code(0);
    assert_eq!(
        v.stdout.trim(),
        format!("stagemerge {}", env!("CARGO_PKG_VERSION"))
    );
}

/// Runs `merge` with the given roots and checks exit 2 with `needle` on
/// stderr, and that neither tree changed.
#[track_caller]
fn refused(f: &Fixture, stage: &std::path::Path, target: &std::path::Path, needle: &str) {
    let before = Snapshot::of(f.root());
    let mut c = f.command();
    c.arg("merge").arg(stage).arg(target);
    Run::of(c).assert_code(2).assert_stderr_has(needle);
    assert_eq!(Snapshot::of(f.root()), before, "nothing changed");
}

#[test]
fn missing_stage_exits_2() {
    let f = Fixture::new(Prim::Rename);
    f.file("target/keep", b"k");
    refused(&f, &f.root().join("nope"), &f.target, "STAGE");
}

#[test]
fn target_that_is_a_file_exits_2() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/x", b"x");
    let file = f.file("file", b"not a dir");
    refused(&f, &f.stage, &file, "is not a directory");
}

#[test]
fn stage_equal_to_target_exits_2() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/x", b"x");
    refused(&f, &f.stage, &f.stage.join("."), "same directory");
}

#[test]
fn target_inside_stage_exits_2_and_says_so() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/x", b"x");
    let inner = f.dir("stage/prefix");
    refused(&f, &f.stage, &inner, "TARGET");
    let out = {
        let mut c = f.command();
        c.arg("merge").arg(&f.stage).arg(&inner);
        Run::of(c)
    };
    out.assert_stderr_has("is inside STAGE");
}

#[test]
fn bad_on_conflict_value_exits_2() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/x", b"x");
    let before = Snapshot::of(f.root());
    f.merge(&["--on-conflict", "overwrite"])
        .assert_code(2)
        .assert_stderr_has("overwrite");
    assert_eq!(Snapshot::of(f.root()), before);
}

#[test]
fn in_flight_outside_1_to_256_exits_2_and_changes_nothing() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/x", b"x");
    let before = Snapshot::of(f.root());
    for n in ["0", "257", "many"] {
        f.merge(&["--in-flight", n])
            .assert_code(2)
            .assert_stderr_has("--in-flight");
        assert_eq!(Snapshot::of(f.root()), before, "--in-flight {n}");
    }
    // On a local filesystem any number places one at a time, as always.
    f.merge(&["--in-flight", "256"]).assert_code(0);
    assert_eq!(fs::read(f.root().join("target/x")).unwrap(), b"x");
}

#[test]
fn summary_line_on_stderr_and_nothing_on_stdout() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/a/one", b"1");
    f.file("stage/b/two", b"2");
    f.file("stage/c/same", b"s");
    f.file("target/c/same", b"s");
    let r = f.merge(&[]);
    r.assert_code(0);
    assert_eq!(r.stdout, "");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    let line = lines[0];
    assert!(line.contains("2 moved (2 whole directories)"), "{line}");
    assert!(line.contains("1 identical, 0 replaced"), "{line}");
    assert!(line.contains("0 conflicts"), "{line}");
    assert!(line.ends_with(" s"), "ends with the time: {line}");
}

#[test]
fn quiet_prints_only_problems() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/x", b"new");
    f.file("target/x", b"old");
    f.file("stage/d/y", b"y");
    f.file("target/d", b"file");
    let r = f.merge(&["--quiet"]);
    r.assert_code(1);
    assert_eq!(
        r.stderr.lines().count(),
        1,
        "only the conflict: {}",
        r.stderr
    );
    r.assert_stderr_has("conflict")
        .assert_stderr_lacks("warning")
        .assert_stderr_lacks("moved");
}

#[test]
fn verbose_lists_every_action_on_stdout() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/new/file", b"1");
    f.file("stage/lib/same", b"s");
    f.file("target/lib/same", b"s");
    f.file("stage/lib/changed", b"2");
    f.file("target/lib/changed", b"1");
    let r = f.merge(&["--verbose"]);
    r.assert_code(0);
    let got: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        got,
        [
            "merge-dir  lib",
            "replaced   lib/changed",
            "identical  lib/same",
            "moved-dir  new",
        ]
    );
}

#[test]
fn closed_stdout_is_not_an_error() {
    let f = Fixture::new(Prim::Rename);
    for i in 0..2000 {
        f.file(format!("stage/d/f{i}"), b"x");
    }
    f.dir("target/d");
    let mut c = f.command();
    c.arg("merge").arg("--verbose").arg(&f.stage).arg(&f.target);
    c.stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(fs::read_dir(f.target.join("d")).unwrap().count(), 2000);
}

/// Runs the merge of `f` on a terminal (through `script`) and returns what
/// the terminal showed.
fn on_a_terminal(f: &Fixture, extra: &str) -> String {
    let cmd = format!(
        "STAGEMERGE_PROGRESS_AFTER_MS=0 '{}' merge --copy {extra} '{}' '{}'",
        crate::util::bin(),
        f.stage.display(),
        f.target.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn progress_line_only_on_a_terminal_and_not_when_quiet() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: script (util-linux) is not installed");
        return;
    }
    let f = Fixture::new_fast(Prim::Rename);
    for i in 0..500 {
        f.file(format!("stage/share/f{i}"), b"x");
    }
    let shown = on_a_terminal(&f, "");
    assert!(shown.contains("entries merged"), "{shown}");
    fs::remove_dir_all(&f.target).unwrap();
    fs::create_dir(&f.target).unwrap();
    let quiet = on_a_terminal(&f, "--quiet");
    assert!(!quiet.contains("entries merged"), "{quiet}");
    fs::remove_dir_all(&f.target).unwrap();
    fs::create_dir(&f.target).unwrap();
    let mut c = f.command();
    c.env("STAGEMERGE_PROGRESS_AFTER_MS", "0")
        .arg("merge")
        .arg("--copy")
        .arg(&f.stage)
        .arg(&f.target);
    Run::of(c)
        .assert_code(0)
        .assert_stderr_lacks("entries merged");
}
