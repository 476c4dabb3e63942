//! The Wasmtime sandbox: `plan --sandbox` prints exactly what `plan` prints
//! on real package trees, a read-only run cannot write, and `merge
//! --sandbox` ends where a native merge ends. (Every placement scenario also
//! runs in the sandbox, with its plans compared first: placement.rs.)

use std::path::{Path, PathBuf};

use crate::util::corpus::{corpus, farm, sh, stages, usrmerged_root};
use crate::util::{
    Fixture, Prim, Run, Snapshot, assert_plans_agree, command, fast_tmp, merged, mtimes, predicted,
};

fn probe(f: &Fixture, writable: bool) -> Run {
    let mut c = command(Prim::Rename);
    c.arg("sandbox-probe");
    if writable {
        c.arg("--writable");
    }
    c.arg(&f.stage).arg(&f.target).args(["victim", "victim.d"]);
    Run::of(c)
}

/// Every write the guest can express (create, mkdir, symlink, link,
/// rename, unlink, open for writing, set times, and the host's chmod) is
/// refused in both preopens of a read-only run, and neither tree changes.
/// The same probe with the directories writable succeeds, so the probe
/// does detect writes.
#[test]
fn read_only_sandbox_refuses_every_write() {
    let f = Fixture::new(Prim::Sandbox);
    for side in ["stage", "target"] {
        f.file(format!("{side}/victim"), b"keep me");
        f.dir(format!("{side}/victim.d"));
    }
    let before = (
        Snapshot::of(&f.stage),
        Snapshot::of(&f.target),
        mtimes(&f.stage),
        mtimes(&f.target),
    );
    let run = probe(&f, false);
    run.assert_code(0);
    let refused = run
        .stdout
        .lines()
        .filter(|l| l.contains(": refused ("))
        .count();
    assert_eq!(
        refused, 20,
        "10 writes x 2 directories, all refused:\n{}",
        run.stdout
    );
    assert!(!run.stdout.contains("ALLOWED"), "{}", run.stdout);
    let after = (
        Snapshot::of(&f.stage),
        Snapshot::of(&f.target),
        mtimes(&f.stage),
        mtimes(&f.target),
    );
    assert!(after == before, "a read-only run changed a tree");

    let control = probe(&f, true);
    control.assert_code(1);
    let allowed = control
        .stdout
        .lines()
        .filter(|l| l.ends_with(": ALLOWED"))
        .count();
    assert!(
        allowed >= 14,
        "a writable run must be able to write:\n{}",
        control.stdout
    );
    assert!(f.stage.join("probe-new").exists() && f.target.join("probe-dir").is_dir());
}

/// Stages one after another into `target`: before each merge, the native
/// and sandboxed plans (text and JSON) agree and change nothing, and the
/// plan names exactly the actions the native merge then takes.
/// A private copy of the corpus's `kind` stages on fast storage (farms of
/// hard links need the same filesystem), sorted by name.
fn fast_stages(corpus: &Path, kind: &str, tmp: &Path) -> Vec<PathBuf> {
    let copy = tmp.join("corpus");
    std::fs::create_dir_all(&copy).unwrap();
    sh(std::process::Command::new("cp")
        .arg("-a")
        .arg(corpus.join(kind))
        .arg(&copy));
    stages(&copy, kind, &[])
}

fn plan_and_merge_each(stages: &[PathBuf], target: &Path) -> usize {
    let mut steps = 0;
    for s in stages {
        let plan = assert_plans_agree(s, target, None);
        let mut c = command(Prim::Rename);
        c.args(["merge", "--verbose"]).arg(s).arg(target);
        let run = Run::of(c);
        run.assert_code(0);
        let (want, got) = (predicted(&plan.stdout), merged(&run.stdout));
        assert_eq!(
            want,
            got,
            "the plan of {} did not predict its merge",
            s.display()
        );
        steps += want.len();
    }
    steps
}

