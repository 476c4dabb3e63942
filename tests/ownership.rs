//! Ownership (issue 13, first part): `stagemerge owner` answers from a
//! directory of records which packages list a path and whose version is
//! visible; uninstall reads the same index.

use std::fs;
use std::path::Path;

use std::process::Command;

use crate::util::corpus::{corpus, sh};
use crate::util::packages::Installed;
use crate::util::{Fixture, Node, Prim, Run, Snapshot, assert_plans_agree_with, node_at};
use serde_json::Value;

/// Merges the fixture's stage (after `stage` wrote it) into TARGET with a
/// record named `name` in `records`, in `format` (text, json) or as a Sage
/// record.
fn install(f: &Fixture, records: &Path, name: &str, format: &str, stage: impl Fn(&Fixture)) {
    stage(f);
    let record = records.join(name);
    let record = record.to_str().unwrap();
    let (pkg, ver) = name.rsplit_once('-').unwrap();
    let args: Vec<&str> = match format {
        "sage" => vec![
            "--sage-record",
            record,
            "--package",
            pkg,
            "--package-version",
            ver,
        ],
        _ => vec!["--manifest", record, "--manifest-format", format],
    };
    f.merge(&args).assert_code(0);
    assert!(
        fs::read_dir(&f.stage).unwrap().next().is_none(),
        "{name}: everything merged"
    );
}

fn owner(f: &Fixture, records: &Path, args: &[&str]) -> Run {
    let mut c = f.command();
    c.arg("owner")
        .arg("--manifest-dir")
        .arg(records)
        .args(args)
        .arg(&f.target);
    c.args(["lib/ns/__init__.py", "lib/a.py", "lib/b.py", "lib/stray"]);
    Run::of(c)
}

/// Three packages share `lib/ns/__init__.py` with different contents: `a`
/// and `b` with JSON records (digests), `c` with a Sage record (none).
fn three_packages(f: &Fixture, records: &Path) {
    install(f, records, "a-1.0", "json", |f| {
        f.file("stage/lib/ns/__init__.py", b"# a");
        f.file("stage/lib/a.py", b"a");
    });
    install(f, records, "b-2.0", "json", |f| {
        f.file("stage/lib/ns/__init__.py", b"# b");
        f.file("stage/lib/b.py", b"b");
    });
    install(f, records, "c-3.0", "sage", |f| {
        f.file("stage/lib/ns/__init__.py", b"# b");
    });
    f.file("target/lib/stray", b"no package");
}

#[test]
fn owner_names_every_record_that_lists_a_path_and_whose_version_is_visible() {
    let f = Fixture::new(Prim::Rename);
    let records = f.dir("installed");
    three_packages(&f, &records);

    let run = owner(&f, &records, &[]);
    // lib/stray is listed by no record: exit 1, as dpkg -S.
    run.assert_code(1);
    assert_eq!(
        run.stdout,
        "lib/ns/__init__.py:\n\
         \x20 a-1.0: another version is visible\n\
         \x20 b-2.0: its version is visible\n\
         \x20 c-3.0: present; the record has no digest to tell whose version\n\
         lib/a.py:\n\
         \x20 a-1.0: its version is visible\n\
         lib/b.py:\n\
         \x20 b-2.0: its version is visible\n\
         lib/stray: listed by no record (unowned; present)\n"
    );

    let run = owner(&f, &records, &["--json"]);
    run.assert_code(1);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["format"], "stagemerge-owner");
    assert_eq!(v["records"], 3);
    let ns = &v["paths"][0];
    assert_eq!(ns["path"], "lib/ns/__init__.py");
    assert_eq!(ns["present"], true);
    assert_eq!(ns["visible"], serde_json::json!(["b-2.0"]));
    let versions: Vec<_> = ns["owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["record"].as_str().unwrap(),
                o["version"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            ("a-1.0", "other"),
            ("b-2.0", "visible"),
            ("c-3.0", "unknown")
        ]
    );
    assert_eq!(v["paths"][3]["owners"], serde_json::json!([]));

    // Every path owned: exit 0; an absolute path below TARGET is the same
    // path.
    let mut c = f.command();
    c.arg("owner")
        .arg("--manifest-dir")
        .arg(&records)
        .arg(&f.target);
    c.arg(f.target.join("lib/a.py"));
    let run = Run::of(c);
    run.assert_code(0);
    assert_eq!(run.stdout, "lib/a.py:\n  a-1.0: its version is visible\n");
}

