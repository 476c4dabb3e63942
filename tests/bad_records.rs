//! Records are input, not truth (issue 24): a damaged or hostile record is
//! refused whole, naming the record and the entry, before anything is
//! removed or placed; TARGET, the clobber store and the records directory
//! stay as they were.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{Fixture, Prim, Run, Snapshot};

/// `a` and `b` share `d/f` with different contents (JSON records in
/// `inst/`, outside TARGET): `b` merged last, so `a`'s version is kept in
/// the clobber store.
fn two_sharing() -> (Fixture, PathBuf) {
    let f = Fixture::new(Prim::Rename);
    let inst = f.dir("inst");
    for (name, content) in [("a", "a's"), ("b", "b's")] {
        f.file("stage/d/f", content.as_bytes());
        f.file(format!("stage/{name}.txt"), content.as_bytes());
        merge_recorded(&f, &inst, name).assert_code(0);
    }
    assert!(store_has_files(&f.target), "a's version is stored");
    (f, inst)
}

fn merge_recorded(f: &Fixture, inst: &Path, name: &str) -> Run {
    let record = inst.join(name);
    f.merge(&[
        "--manifest",
        record.to_str().unwrap(),
        "--manifest-format",
        "json",
        "--manifest-dir",
        inst.to_str().unwrap(),
    ])
}

/// Package `p` (`lib/p.py`) merged with a JSON record in the records
/// directory `inst` (relative to the fixture's root).
fn one_package(inst: &str) -> (Fixture, PathBuf) {
    let f = Fixture::new(Prim::Rename);
    let inst = f.dir(inst);
    f.file("stage/lib/p.py", b"p");
    merge_recorded(&f, &inst, "p").assert_code(0);
    (f, inst)
}

fn store_has_files(target: &Path) -> bool {
    Snapshot::of(&target.join(".stagemerge"))
        .nodes
        .values()
        .any(|n| matches!(n, crate::util::Node::File { .. }))
}

fn stagemerge(args: &[&std::ffi::OsStr]) -> Run {
    let mut c = crate::util::command(Prim::Rename);
    c.args(args);
    Run::of(c)
}

fn uninstall(f: &Fixture, record: &Path, dir: Option<&Path>) -> Run {
    let mut c = f.command();
    c.arg("uninstall").arg("--manifest").arg(record);
    if let Some(d) = dir {
        c.arg("--manifest-dir").arg(d);
    }
    c.arg(&f.target);
    Run::of(c)
}

fn verify(f: &Fixture, record: &Path) -> Run {
    let mut c = f.command();
    c.arg("verify").arg("--manifest").arg(record).arg(&f.target);
    Run::of(c)
}

/// A JSON manifest listing `paths` as plain entries.
fn manifest(paths: &[&str]) -> String {
    let files: Vec<String> = paths
        .iter()
        .map(|p| {
            format!(
                r#"{{"path": {}, "kind": "file"}}"#,
                serde_json::to_string(p).unwrap()
            )
        })
        .collect();
    format!(
        r#"{{"format": "stagemerge-manifest", "version": 1, "files": [{}]}}"#,
        files.join(", ")
    )
}

/// Runs `run` and checks that it was refused with exit 2 naming `record`
/// and saying `says`, and that TARGET and `inst` did not change.
#[track_caller]
fn refused_changing_nothing(
    f: &Fixture,
    inst: &Path,
    record: &Path,
    says: &str,
    run: impl FnOnce() -> Run,
) {
    let (target, records) = (Snapshot::of(&f.target), Snapshot::of(inst));
    let r = run();
    r.assert_code(2)
        .assert_stderr_has(&record.display().to_string())
        .assert_stderr_has(says);
    assert_eq!(Snapshot::of(&f.target), target, "TARGET unchanged");
    assert_eq!(Snapshot::of(inst), records, "records unchanged");
}

