//! Ownership (issue 13, first part): `stagemerge owner` answers from a
//! directory of records which packages list a path and whose version is
//! visible; uninstall reads the same index.

use std::fs;
use std::path::Path;

use crate::util::{Fixture, Prim, Run};
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