#[test]
fn plans_agree_on_wheel_stages_and_predict_the_merge() {
    let Some(corpus) = corpus() else { return };
    let tmp = tempfile::tempdir_in(fast_tmp()).unwrap();
    let wheels = fast_stages(&corpus, "wheels", tmp.path());
    let staged = farm(&wheels, &tmp.path().join("stages"));
    let target = tmp.path().join("target");
    std::fs::create_dir(&target).unwrap();
    let steps = plan_and_merge_each(&staged, &target);
    eprintln!(
        "{} wheel stages, {steps} planned steps, native = sandbox",
        staged.len()
    );
    // Planned again into the full prefix: everything is identical now.
    let again = farm(&wheels[..5], &tmp.path().join("again"));
    for s in &again {
        let plan = assert_plans_agree(s, &target, None);
        assert!(
            plan.stdout
                .contains(" 0 to place, 0 whole directories to place"),
            "{}",
            plan.stdout
        );
        assert!(plan.stdout.lines().any(|l| l.starts_with("identical ")));
    }
}

/// Debian stages contain absolute symlinks, which WASI refuses to read: the
/// host import supplies them, so both plans still agree, including when
/// every package is planned again into the merged root (identical links).
#[test]
fn plans_agree_on_debian_stages_with_absolute_symlinks() {
    let Some(corpus) = corpus() else { return };
    let tmp = tempfile::tempdir_in(fast_tmp()).unwrap();
    let debs = fast_stages(&corpus, "debs", tmp.path());
    let absolute = debs
        .iter()
        .flat_map(|d| Snapshot::of(d).nodes.into_values())
        .filter(|n| matches!(n, crate::util::Node::Link { text } if text.starts_with(b"/")))
        .count();
    assert!(absolute > 0, "the Debian corpus has absolute symlinks");
    let staged = farm(&debs, &tmp.path().join("stages"));
    let root = tmp.path().join("root");
    usrmerged_root(&root);
    let steps = plan_and_merge_each(&staged, &root);
    let mut identical = 0;
    for d in &debs {
        let plan = assert_plans_agree(d, &root, None);
        identical += plan
            .stdout
            .lines()
            .filter(|l| l.starts_with("identical "))
            .count();
        assert!(!plan.stdout.contains("\nplace"), "{}", plan.stdout);
    }
    eprintln!(
        "{} Debian stages ({absolute} absolute links), {steps} steps, then {identical} identical",
        debs.len()
    );
}

/// The JSON plan is one document with the documented shape, one step per
/// text line.
#[test]
fn json_plan_has_the_documented_shape() {
    let f = Fixture::new(Prim::Sandbox);
    f.file("stage/bin/new", b"1");
    f.file("stage/etc/conf", b"new");
    f.file("target/etc/conf", b"old");
    f.symlink("/elsewhere", "target/share");
    f.file("stage/share/x", b"x");
    let text = f.plan(&[]);
    text.assert_code(1);
    let json = f.plan(&["--json"]);
    json.assert_code(1);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["format"], "stagemerge-plan");
    assert_eq!(v["version"], 1);
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), text.stdout.lines().count() - 1);
    let find = |p: &str| steps.iter().find(|s| s["path"] == p).unwrap().clone();
    assert_eq!(find("bin")["action"], "place-dir");
    assert_eq!(find("etc/conf")["action"], "replace");
    assert_eq!(find("share")["action"], "conflict");
    assert!(
        find("share")["reason"]
            .as_str()
            .unwrap()
            .contains("/elsewhere")
    );
    assert_eq!(v["summary"]["conflicts"], 1);
    assert_plans_agree(&f.stage, &f.target, None);
}

/// A directory of 20,000 entries is planned in the sandbox (listed through
/// the host in one call, not relisted per batch) with the same result.
#[test]
fn huge_directory_plans_the_same_in_the_sandbox() {
    let f = Fixture::new_fast(Prim::Sandbox);
    let big = f.dir("stage/share/big");
    for i in 0..20_000 {
        std::fs::write(big.join(format!("entry-{i:05}")), b"").unwrap();
    }
    f.dir("target/share/big");
    let plan = assert_plans_agree(&f.stage, &f.target, None);
    assert!(
        plan.stdout.contains("plan: 20000 to place,"),
        "{}",
        plan.stdout.lines().last().unwrap()
    );
}