#[test]
fn a_record_listing_the_clobber_store_is_refused_and_the_store_survives() {
    let (f, inst) = two_sharing();
    let evil = f.file("evil", b"");
    let stored: Vec<String> = Snapshot::of(&f.target.join(".stagemerge"))
        .paths()
        .into_iter()
        .map(|p| format!(".stagemerge/{p}"))
        .collect();
    let listed: Vec<&str> = stored.iter().map(String::as_str).collect();
    fs::write(&evil, manifest(&listed)).unwrap();
    refused_changing_nothing(&f, &inst, &evil, "clobber store", || {
        uninstall(&f, &evil, Some(&inst))
    });
    // Spelled another way: the case of a case-insensitive filesystem.
    fs::write(&evil, manifest(&[".STAGEMERGE/x"])).unwrap();
    refused_changing_nothing(&f, &inst, &evil, "files[0]", || {
        uninstall(&f, &evil, Some(&inst))
    });
    // The store still does its job: uninstalling b puts a's version back.
    uninstall(&f, &inst.join("b"), Some(&inst)).assert_code(0);
    assert_eq!(fs::read(f.target.join("d/f")).unwrap(), b"a's");
}

#[test]
fn a_path_reaching_the_store_through_a_symlink_is_refused_not_removed() {
    let (f, inst) = two_sharing();
    std::os::unix::fs::symlink(".stagemerge", f.target.join("lnk")).unwrap();
    let stored = Snapshot::of(&f.target.join(".stagemerge"));
    let evil = f.file("evil", b"");
    let listed: Vec<String> = stored
        .nodes
        .iter()
        .filter(|(_, n)| matches!(n, crate::util::Node::File { .. }))
        .map(|(p, _)| format!("lnk/{}", String::from_utf8_lossy(p)))
        .collect();
    assert!(!listed.is_empty());
    fs::write(
        &evil,
        manifest(&listed.iter().map(String::as_str).collect::<Vec<_>>()),
    )
    .unwrap();
    let run = uninstall(&f, &evil, Some(&inst));
    run.assert_code(1).assert_stderr_has("clobber store");
    assert_eq!(
        Snapshot::of(&f.target.join(".stagemerge")),
        stored,
        "store intact"
    );
    assert!(evil.exists(), "a record with refusals is kept");
}

#[test]
fn a_record_listing_another_record_in_the_records_dir_is_refused() {
    let (f, inst) = one_package("target/var/lib/installed");
    let evil = f.file("evil", manifest(&["var/lib/installed/p"]).as_bytes());
    refused_changing_nothing(&f, &inst, &evil, "directory of records", || {
        uninstall(&f, &evil, Some(&inst))
    });
    assert!(inst.join("p").exists());
}

#[test]
fn a_name_sages_record_cannot_hold_is_left_out_and_never_stands_for_another() {
    let f = Fixture::new(Prim::Rename);
    let bad = Path::new(std::ffi::OsStr::from_bytes(b"n/a\xffb"));
    fs::create_dir_all(f.stage.join("n")).unwrap();
    fs::write(f.stage.join(bad), b"package's").unwrap();
    f.file("target/n/a\u{FFFD}b", b"unrelated");
    let rec = f.root().join("rec");
    f.merge(&[
        "--sage-record",
        rec.to_str().unwrap(),
        "--package",
        "p",
        "--package-version",
        "1",
    ])
    .assert_code(0)
    .assert_stderr_has("left out of Sage's record");
    let listed: serde_json::Value = serde_json::from_slice(&fs::read(&rec).unwrap()).unwrap();
    assert_eq!(
        listed["files"],
        serde_json::json!([]),
        "no name stands for another"
    );
    uninstall(&f, &rec, None).assert_code(0);
    assert_eq!(
        fs::read(f.target.join("n/a\u{FFFD}b")).unwrap(),
        b"unrelated"
    );
}