#[test]
fn owner_refuses_a_broken_record_by_name_and_paths_outside_target() {
    let f = Fixture::new(Prim::Rename);
    let records = f.dir("installed");
    three_packages(&f, &records);
    fs::write(records.join("broken-1.0"), b"{\"files\": 3}").unwrap();
    let run = owner(&f, &records, &[]);
    run.assert_code(2).assert_stderr_has("broken-1.0");
    assert_eq!(run.stdout, "", "no answer from a partial index");
    fs::remove_file(records.join("broken-1.0")).unwrap();

    for bad in ["../x", "/elsewhere/x", "."] {
        let mut c = f.command();
        c.arg("owner")
            .arg("--manifest-dir")
            .arg(&records)
            .arg(&f.target)
            .arg(bad);
        Run::of(c)
            .assert_code(2)
            .assert_stderr_has(bad.trim_start_matches('/'));
    }
}

/// An interrupted install of `d` (its journal, no record yet) owns what
/// the journal lists: `owner` says so, and uninstalling another package
/// keeps the file.
#[test]
fn a_journal_of_an_interrupted_install_counts_as_its_package() {
    let f = Fixture::new(Prim::Rename);
    let records = f.dir("installed");
    three_packages(&f, &records);
    f.file("stage/lib/d.py", b"d");
    let journal = records.join("d-4.0.stagemerge-journal");
    fs::write(
        &journal,
        br#"{"format": "stagemerge-journal", "version": 1, "files": [{"path": "lib/a.py", "kind": "file"}]}"#,
    )
    .unwrap();
    let mut c = f.command();
    c.arg("owner")
        .arg("--manifest-dir")
        .arg(&records)
        .arg(&f.target)
        .arg("lib/a.py");
    let run = Run::of(c);
    run.assert_code(0);
    assert!(
        run.stdout.contains("d-4.0 (install incomplete)"),
        "{}",
        run.stdout
    );

    let mut c = f.command();
    c.args(["uninstall", "--manifest"])
        .arg(records.join("a-1.0"))
        .arg("--manifest-dir")
        .arg(&records)
        .arg(&f.target);
    Run::of(c).assert_code(0);
    assert!(
        f.target.join("lib/a.py").exists(),
        "kept: d's journal lists it"
    );
}