/// `merge --sandbox` of every wheel stage, one after another, leaves TARGET
/// and the stages exactly as native merges do.
#[test]
fn sandbox_merge_equals_native_merge_on_wheel_stages() {
    let Some(corpus) = corpus() else { return };
    let tmp = tempfile::tempdir_in(fast_tmp()).unwrap();
    let wheels = fast_stages(&corpus, "wheels", tmp.path());
    let mut ends = Vec::new();
    for sandbox in [false, true] {
        let (dir, staged, target) = fresh(tmp.path(), sandbox, &wheels);
        for s in &staged {
            let mut c = merge_command(sandbox);
            Run::of({
                c.arg(s).arg(&target);
                c
            })
            .assert_code(0);
        }
        ends.push((Snapshot::of(&target), Snapshot::of(&dir.join("stages"))));
    }
    assert!(ends[0].0.nodes.len() > 5000, "a real prefix");
    assert!(
        ends[0] == ends[1],
        "the sandboxed merges ended elsewhere than the native ones"
    );
}

/// `stagemerge` copied somewhere without its helper: `--sandbox` names the
/// helper it looked for and exits 2, and nothing moves; the native merge
/// still works from there.
#[test]
fn sandbox_without_its_helper_beside_the_binary_says_so_and_moves_nothing() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/lib/x.py", b"x");
    let alone = f.dir("alone").join("stagemerge");
    std::fs::copy(crate::util::bin(), &alone).unwrap();
    let before = Snapshot::of(&f.stage);
    for sub in ["plan", "merge"] {
        let mut c = std::process::Command::new(&alone);
        c.args([sub, "--sandbox"]).arg(&f.stage).arg(&f.target);
        Run::of(c)
            .assert_code(2)
            .assert_stderr_has(&format!(
                "{}",
                f.root().join("alone/stagemerge-sandbox").display()
            ))
            .assert_stderr_has("it is not there");
        assert_eq!(Snapshot::of(&f.stage), before, "{sub}: STAGE unchanged");
        assert!(
            Snapshot::of(&f.target).is_empty(),
            "{sub}: TARGET unchanged"
        );
    }
    let mut c = std::process::Command::new(&alone);
    c.arg("merge").arg(&f.stage).arg(&f.target);
    Run::of(c).assert_code(0);
    assert!(f.target.join("lib/x.py").is_file());
}

