//! Uninstall on its worst days (issue 23): a restore that cannot be done
//! is an error with the record kept, and a killed uninstall, run again,
//! ends as an uninterrupted one, directories and the store included.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::util::corpus::{corpus, mixed_stage, sh};
use crate::util::packages::Installed;
use crate::util::{Fixture, Prim, Run, Snapshot, bin, is_root, kill_trials};

/// `a` and `b` share `d/f` with different contents; `b` merged last, so
/// its version is visible and `a`'s is in the clobber store.
fn shared_pair(f: &Fixture) -> Installed {
    let inst = Installed::new(&f.target, &f.root().join("installed"));
    for (pkg, data) in [("a", "a's\n"), ("b", "b's\n")] {
        f.file(format!("st-{pkg}/d/f"), data.as_bytes());
        f.file(format!("st-{pkg}/d/{pkg}-only"), pkg.as_bytes());
        inst.merge(pkg, &f.root().join(format!("st-{pkg}")), &[])
            .assert_code(0);
    }
    assert_eq!(inst.stored().len(), 1, "a's version is kept");
    inst
}

fn uninstall(inst: &Installed, name: &str) -> Run {
    let mut c = Command::new(bin());
    c.args(["uninstall", "--json", "--manifest"])
        .arg(inst.record(name))
        .arg("--manifest-dir")
        .arg(&inst.records)
        .arg(&inst.target);
    Run::of(c)
}

/// A restore that fails, by `break_it` (undone by `mend`): exit 1 naming
/// the path and the operation, JSON `why: error`, the record kept, `b`'s
/// version still visible and `a`'s still stored; once mended, a rerun
/// restores `a`'s version and removes the record.
fn failed_restore_is_an_error(break_it: impl Fn(&Path), mend: impl Fn(&Path), how: &str) {
    let f = Fixture::new(Prim::Rename);
    let inst = shared_pair(&f);
    let store = f.target.join(".stagemerge");
    break_it(&store);
    let run = uninstall(&inst, "b");
    mend(&store);
    run.assert_code(1)
        .assert_stderr_has("restore from the clobber store")
        .assert_stderr_has(&f.target.join("d/f").display().to_string())
        .assert_stderr_has("record")
        .assert_stderr_lacks("1 restored");
    assert!(
        run.stdout.contains("\"why\": \"error\""),
        "{how}: {}",
        run.stdout
    );
    assert!(inst.record("b").exists(), "{how}: the record is kept");
    assert_eq!(fs::read(f.target.join("d/f")).unwrap(), b"b's\n");
    assert_eq!(inst.stored().len(), 1, "{how}: a's version still kept");
    let again = uninstall(&inst, "b");
    again.assert_code(0).assert_stderr_has("1 restored");
    assert!(!inst.record("b").exists());
    assert_eq!(fs::read(f.target.join("d/f")).unwrap(), b"a's\n");
    inst.verify("a").assert_code(0);
    assert!(inst.stored().is_empty(), "{how}: the store emptied");
}

/// Sets or clears the immutable attribute.
fn chattr(flag: &str, p: &Path) {
    sh(Command::new("chattr").arg(flag).arg(p));
}

/// The only entry of the directory `dir`.
fn only(dir: &Path) -> std::path::PathBuf {
    let mut entries = fs::read_dir(dir).unwrap();
    let e = entries.next().unwrap().unwrap().path();
    assert!(
        entries.next().is_none(),
        "{} holds one entry",
        dir.display()
    );
    e
}

/// The store's directory of `d/f` (the one path it keeps versions of).
fn key_dir(store: &Path) -> std::path::PathBuf {
    only(&store.join("clobbered"))
}

#[test]
fn restore_from_an_immutable_stored_file_fails_loudly_and_keeps_the_record() {
    require_root!();
    failed_restore_is_an_error(
        |s| chattr("+i", &only(&key_dir(s))),
        |s| chattr("-i", &only(&key_dir(s))),
        "immutable file",
    );
}

#[test]
fn restore_from_an_immutable_store_directory_fails_loudly_and_keeps_the_record() {
    require_root!();
    failed_restore_is_an_error(
        |s| chattr("+i", &key_dir(s)),
        |s| chattr("-i", &key_dir(s)),
        "immutable directory",
    );
}

#[test]
fn restore_from_a_read_only_bind_mount_over_the_store_fails_loudly_and_keeps_the_record() {
    require_root!();
    failed_restore_is_an_error(
        |s| {
            sh(Command::new("mount").arg("--bind").arg(s).arg(s));
            sh(Command::new("mount").args(["-o", "remount,bind,ro"]).arg(s));
        },
        |s| sh(Command::new("umount").arg(s)),
        "read-only bind mount",
    );
}

/// Without root: a store directory without write permission fails the
/// same way for a user (root ignores permissions).
#[test]
fn restore_from_a_store_the_user_cannot_write_fails_loudly_and_keeps_the_record() {
    if is_root() {
        eprintln!("skipped: root ignores permissions (the immutable cases run instead)");
        return;
    }
    failed_restore_is_an_error(
        |s| crate::util::set_mode(&key_dir(s), 0o555),
        |s| crate::util::set_mode(&key_dir(s), 0o755),
        "read-only directory",
    );
}

