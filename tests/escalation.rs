//! SAGE_SUDO escalation, for real (as root): an unprivileged builder, sudo
//! with a NOPASSWD rule, a TARGET owned by root.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use crate::util::{Fixture, Prim, Run, Snapshot, set_mode};

const USER: &str = "stagemerge-test";

/// The builder's uid, after making sure the user and its sudo rule exist
/// (once: the tests run in parallel threads). None (with the reason
/// printed) where that cannot be set up.
fn builder() -> Option<u32> {
    static UID: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    *UID.get_or_init(set_up_builder)
}

fn set_up_builder() -> Option<u32> {
    if !crate::util::is_root() {
        eprintln!("skipped: this test needs root (a user of its own, sudo)");
        return None;
    }
    if Command::new("sudo").arg("--version").output().is_err() {
        eprintln!("skipped: sudo is not installed (apt-get install sudo)");
        return None;
    }
    let exists = Command::new("id")
        .arg(USER)
        .output()
        .is_ok_and(|o| o.status.success());
    if !exists {
        let ok = Command::new("useradd")
            .args(["--no-create-home", "--shell", "/bin/sh", USER])
            .status()
            .unwrap();
        assert!(ok.success(), "useradd {USER}");
    }
    let rule = format!("{USER} ALL=(root) NOPASSWD: ALL\n");
    let path = Path::new("/etc/sudoers.d/stagemerge-test");
    if fs::read_to_string(path).ok().as_deref() != Some(&rule) {
        fs::write(path, rule).unwrap();
        set_mode(path, 0o440);
    }
    let out = Command::new("id").args(["-u", USER]).output().unwrap();
    Some(String::from_utf8_lossy(&out.stdout).trim().parse().unwrap())
}

/// A fixture whose STAGE belongs to the builder and whose TARGET to root.
fn fixture(uid: u32) -> Fixture {
    let f = Fixture::new(Prim::Rename);
    set_mode(f.root(), 0o755);
    f.file("stage/lib/libpkg.so", b"elf");
    f.file("stage/share/pkg/data", b"data");
    f.file("target/share/other", b"root's");
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{uid}:{uid}"))
        .arg(&f.stage)
        .status()
        .unwrap();
    assert!(status.success());
    f
}

/// Runs `stagemerge ARGS` as the builder with `SAGE_SUDO` set to `sudo`
/// (or unset when None).
fn as_builder(uid: u32, sage_sudo: Option<&str>, args: &[&OsStr]) -> Run {
    let mut c = Command::new("setpriv");
    c.args([
        format!("--reuid={uid}"),
        format!("--regid={uid}"),
        "--init-groups".into(),
        "--".into(),
    ]);
    c.arg(crate::util::bin()).args(args);
    c.env_remove("STAGEMERGE_FORCE_FALLBACK");
    match sage_sudo {
        Some(s) => c.env("SAGE_SUDO", s),
        None => c.env_remove("SAGE_SUDO"),
    };
    // Run from a directory the builder may read.
    c.current_dir("/");
    Run::of(c)
}

fn merge_args(f: &Fixture) -> Vec<&OsStr> {
    vec![
        OsStr::new("merge"),
        f.stage.as_os_str(),
        f.target.as_os_str(),
    ]
}

#[test]
fn unwritable_target_is_merged_through_sage_sudo_in_copy_mode() {
    let Some(uid) = builder() else { return };
    let f = fixture(uid);
    let stage_before = Snapshot::of(&f.stage);
    as_builder(uid, Some("sudo -E"), &merge_args(&f))
        .assert_code(0)
        .assert_stderr_has("merging through SAGE_SUDO (sudo -E), in copy mode")
        .assert_stderr_has("2 copied");
    for p in ["lib/libpkg.so", "share/pkg/data", "share/pkg"] {
        assert_eq!(
            fs::metadata(f.target.join(p)).unwrap().uid(),
            0,
            "{p} belongs to the escalated user"
        );
    }
    assert_eq!(fs::read(f.target.join("share/pkg/data")).unwrap(), b"data");
    assert_eq!(Snapshot::of(&f.stage), stage_before, "STAGE stays");
    assert_eq!(
        fs::metadata(f.stage.join("lib/libpkg.so")).unwrap().uid(),
        uid,
        "and stays the builder's"
    );
}

#[test]
fn failing_escalation_command_exits_2_and_changes_nothing() {
    let Some(uid) = builder() else { return };
    let f = fixture(uid);
    let before = Snapshot::of(f.root());
    for prefix in ["false", "/nonexistent/sudo", "sudo -u nobody-such-user"] {
        as_builder(uid, Some(prefix), &merge_args(&f))
            .assert_code(2)
            .assert_stderr_has("escalation through SAGE_SUDO")
            .assert_stderr_has("nothing was done");
        assert_eq!(Snapshot::of(f.root()), before, "{prefix}");
    }
}

#[test]
fn never_escalates_when_target_is_writable_or_sage_sudo_unset() {
    let Some(uid) = builder() else { return };
    // A prefix that would leave a mark if it ran.
    let f = fixture(uid);
    let mark = f.root().join("escalated");
    let marker = f.file(
        "mark.sh",
        format!("#!/bin/sh\ntouch {}\nexec \"$@\"\n", mark.display()).as_bytes(),
    );
    set_mode(&marker, 0o755);
    // Writable TARGET: a plain move, no escalation.
    Command::new("chown")
        .arg("-R")
        .arg(format!("{uid}:{uid}"))
        .arg(&f.target)
        .status()
        .unwrap();
    as_builder(uid, Some(marker.to_str().unwrap()), &merge_args(&f))
        .assert_code(0)
        .assert_stderr_has("2 moved");
    assert!(!mark.exists(), "no escalation for a writable TARGET");
    // SAGE_SUDO unset: an unwritable TARGET is a plain permission error.
    let g = fixture(uid);
    as_builder(uid, None, &merge_args(&g))
        .assert_code(1)
        .assert_stderr_has("Permission denied");
    assert!(!mark.exists());
}

/// A prefix that runs the command without more rights must not loop: the
/// re-run is marked escalated and reports the permission errors itself.
#[test]
fn escalation_that_gains_nothing_does_not_loop() {
    let Some(uid) = builder() else { return };
    let f = fixture(uid);
    as_builder(uid, Some("env"), &merge_args(&f))
        .assert_code(1)
        .assert_stderr_has("Permission denied");
}
