//! Protected configuration files (issue 13): with `--protect`, a file the
//! user edited (its content is in no record) survives an upgrade, the new
//! one waits beside it as `NAME.stagemerge-new`, unedited files are
//! upgraded, and `uninstall` keeps the edit; a killed merge rerun ends the
//! same.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::util::corpus::sh;
use crate::util::packages::Installed;
use crate::util::{Fixture, Prim, Run, Snapshot, fast_tmp, kill_trials, wait_for_file};

/// Version `v` of package x: two configuration files and a program, plus
/// `bulk` files on each side of `etc/` (for kills to land around it).
fn stage_x(stage: &Path, v: &str, bulk: usize) {
    let put = |rel: &str, data: &str| {
        let p = stage.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    };
    put("etc/x.conf", &format!("# x.conf of x-{v}\n"));
    put("etc/y.conf", &format!("# y.conf of x-{v}\n"));
    put("bin/x", &format!("x-{v}"));
    for i in 0..bulk {
        put(&format!("aaa/{i}"), v);
        put(&format!("zzz/{i}"), v);
    }
}

const EDIT: &str = "# edited by the admin\n";

/// x-1 installed with its record, then `etc/x.conf` edited.
fn installed_and_edited(f: &Fixture, inst: &Installed, bulk: usize) {
    stage_x(&f.stage, "1", bulk);
    inst.merge("x", &f.stage, &["--protect", "etc/"])
        .assert_code(0);
    fs::write(f.target.join("etc/x.conf"), EDIT).unwrap();
    stage_x(&f.stage, "2", bulk);
}

#[test]
fn an_edited_protected_file_survives_an_upgrade_and_the_new_one_waits_beside_it() {
    let f = Fixture::new(Prim::Rename);
    let inst = Installed::new(&f.target, &f.root().join("installed"));
    installed_and_edited(&f, &inst, 0);
    let conf = f.target.join("etc/x.conf");

    let plan = inst.plan(Some("x"), &f.stage, &["--protect", "etc/"]);
    plan.assert_code(0);
    assert!(
        plan.stdout.contains("protect    etc/x.conf"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("replace    etc/y.conf"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "  etc/x.conf: the package's own earlier version; protected and edited: kept"
        ),
        "{}",
        plan.stdout
    );

    let run = inst.merge("x", &f.stage, &["--protect", "etc/"]);
    run.assert_code(0).assert_stderr_has(&format!(
        "kept {}: protected, and edited since installed",
        conf.display()
    ));
    assert_eq!(
        fs::read_to_string(&conf).unwrap(),
        EDIT,
        "the edit survives"
    );
    assert_eq!(
        fs::read_to_string(f.target.join("etc/x.conf.stagemerge-new")).unwrap(),
        "# x.conf of x-2\n"
    );
    assert_eq!(
        fs::read_to_string(f.target.join("etc/y.conf")).unwrap(),
        "# y.conf of x-2\n",
        "an unedited file is upgraded"
    );
    assert_eq!(fs::read_to_string(f.target.join("bin/x")).unwrap(), "x-2");
    assert!(Snapshot::of(&f.stage).is_empty(), "everything merged");

    // Uninstall keeps the edit (and says why), removes the rest.
    let run = inst.uninstall("x");
    run.assert_code(1).assert_stderr_has(&format!(
        "kept {}: modified since it was installed",
        conf.display()
    ));
    assert_eq!(fs::read_to_string(&conf).unwrap(), EDIT);
    assert!(!f.target.join("etc/y.conf").exists());
}

/// The control: without `--protect` the edit is replaced, as before.
#[test]
fn without_protect_an_edited_file_is_replaced_with_a_warning() {
    let f = Fixture::new(Prim::Rename);
    let inst = Installed::new(&f.target, &f.root().join("installed"));
    installed_and_edited(&f, &inst, 0);
    inst.merge("x", &f.stage, &[])
        .assert_code(0)
        .assert_stderr_has("replaced");
    assert_eq!(
        fs::read_to_string(f.target.join("etc/x.conf")).unwrap(),
        "# x.conf of x-2\n"
    );
    assert!(!f.target.join("etc/x.conf.stagemerge-new").exists());
}

/// SIGKILL at instants spread over the upgrade (before, around and after
/// `etc/x.conf`), then the same command again: TARGET, the record and
/// the records' directory end exactly as after an uninterrupted run (one
/// `x.conf.stagemerge-new`, the edit intact).
#[test]
fn a_killed_protected_upgrade_reruns_to_the_uninterrupted_end() {
    let work = tempfile::tempdir_in(fast_tmp()).unwrap();
    let base = Fixture::new_in(work.path(), Prim::Rename);
    let inst = Installed::new(&base.target, &base.root().join("installed"));
    installed_and_edited(&base, &inst, 1500);
    let fresh = |name: &str| -> (std::path::PathBuf, Installed) {
        let dir = work.path().join(name);
        let _ = fs::remove_dir_all(&dir);
        sh(Command::new("cp").arg("-a").arg(base.root()).arg(&dir));
        let inst = Installed::new(&dir.join("target"), &dir.join("installed"));
        (dir.join("stage"), inst)
    };
    let upgrade = |stage: &Path, inst: &Installed| {
        let mut c = inst.merge_cmd("x", stage, &["--protect", "etc/", "--quiet"]);
        c.stdout(Stdio::null()).stderr(Stdio::null());
        c
    };
    let end = |inst: &Installed| (Snapshot::of(&inst.target), Snapshot::of(&inst.records));

    let journal = |inst: &Installed| inst.records.join("x.stagemerge-journal");
    let (stage, reference) = fresh("reference");
    let started = Instant::now();
    let mut child = upgrade(&stage, &reference).spawn().unwrap();
    let journal_at = wait_for_file(&journal(&reference), &mut child).unwrap_or_default();
    assert!(child.wait().unwrap().success());
    // The moves happen between the journal and the end.
    let moving = started.elapsed().saturating_sub(journal_at);
    let want = end(&reference);
    assert_eq!(
        fs::read_to_string(reference.target.join("etc/x.conf")).unwrap(),
        EDIT
    );

    let _heavy = crate::util::heavy();
    let n = kill_trials(20);
    let (mut mid_way, mut after_protect) = (0, 0);
    for trial in 0..n {
        let (stage, inst) = fresh("trial");
        let mut child = upgrade(&stage, &inst).spawn().unwrap();
        wait_for_file(&journal(&inst), &mut child);
        std::thread::sleep(moving.mul_f64((trial as f64 + 0.5) / n as f64));
        let _ = child.kill();
        if child.wait().unwrap().code().is_none() {
            mid_way += 1;
            if inst.target.join("etc/x.conf.stagemerge-new").exists() {
                after_protect += 1;
            }
        }
        Run::of(upgrade(&stage, &inst)).assert_code(0);
        assert!(
            end(&inst) == want,
            "trial {trial}: TARGET or the records differ from an uninterrupted run's"
        );
    }
    eprintln!(
        "{n} kills over a protected upgrade ({moving:?} of moves): {mid_way} mid-way, \
         {after_protect} of them after x.conf.stagemerge-new was placed"
    );
    assert!(mid_way > n / 3, "the kills must land inside runs");
    assert!(
        after_protect > 0 && after_protect < mid_way,
        "kills must land both before and after the protected file"
    );
}