#[test]
fn malformed_fields_are_errors_not_a_check_turned_off() {
    let f = Fixture::new(Prim::Rename);
    let inst = f.dir("inst");
    f.file("stage/lib/x", b"12345");
    merge_recorded(&f, &inst, "p").assert_code(0);
    fs::write(f.target.join("lib/x"), b"edited").unwrap();
    let good = fs::read_to_string(inst.join("p")).unwrap();
    for (from, to, says) in [
        (r#""size": 5"#, r#""size": "5""#, "invalid type"),
        (r#""size": 5"#, r#""size": -1"#, "invalid value"),
        (
            r#""version": 1"#,
            r#""version": 99"#,
            "unknown \"version\" 99",
        ),
        (r#""version": 1"#, r#""version": "1""#, "invalid type"),
        (
            r#""path": "lib/x""#,
            r#""path": "lib/x", "path_hex": "6c69622f78""#,
            "both",
        ),
    ] {
        assert!(good.contains(from), "{good}");
        fs::write(inst.join("p"), good.replace(from, to)).unwrap();
        let rec = inst.join("p");
        refused_changing_nothing(&f, &inst, &rec, says, || verify(&f, &rec));
        refused_changing_nothing(&f, &inst, &rec, says, || uninstall(&f, &rec, None));
    }
    let sha = good
        .split("\"sha256\": ")
        .nth(1)
        .unwrap()
        .split(['}', ','])
        .next()
        .unwrap();
    fs::write(inst.join("p"), good.replace(sha, "0")).unwrap();
    let rec = inst.join("p");
    refused_changing_nothing(&f, &inst, &rec, "invalid type", || {
        uninstall(&f, &rec, None)
    });
    // With the record mended, the modified file is kept, not removed.
    fs::write(inst.join("p"), &good).unwrap();
    uninstall(&f, &inst.join("p"), None).assert_code(1);
    assert_eq!(fs::read(f.target.join("lib/x")).unwrap(), b"edited");
}

/// Runs the binary with `args`, killing it after 20 s: a reader that
/// blocks or grows without bound fails the test instead of hanging it.
fn bounded(args: &[&std::ffi::OsStr]) -> (Run, Duration) {
    let mut c = crate::util::command(Prim::Rename);
    c.args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let t0 = Instant::now();
    let mut child = c.spawn().unwrap();
    let deadline = t0 + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("stagemerge {args:?} still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    (
        Run::from_output(child.wait_with_output().unwrap()),
        t0.elapsed(),
    )
}

#[test]
fn records_that_never_end_are_refused_at_once() {
    let f = Fixture::new(Prim::Rename);
    let fifo = f.root().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let zero = f.root().join("zero");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    // A 1 GiB text record of one line (sparse: it costs no disk).
    let huge = f.root().join("huge");
    let file = fs::File::create(&huge).unwrap();
    file.set_len(1 << 30).unwrap();
    drop(file);
    for (record, says) in [
        (&fifo, "not a regular file (a fifo)"),
        (&zero, "not a regular file (a character device)"),
        (&huge, "over the limit"),
    ] {
        for cmd in ["verify", "uninstall"] {
            let (run, _) = bounded(&[
                cmd.as_ref(),
                "--manifest".as_ref(),
                record.as_os_str(),
                f.target.as_os_str(),
            ]);
            run.assert_code(2).assert_stderr_has(says);
            assert!(
                run.stderr.len() < 2000,
                "a short message: {} bytes",
                run.stderr.len()
            );
        }
    }
    // A long path inside a record under the limit: refused, its name cut.
    let long = f.file("long", format!("{}\n", "a".repeat(1 << 20)).as_bytes());
    let (run, _) = bounded(&[
        "verify".as_ref(),
        "--manifest".as_ref(),
        long.as_os_str(),
        f.target.as_os_str(),
    ]);
    run.assert_code(2).assert_stderr_has("line 1");
    assert!(
        run.stderr.len() < 2000,
        "{} bytes of stderr",
        run.stderr.len()
    );
}

#[test]
fn every_entry_of_a_records_dir_is_a_record_or_an_error_naming_it() {
    let (f, inst) = one_package("inst");
    let elsewhere = f.file("elsewhere/q", manifest(&["lib/q.py"]).as_bytes());
    let fifo = inst.join("fifo");
    let sub = inst.join("sub");
    let link = inst.join("link");
    for (entry, says) in [
        (&fifo, "not a regular file"),
        (&sub, "a directory"),
        (&link, "a symlink"),
    ] {
        if entry == &fifo {
            assert!(
                Command::new("mkfifo")
                    .arg(&fifo)
                    .status()
                    .unwrap()
                    .success()
            );
        } else if entry == &sub {
            fs::create_dir(&sub).unwrap();
        } else {
            std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        }
        f.file("stage/lib/r.py", b"r");
        let stage = Snapshot::of(&f.stage);
        refused_changing_nothing(&f, &inst, entry, says, || merge_recorded(&f, &inst, "r"));
        assert_eq!(Snapshot::of(&f.stage), stage, "STAGE unchanged");
        refused_changing_nothing(&f, &inst, entry, says, || {
            uninstall(&f, &inst.join("p"), Some(&inst))
        });
        let mut c = f.command();
        c.arg("owner")
            .arg("--manifest-dir")
            .arg(&inst)
            .arg(&f.target)
            .arg("lib/p.py");
        Run::of(c)
            .assert_code(2)
            .assert_stderr_has(&entry.display().to_string());
        fs::remove_file(entry)
            .or_else(|_| fs::remove_dir(entry))
            .unwrap();
        fs::remove_dir_all(f.stage.join("lib")).unwrap();
    }
}

#[test]
fn a_record_inside_stage_or_where_stage_places_is_refused_before_anything_moves() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/d/f", b"f");
    f.file("stage/var/lib/x/rec", b"the package's own file");
    let stage = Snapshot::of(&f.stage);
    let inside = f.stage.join("rec");
    let placed = f.target.join("var/lib/x/rec");
    fs::create_dir_all(placed.parent().unwrap()).unwrap();
    for (record, says) in [(&inside, "inside STAGE"), (&placed, "where STAGE")] {
        let target = Snapshot::of(&f.target);
        f.merge(&["--manifest", record.to_str().unwrap()])
            .assert_code(2)
            .assert_stderr_has(&record.display().to_string())
            .assert_stderr_has(says);
        assert_eq!(Snapshot::of(&f.stage), stage, "STAGE unchanged");
        assert_eq!(Snapshot::of(&f.target), target, "TARGET unchanged");
    }
    // The records dir too.
    f.merge(&["--manifest-dir", f.stage.join("d").to_str().unwrap()])
        .assert_code(2)
        .assert_stderr_has("inside STAGE");
    assert_eq!(Snapshot::of(&f.stage), stage);
}

#[test]
fn owner_refuses_a_path_through_a_symlink_out_of_target_as_uninstall_does() {
    let f = Fixture::new(Prim::Rename);
    let inst = f.dir("inst");
    f.file("outside/f", b"outside");
    std::os::unix::fs::symlink(f.root().join("outside"), f.target.join("lib")).unwrap();
    fs::write(inst.join("p"), "lib/f\n").unwrap();
    let mut c = f.command();
    c.arg("owner")
        .arg("--manifest-dir")
        .arg(&inst)
        .arg(&f.target)
        .arg("lib/f");
    Run::of(c).assert_code(2).assert_stderr_has("refused");
    uninstall(&f, &inst.join("p"), None).assert_code(1);
    assert!(f.root().join("outside/f").exists());
}

#[test]
fn a_nul_in_a_recorded_path_is_refused_by_every_command() {
    let f = Fixture::new(Prim::Rename);
    let inst = f.dir("inst");
    let rec = f.file("inst/p", br#"{"files": ["lib/a\u0000b"]}"#);
    f.file("stage/lib/x", b"x");
    refused_changing_nothing(&f, &inst, &rec, "NUL", || merge_recorded(&f, &inst, "q"));
    refused_changing_nothing(&f, &inst, &rec, "NUL", || uninstall(&f, &rec, None));
    refused_changing_nothing(&f, &inst, &rec, "NUL", || verify(&f, &rec));
}

#[test]
fn patterns_with_dotdot_are_refused_like_absolute_ones() {
    let f = Fixture::new(Prim::Rename);
    let inst = f.dir("inst");
    f.file("stage/x", b"x");
    for arg in [
        "--protect=../etc",
        "--protect=../x/*",
        "--allow-overwrite=../*",
        "--protect=/etc",
    ] {
        f.merge(&[arg, "--manifest-dir", inst.to_str().unwrap()])
            .assert_code(2)
            .assert_stderr_has("relative to TARGET");
        assert!(f.stage.join("x").exists());
    }
}

#[test]
fn a_journal_given_as_the_record_is_refused() {
    let f = Fixture::new(Prim::Rename);
    let j = f.file(
        "j",
        br#"{"format": "stagemerge-journal", "version": 1, "files": []}"#,
    );
    let run = stagemerge(&[
        "verify".as_ref(),
        "--manifest".as_ref(),
        j.as_os_str(),
        f.target.as_os_str(),
    ]);
    run.assert_code(2)
        .assert_stderr_has("a journal of a merge, not a record");
}

/// Hostile or damaged paths a mutated record may list.
const HOSTILE: &[&str] = &[
    ".stagemerge",
    ".stagemerge/v",
    "lnk/x",
    "inst/a",
    "../outside/f",
    "/etc/hostname",
    "b.txt",
    "d/f",
    "d",
    "",
    "d//f",
    "d/./f",
    "d/../b.txt",
    "outside/f",
];

/// One round: `a` and `b` installed (sharing `d/f`, `a`'s version stored),
/// a symlink `lnk` to the store, the records inside TARGET; then
/// `uninstall` of a's record mutated at `seed`. Whatever the reader
/// accepts, the uninstall removes only paths the record lists, never the
/// store's versions of paths it does not list, never a record, nothing
/// outside TARGET.
fn uninstall_mutated(seed: u64) -> Result<bool, String> {
    let mut rng = crate::util::Rng::new(seed);
    let f = Fixture::new_fast(Prim::Rename);
    let inst = f.dir("target/inst");
    f.file("outside/f", b"outside");
    for (name, content) in [("a", "a's"), ("b", "b's")] {
        f.file("stage/d/f", content.as_bytes());
        f.file(format!("stage/{name}.txt"), content.as_bytes());
        merge_recorded(&f, &inst, name).assert_code(0);
    }
    std::os::unix::fs::symlink(".stagemerge", f.target.join("lnk")).unwrap();
    let good = fs::read_to_string(inst.join("a")).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&good).unwrap();
    let files = doc["files"].as_array_mut().unwrap();
    for _ in 0..1 + rng.below(3) {
        let i = rng.below(files.len());
        match rng.below(4) {
            0 | 1 => files[i]["path"] = HOSTILE[rng.below(HOSTILE.len())].into(),
            2 => {
                let mut e = files[i].clone();
                e["path"] = HOSTILE[rng.below(HOSTILE.len())].into();
                files.push(e);
            }
            _ => {
                let keys = ["size", "sha256", "mode", "kind", "state"];
                let k = keys[rng.below(keys.len())];
                let v = [
                    serde_json::json!("5"),
                    serde_json::json!(-1),
                    serde_json::json!(null),
                    serde_json::json!("lost"),
                ];
                files[i][k] = v[rng.below(v.len())].clone();
            }
        }
    }
    let mut bytes = serde_json::to_vec(&doc).unwrap();
    if rng.below(4) == 0 && !bytes.is_empty() {
        let i = rng.below(bytes.len());
        bytes[i] = rng.below(256) as u8;
    }
    let record = inst.join("a");
    fs::write(&record, &bytes).unwrap();
    // What the record lists, as JSON reads it (a record the reader refuses
    // must change nothing at all).
    let listed: Vec<String> = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["files"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e["path"].as_str().map(String::from))
        .collect();
    let before = Snapshot::of(f.root());
    let run = uninstall(&f, &record, Some(&inst));
    let after = Snapshot::of(f.root());
    let fail = |what: String| {
        Err(format!(
            "{what}\nrecord: {}\n{}",
            String::from_utf8_lossy(&bytes),
            run.stderr
        ))
    };
    if run.code == 2 {
        if after != before {
            return fail("refused, yet something changed".into());
        }
        return Ok(false);
    }
    for (path, node) in &before.nodes {
        if after.nodes.contains_key(path) || matches!(node, crate::util::Node::Dir { .. }) {
            continue;
        }
        let p = String::from_utf8_lossy(path).into_owned();
        let Some(rel) = p.strip_prefix("target/") else {
            return fail(format!("{p} outside TARGET was removed"));
        };
        if rel == "inst/a" {
            continue;
        }
        if rel.starts_with("inst/") {
            return fail(format!("record {rel} was removed"));
        }
        if rel.starts_with(".stagemerge/") {
            // The stored version of a listed path may go with it.
            if listed.iter().any(|l| l == "d/f") {
                continue;
            }
            return fail(format!("the store's {rel} was removed"));
        }
        if !listed.iter().any(|l| l == rel) {
            return fail(format!(
                "{rel}, which the record does not list, was removed"
            ));
        }
    }
    Ok(true)
}

#[test]
fn an_uninstall_of_any_mutated_record_removes_only_what_it_validly_lists() {
    let rounds = if crate::util::soak() { 2000 } else { 150 };
    let base: u64 = std::env::var("STAGEMERGE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0024);
    let mut accepted = 0;
    for round in 0..rounds {
        let seed = base + round;
        match uninstall_mutated(seed) {
            Ok(a) => accepted += usize::from(a),
            Err(e) => panic!("round {round} failed (rerun with STAGEMERGE_SEED={seed}): {e}"),
        }
    }
    eprintln!("{accepted} of {rounds} mutated records accepted, the rest refused");
    // Both sides of the reader are exercised.
    assert!(accepted > rounds as usize / 10 && accepted < rounds as usize * 9 / 10);
}

/// The sandbox reads records with the same core: a hostile record in the
/// directory of records, a stray entry there, and a broken record at the
/// merge's own path are refused by `merge --sandbox` with the message the
/// native merge prints (exit 2), and nothing moves or changes.
#[test]
fn a_sandboxed_merge_refuses_bad_records_as_the_native_one_does() {
    let (f, inst) = one_package("inst");
    f.file("stage/lib/r.py", b"r");
    let own = inst.join("r");
    // What is wrong, how to make it so, and how to undo it.
    type Case<'a> = (&'a str, Box<dyn Fn() + 'a>, Box<dyn Fn() + 'a>);
    let cases: [Case<'_>; 4] = [
        (
            "clobber store",
            Box::new(|| fs::write(inst.join("evil"), manifest(&[".stagemerge/x"])).unwrap()),
            Box::new(|| fs::remove_file(inst.join("evil")).unwrap()),
        ),
        (
            "a symlink",
            Box::new(|| std::os::unix::fs::symlink(inst.join("p"), inst.join("link")).unwrap()),
            Box::new(|| fs::remove_file(inst.join("link")).unwrap()),
        ),
        (
            "a directory",
            Box::new(|| fs::create_dir(inst.join("sub")).unwrap()),
            Box::new(|| fs::remove_dir(inst.join("sub")).unwrap()),
        ),
        (
            "files[0]",
            Box::new(|| {
                let bad = manifest(&["lib/r.py"])
                    .replace(r#""kind": "file""#, r#""kind": "file", "size": "5""#);
                fs::write(&own, bad).unwrap()
            }),
            Box::new(|| fs::remove_file(&own).unwrap()),
        ),
    ];
    for (says, make, undo) in cases {
        make();
        let before = (
            Snapshot::of(&f.stage),
            Snapshot::of(&f.target),
            Snapshot::of(&inst),
        );
        let mut outputs = Vec::new();
        for sandbox in [false, true] {
            let mut c = f.command();
            c.arg("merge");
            if sandbox {
                c.arg("--sandbox");
            }
            c.arg("--manifest")
                .arg(&own)
                .args(["--manifest-format", "json", "--manifest-dir"])
                .arg(&inst)
                .arg(&f.stage)
                .arg(&f.target);
            let run = Run::of(c);
            run.assert_code(2).assert_stderr_has(says);
            let after = (
                Snapshot::of(&f.stage),
                Snapshot::of(&f.target),
                Snapshot::of(&inst),
            );
            assert!(
                after == before,
                "{says}: nothing moves or changes (sandbox: {sandbox})"
            );
            outputs.push(run.stderr);
        }
        assert_eq!(
            outputs[0], outputs[1],
            "{says}: the same message natively and sandboxed"
        );
        undo();
    }
    // And with the records whole, the sandboxed merge writes its record.
    let mut c = f.command();
    c.args(["merge", "--sandbox", "--manifest"])
        .arg(&own)
        .args(["--manifest-format", "json", "--manifest-dir"])
        .arg(&inst)
        .arg(&f.stage)
        .arg(&f.target);
    Run::of(c).assert_code(0);
    let record = fs::read_to_string(&own).unwrap();
    assert!(
        record.contains(r#""path": "lib/r.py""#) && record.contains("sha256"),
        "{record}"
    );
}