/// The 13 paths Debian's two init systems both ship (sysvinit-core's files
/// and symlinks, systemd-sysv's symlinks to systemctl): Debian keeps them
/// apart with Conflicts/Replaces; a merge that knows the records names the
/// owner of each, `--on-owned fail` leaves all of them, and uninstalling
/// the package that replaced them puts the other's back.
#[test]
fn debian_init_systems_sharing_paths_name_their_owner_and_on_owned_fail_keeps_target() {
    let Some(corpus) = corpus() else { return };
    let f = Fixture::new(Prim::Rename);
    for pkg in ["systemd-sysv", "sysvinit-core"] {
        sh(Command::new("cp")
            .arg("-a")
            .arg(corpus.join("debs-conflicting").join(pkg))
            .arg(f.root()));
    }
    let (systemd, sysv) = (
        f.root().join("systemd-sysv"),
        f.root().join("sysvinit-core"),
    );
    let shared: Vec<String> = Snapshot::of(&systemd)
        .nodes
        .iter()
        .filter(|(p, n)| !matches!(n, Node::Dir { .. }) && node_at(&sysv, p).is_some())
        .map(|(p, _)| String::from_utf8_lossy(p).into_owned())
        .collect();
    assert_eq!(shared.len(), 13, "{shared:?}");
    // Identical content is shared, not a collision.
    let (a, b) = (Snapshot::of(&systemd), Snapshot::of(&sysv));
    let differ: Vec<&String> = shared
        .iter()
        .filter(|p| a.nodes[p.as_bytes()] != b.nodes[p.as_bytes()])
        .collect();
    assert!(differ.len() >= 10, "{differ:?}");
    let n = differ.len();
    let inst = Installed::new(&f.target, &f.root().join("installed"));
    inst.merge("systemd-sysv", &systemd, &[]).assert_code(0);
    let systemd_version = Snapshot::of(&f.target);

    // The plan: each collision with its owner and what each policy does,
    // the same bytes natively and in the sandbox.
    let args = [
        "--manifest-dir",
        inst.records.to_str().unwrap(),
        "--on-owned",
        "fail",
    ];
    let plan = assert_plans_agree_with(&sysv, &f.target, &args);
    plan.assert_code(1);
    assert!(
        plan.stdout.contains(&format!("collisions: {n}\n")),
        "{}",
        plan.stdout
    );
    for p in &differ {
        let line = format!(
            "  {p}: owned by systemd-sysv; --on-owned replace: replace, keep: keep, fail: conflict\n"
        );
        assert!(plan.stdout.contains(&line), "{line:?} in\n{}", plan.stdout);
    }

    // --on-owned fail: nothing of theirs is touched; the rest is merged.
    let run = inst.merge("sysvinit-core", &sysv, &["--on-owned", "fail"]);
    run.assert_code(1);
    for p in &differ {
        let t = f.target.join(p);
        run.assert_stderr_has(&format!(
            "conflict: {} (owned by systemd-sysv) differs from",
            t.display()
        ));
        assert_eq!(
            node_at(&f.target, p.as_bytes()),
            systemd_version.nodes.get(p.as_bytes()).cloned(),
            "{p} unchanged"
        );
        assert!(node_at(&sysv, p.as_bytes()).is_some(), "{p} still staged");
    }
    assert!(
        f.target.join("usr/share/man/man8/init.8.gz").exists(),
        "the rest merged"
    );
    assert!(inst.stored().is_empty(), "nothing replaced, nothing stored");

    // --allow-overwrite exempts the man pages from --on-owned fail: they
    // are replaced (and said so, in JSON too), sbin/ still is not.
    let run = inst.merge(
        "sysvinit-core",
        &sysv,
        &[
            "--on-owned",
            "fail",
            "--allow-overwrite",
            "usr/share/man/",
            "--json",
        ],
    );
    run.assert_code(1);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let man = "usr/share/man/man8/halt.8.gz";
    let replaced = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["path"] == man)
        .unwrap_or_else(|| panic!("{man} replaced: {report:#}"));
    assert_eq!(replaced["kind"], "replaced");
    assert_eq!(replaced["owners"], serde_json::json!(["systemd-sysv"]));
    assert_eq!(replaced["allowed"], true);
    let conflict = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == "sbin/init")
        .unwrap_or_else(|| panic!("sbin/init a conflict: {report:#}"));
    assert_eq!(conflict["owners"], serde_json::json!(["systemd-sysv"]));
    assert_eq!(
        node_at(&f.target, b"sbin/init"),
        systemd_version.nodes.get(&b"sbin/init"[..]).cloned()
    );

    // The default replaces, naming the owner, and keeps each version.
    let run = inst.merge("sysvinit-core", &sysv, &[]);
    run.assert_code(0);
    let t = f.target.join("sbin/init");
    run.assert_stderr_has(&format!(
        "replaced {} (owned by systemd-sysv): the staged version differs",
        t.display()
    ));
    assert_eq!(
        inst.stored().len(),
        n,
        "each of systemd-sysv's versions kept"
    );
    inst.verify("systemd-sysv")
        .assert_code(0)
        .assert_stderr_has(&format!("{n} shadowed"));
    inst.verify("sysvinit-core").assert_code(0);

    // Uninstalling sysvinit-core puts systemd-sysv's symlinks back.
    let run = inst.uninstall("sysvinit-core");
    run.assert_code(0)
        .assert_stderr_has(&format!("{n} restored"));
    for p in &shared {
        assert_eq!(
            node_at(&f.target, p.as_bytes()),
            systemd_version.nodes.get(p.as_bytes()).cloned(),
            "{p} is systemd-sysv's again"
        );
    }
    inst.verify("systemd-sysv").assert_code(0);
    assert!(inst.stored().is_empty(), "the store emptied");
    assert!(!f.target.join("usr/share/man/man8/init.8.gz").exists());
}