/// Each wheel stage merged with a record, in turn a JSON manifest, a text
/// manifest and Sage's record, all with `--manifest-dir`: the sandboxed
/// merges write the same records (JSON and text byte for byte, Sage's
/// `files` list for list: its date differs) and end with the same TARGET
/// as the native ones; then the same uninstalls, run natively on each, end
/// alike (the sandbox's records serve them as the native ones do).
#[test]
fn sandbox_merge_writes_the_records_a_native_merge_writes() {
    let Some(corpus) = corpus() else { return };
    let tmp = tempfile::tempdir_in(fast_tmp()).unwrap();
    let wheels = fast_stages(&corpus, "wheels", tmp.path());
    let mut ends = Vec::new();
    for sandbox in [false, true] {
        let (dir, staged, target) = fresh(tmp.path(), sandbox, &wheels);
        let inst = dir.join("inst");
        std::fs::create_dir(&inst).unwrap();
        let mut records = Vec::new();
        for (i, s) in staged.iter().enumerate() {
            let record = inst.join(format!("pkg{i}"));
            let mut c = merge_command(sandbox);
            c.arg("--manifest-dir").arg(&inst);
            match i % 3 {
                0 => c
                    .args(["--manifest-format", "json", "--manifest"])
                    .arg(&record),
                1 => c
                    .args(["--manifest-format", "text", "--manifest"])
                    .arg(&record),
                _ => c.arg("--sage-record").arg(&record).args([
                    "--package",
                    &format!("pkg{i}"),
                    "--package-version",
                    "1",
                ]),
            };
            let run = Run::of({
                c.arg(s).arg(&target);
                c
            });
            run.assert_code(0);
            records.push((record, i % 3 == 2));
        }
        let mut listed = Vec::new();
        for (record, sage) in &records {
            let bytes = std::fs::read(record).unwrap();
            listed.push(if *sage {
                let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                serde_json::to_vec(&v["files"]).unwrap()
            } else {
                bytes
            });
        }
        let merged = stamps_aside(Snapshot::of(&target));
        // Uninstall every other package natively, by the records written.
        for (record, _) in records.iter().step_by(2) {
            let mut c = command(Prim::Rename);
            c.arg("uninstall")
                .arg("--manifest-dir")
                .arg(&inst)
                .arg("--manifest")
                .arg(record)
                .arg(&target);
            Run::of(c).assert_code(0);
        }
        ends.push((
            listed,
            merged,
            stamps_aside(Snapshot::of(&target)),
            names(&inst),
        ));
    }
    assert!(ends[0].1.nodes.len() > 5000, "a real prefix");
    let (native, sandboxed) = (&ends[0], &ends[1]);
    assert_eq!(native.0.len(), sandboxed.0.len());
    for (i, (a, b)) in native.0.iter().zip(&sandboxed.0).enumerate() {
        assert!(
            a == b,
            "record pkg{i} differs between the native and the sandboxed merge"
        );
    }
    assert!(
        native.1 == sandboxed.1,
        "the sandboxed merges ended elsewhere: {:?}",
        differing(&native.1, &sandboxed.1)
    );
    assert!(
        native.2 == sandboxed.2,
        "the uninstalls ended elsewhere: {:?}",
        differing(&native.2, &sandboxed.2)
    );
    assert_eq!(native.3, sandboxed.3, "records left");
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

/// The first paths whose entries differ between two snapshots.
fn differing(a: &Snapshot, b: &Snapshot) -> Vec<String> {
    let keys: std::collections::BTreeSet<&Vec<u8>> = a.nodes.keys().chain(b.nodes.keys()).collect();
    keys.into_iter()
        .filter(|k| a.nodes.get(*k) != b.nodes.get(*k))
        .take(10)
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect()
}

/// The snapshot with each kept version in the clobber store named by its
/// digest alone: the store names versions by the time they were kept too,
/// which differs from run to run.
fn stamps_aside(mut s: Snapshot) -> Snapshot {
    s.nodes = std::mem::take(&mut s.nodes)
        .into_iter()
        .map(|(k, v)| {
            let parts: Vec<&[u8]> = k.split(|b| *b == b'/').collect();
            if parts.len() == 4 && parts[0] == b".stagemerge" && parts[1] == b"clobbered" {
                let name = parts[3];
                let digest = name
                    .iter()
                    .position(|b| *b == b'-')
                    .map_or(name, |i| &name[i + 1..]);
                let mut key = [parts[0], parts[1], parts[2]].join(&b'/');
                key.push(b'/');
                key.extend_from_slice(digest);
                (key, v)
            } else {
                (k, v)
            }
        })
        .collect();
    s
}

/// One installed prefix, built natively, copied twice: `verify`, `owner`
/// and `uninstall` run on one copy natively and on the other with
/// `--sandbox` print the same bytes on stdout and stderr (text and JSON),
/// exit alike and leave the same trees. Covered: a JSON, a text and a
/// Sage record; a file shared by two packages; a file replaced by another
/// package (its version in the clobber store, restored by the uninstall);
/// a modified file (kept, exit 1); a missing one; a hostile record (exit 2).
#[test]
fn verify_owner_and_uninstall_answer_the_same_in_the_sandbox() {
    let tmp = tempfile::tempdir_in(fast_tmp()).unwrap();
    let base = tmp.path().join("base");
    let put = |rel: &str, content: &str| {
        let p = base.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    };
    put("s/a/lib/ns/__init__.py", "");
    put("s/a/lib/a.py", "a");
    put("s/a/d/f", "a's");
    put("s/b/lib/ns/__init__.py", "");
    put("s/b/lib/b.py", "b");
    put("s/b/d/f", "b's");
    put("s/c/share/c.txt", "c");
    put("s/c/lib/gone.py", "gone");
    std::fs::create_dir_all(base.join("t")).unwrap();
    std::fs::create_dir_all(base.join("inst")).unwrap();
    let in_base = |args: &[&str]| {
        let mut c = command(Prim::Rename);
        c.current_dir(&base).args(args);
        Run::of(c)
    };
    in_base(&[
        "merge",
        "--manifest-dir",
        "inst",
        "--manifest",
        "inst/a",
        "--manifest-format",
        "json",
        "s/a",
        "t",
    ])
    .assert_code(0);
    in_base(&[
        "merge",
        "--manifest-dir",
        "inst",
        "--manifest",
        "inst/b",
        "--manifest-format",
        "text",
        "s/b",
        "t",
    ])
    .assert_code(0);
    in_base(&[
        "merge",
        "--manifest-dir",
        "inst",
        "--sage-record",
        "inst/c-1",
        "--package",
        "c",
        "--package-version",
        "1",
        "s/c",
        "t",
    ])
    .assert_code(0);
    std::fs::write(base.join("t/lib/a.py"), "edited").unwrap();
    std::fs::remove_file(base.join("t/lib/gone.py")).unwrap();
    put(
        "evil",
        r#"{"format": "stagemerge-manifest", "version": 1, "files": [{"path": ".stagemerge/x", "kind": "file"}]}"#,
    );

    let steps: &[&[&str]] = &[
        &["verify", "--manifest", "inst/a", "t"],
        &["verify", "--json", "--manifest", "inst/a", "t"],
        &["verify", "--manifest", "inst/b", "t"],
        &["verify", "--manifest", "inst/c-1", "t"],
        &["verify", "--manifest", "evil", "t"],
        &[
            "owner",
            "--manifest-dir",
            "inst",
            "t",
            "lib/ns/__init__.py",
            "d/f",
            "lib/nobody",
        ],
        &[
            "owner",
            "--json",
            "--manifest-dir",
            "inst",
            "t",
            "lib/ns/__init__.py",
            "d/f",
            "lib/a.py",
        ],
        &[
            "uninstall",
            "--manifest-dir",
            "inst",
            "--manifest",
            "evil",
            "t",
        ],
        &[
            "uninstall",
            "--json",
            "--manifest-dir",
            "inst",
            "--manifest",
            "inst/b",
            "t",
        ],
        &[
            "uninstall",
            "--manifest-dir",
            "inst",
            "--manifest",
            "inst/a",
            "t",
        ],
        &[
            "uninstall",
            "--force",
            "--manifest-dir",
            "inst",
            "--manifest",
            "inst/a",
            "t",
        ],
        &[
            "uninstall",
            "--quiet",
            "--manifest-dir",
            "inst",
            "--manifest",
            "inst/c-1",
            "t",
        ],
    ];
    let copies: Vec<PathBuf> = ["native", "sandbox"]
        .iter()
        .map(|n| {
            let to = tmp.path().join(n);
            sh(std::process::Command::new("cp")
                .arg("-a")
                .arg(&base)
                .arg(&to));
            to
        })
        .collect();
    let mut codes = Vec::new();
    for step in steps {
        let mut runs = Vec::new();
        for (dir, sandbox) in copies.iter().zip([false, true]) {
            let mut c = command(Prim::Rename);
            c.current_dir(dir).arg(step[0]);
            if sandbox {
                c.arg("--sandbox");
            }
            c.args(&step[1..]);
            runs.push((Run::of(c), stamps_aside(Snapshot::of(dir))));
        }
        let (native, sandboxed) = (&runs[0], &runs[1]);
        let what = step.join(" ");
        assert_eq!(native.0.code, sandboxed.0.code, "{what}: exit");
        assert_eq!(native.0.stdout, sandboxed.0.stdout, "{what}: stdout");
        assert_eq!(native.0.stderr, sandboxed.0.stderr, "{what}: stderr");
        assert!(
            native.1 == sandboxed.1,
            "{what}: trees differ: {:?}",
            differing(&native.1, &sandboxed.1)
        );
        codes.push(native.0.code);
    }
    // The steps show what they are meant to: problems, refusals, successes.
    assert_eq!(
        codes,
        [1, 1, 0, 1, 2, 1, 0, 2, 0, 1, 0, 0],
        "exit codes of the steps"
    );
    // Every package is gone, with its record.
    let native = &copies[0];
    for gone in [
        "t/d/f",
        "t/lib/a.py",
        "t/lib/b.py",
        "t/share/c.txt",
        "inst/a",
        "inst/b",
        "inst/c-1",
    ] {
        assert!(!native.join(gone).exists(), "{gone} is left");
    }
}

/// A copy of the stages `wheels` and an empty TARGET, below `tmp/native`
/// or `tmp/sandbox`: (that directory, the stages, TARGET).
fn fresh(tmp: &Path, sandbox: bool, wheels: &[PathBuf]) -> (PathBuf, Vec<PathBuf>, PathBuf) {
    let dir = tmp.join(if sandbox { "sandbox" } else { "native" });
    let staged = farm(wheels, &dir.join("stages"));
    let target = dir.join("target");
    std::fs::create_dir(&target).unwrap();
    (dir, staged, target)
}

/// `stagemerge merge`, with `--sandbox` if asked.
fn merge_command(sandbox: bool) -> std::process::Command {
    let mut c = command(Prim::Rename);
    c.arg("merge");
    if sandbox {
        c.arg("--sandbox");
    }
    c
}