/// Everything below `root` with modes and contents, directories included.
fn state(inst: &Installed) -> (Snapshot, Snapshot) {
    (Snapshot::of(&inst.target), Snapshot::of(&inst.records))
}

/// SIGKILL at instants spread over an uninstall of real packages (docutils,
/// pygments and three jaraco wheels: 1,000 files) that keeps shared
/// files, restores another package's version of one and prunes many
/// directories; each killed run is rerun: TARGET (store included) and the
/// records equal an uninterrupted run's.
#[test]
fn kills_spread_over_an_uninstall_with_a_restore_then_rerun_end_as_an_uninterrupted_one() {
    let _heavy = crate::util::heavy();
    let Some(corpus) = corpus() else { return };
    let work = tempfile::tempdir_in(crate::util::fast_tmp()).unwrap();
    let big = work.path().join("big");
    mixed_stage(&corpus, &big);
    // `small` shares a jaraco module with another version and a pygments
    // file with the same bytes: one restore, one shared file kept.
    let small = work.path().join("small");
    let site = "local/lib/python3.11/site-packages";
    let restored = format!("{site}/jaraco/text/__init__.py");
    let shared = format!("{site}/pygments/__init__.py");
    for (p, data) in [
        (&restored, b"# small's version\n".to_vec()),
        (&shared, fs::read(big.join(&shared)).unwrap()),
    ] {
        fs::create_dir_all(small.join(p).parent().unwrap()).unwrap();
        fs::write(small.join(p), data).unwrap();
    }
    // A fresh install of small then big, ready to uninstall big.
    let install = |into: &Path| -> Installed {
        let f = into.join("t");
        let inst = Installed::new(&f, &into.join("installed"));
        fs::create_dir_all(&f).unwrap();
        for (name, stage) in [("small", &small), ("big", &big)] {
            let farm = into.join(format!("farm-{name}"));
            sh(Command::new("cp").arg("-al").arg(stage).arg(&farm));
            inst.merge(name, &farm, &[]).assert_code(0);
        }
        inst
    };
    let reference = install(&work.path().join("ref"));
    let t = Instant::now();
    let run = uninstall(&reference, "big");
    let took = t.elapsed();
    run.assert_code(0).assert_stderr_has("1 restored");
    assert_eq!(
        fs::read(reference.target.join(&restored)).unwrap(),
        b"# small's version\n"
    );
    let want = state(&reference);
    let trials = kill_trials(60);
    let (mut midway, mut reruns) = (0, 0);
    for k in 0..trials {
        let dir = work.path().join(format!("kill{k}"));
        let inst = install(&dir);
        let before = state(&inst);
        let mut c = Command::new(bin());
        c.args(["uninstall", "--manifest"])
            .arg(inst.record("big"))
            .arg("--manifest-dir")
            .arg(&inst.records)
            .arg(&inst.target)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        std::thread::sleep(took.mul_f64(k as f64 / trials as f64));
        let _ = child.kill();
        child.wait().unwrap();
        let after = state(&inst);
        if after != before && after != want {
            midway += 1;
        }
        if inst.record("big").exists() {
            reruns += 1;
            let again = uninstall(&inst, "big");
            assert_eq!(again.code, 0, "kill {k}: the rerun\n{}", again.stderr);
        }
        let got = state(&inst);
        assert!(
            got == want,
            "kill {k} of {trials} ({:?} in): the rerun's TARGET and records differ from \
             an uninterrupted run's: TARGET has {:?}, expected {:?}",
            took.mul_f64(k as f64 / trials as f64),
            got.0.paths().len(),
            want.0.paths().len()
        );
        fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!(
        "{trials} kills over an uninstall of {:?}: {midway} mid-way, {reruns} rerun, \
         every one ending as the uninterrupted run",
        took
    );
    assert!(
        midway > 0,
        "no kill struck mid-way: the test proved nothing"
    );
}

/// A killed uninstall's directories: the rerun prunes what the first run
/// emptied but did not remove (regression: it pruned only what its own
/// removals emptied, leaving empty directories behind).
#[test]
fn a_rerun_prunes_directories_an_interrupted_uninstall_emptied() {
    let f = Fixture::new(Prim::Rename);
    let inst = Installed::new(&f.target, &f.root().join("installed"));
    f.file("stage/a/b/c/f", b"x");
    f.file("stage/a/g", b"y");
    inst.merge("p", &f.stage, &[]).assert_code(0);
    // As a kill leaves it: the files removed, the directories not yet.
    fs::remove_file(f.target.join("a/b/c/f")).unwrap();
    fs::remove_file(f.target.join("a/g")).unwrap();
    inst.uninstall("p")
        .assert_code(0)
        .assert_stderr_has("3 directories pruned");
    assert!(Snapshot::of(&f.target).is_empty(), "nothing left");
}
