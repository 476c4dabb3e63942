//! Installation records: manifests (text, JSON), Sage's record, uninstall
//! that keeps shared files, verify, and the flock lock Sage's tools share.

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Fixture, Prim, Run, Snapshot, set_mode};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Runs `stagemerge ARGS...`.
fn sm(f: &Fixture, args: &[&OsStr]) -> Run {
    let mut c = f.command();
    c.args(args);
    Run::of(c)
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// What Sage computes today: `cd STAGE && find . -type f -o -type l | sed 's|^\./||' | sort`
/// (in the C locale, i.e. by bytes).
fn sage_file_list(stage: &Path) -> Vec<u8> {
    let out = Command::new("sh")
        .arg("-c")
        .arg("find . -type f -o -type l | sed 's|^\\./||' | LC_ALL=C sort")
        .current_dir(stage)
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

/// A package with a bit of everything: a directory moved whole, files into
/// existing directories, a symlink, an identical file, a replaced one.
fn typical_package(f: &Fixture) {
    f.file("stage/lib/python3/site-packages/pkg/__init__.py", b"init");
    f.file("stage/lib/python3/site-packages/pkg/sub/mod.py", b"mod");
    f.file("stage/lib/libpkg.so.1.0", b"elf");
    f.symlink("libpkg.so.1.0", "stage/lib/libpkg.so.1");
    f.file("stage/share/doc/common.txt", b"same");
    f.file("stage/bin/pkg", b"new tool");
    f.file("target/lib/libother.so", b"other package");
    f.file("target/share/doc/common.txt", b"same");
    f.file("target/bin/pkg", b"old tool");
}

#[test]
fn text_manifest_equals_what_sage_computes_on_the_stage() {
    for prim in crate::util::BOTH {
        let f = Fixture::new(prim);
        typical_package(&f);
        let want = sage_file_list(&f.stage);
        let manifest = f.root().join("pkg.txt");
        f.merge(&["--manifest", manifest.to_str().unwrap()])
            .assert_code(0);
        assert_eq!(
            String::from_utf8_lossy(&fs::read(&manifest).unwrap()),
            String::from_utf8_lossy(&want),
            "{prim:?}"
        );
        // Written atomically: no temporary file left beside it.
        let names: Vec<_> = fs::read_dir(f.root())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            !names
                .iter()
                .any(|n| n.to_string_lossy().starts_with(".stagemerge")),
            "{names:?}"
        );
    }
}

/// A path kept with `--on-conflict keep` is still the package's (it staged
/// it and needs it), so the record lists it; a true conflict stays in STAGE
/// and is not listed.
#[test]
fn manifest_lists_kept_paths_and_leaves_out_conflicts() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/etc/kept.conf", b"package default");
    f.file("target/etc/kept.conf", b"user edited");
    f.file("stage/share/conflict", b"file over dir");
    f.file("target/share/conflict/x", b"dir");
    f.file("stage/share/ok", b"ok");
    let manifest = f.root().join("m.txt");
    f.merge(&[
        "--on-conflict",
        "keep",
        "--manifest",
        manifest.to_str().unwrap(),
    ])
    .assert_code(1);
    assert_eq!(
        fs::read_to_string(&manifest).unwrap(),
        "etc/kept.conf\nshare/ok\n"
    );
}

fn hex_sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn json_manifest_has_size_mode_sha256_link_text_and_lossless_names() {
    let f = Fixture::new(Prim::Rename);
    let tool = f.file("stage/bin/tool", b"#!/bin/sh\necho hi\n");
    set_mode(&tool, 0o755);
    f.symlink("tool", "stage/bin/alias");
    f.file(
        Path::new("stage/share").join(OsStr::from_bytes(b"caf\xe9")),
        b"latin1",
    );
    f.file("stage/share/two\nlines", b"newline");
    let manifest = f.root().join("m.json");
    f.merge(&[
        "--manifest",
        manifest.to_str().unwrap(),
        "--manifest-format",
        "json",
    ])
    .assert_code(0);
    let doc: Value = serde_json::from_slice(&fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(doc["format"], "stagemerge-manifest");
    assert_eq!(doc["version"], 1);
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 4);
    let alias = &files[0];
    assert_eq!(alias["path"], "bin/alias");
    assert_eq!(alias["kind"], "symlink");
    assert_eq!(alias["target"], "tool");
    let tool = &files[1];
    assert_eq!(tool["path"], "bin/tool");
    assert_eq!(tool["kind"], "file");
    assert_eq!(tool["size"], 18);
    assert_eq!(tool["mode"], "0755");
    assert_eq!(tool["sha256"], hex_sha256(b"#!/bin/sh\necho hi\n"));
    assert_eq!(files[2]["path_hex"], hex_encode(b"share/caf\xe9"));
    assert!(files[2].get("path").is_none());
    assert_eq!(files[3]["path"], "share/two\nlines");
    // Read back, it names every file: verify finds them all.
    sm(
        &f,
        &[
            os("verify"),
            os("--manifest"),
            manifest.as_os_str(),
            f.target.as_os_str(),
        ],
    )
    .assert_code(0)
    .assert_stderr_has("4 files checked: 4 by size, mode and SHA-256; 0 problems");
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn text_manifest_leaves_out_a_name_with_a_newline_and_says_so() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/share/two\nlines", b"x");
    f.file("stage/share/fine", b"y");
    let manifest = f.root().join("m.txt");
    f.merge(&["--manifest", manifest.to_str().unwrap()])
        .assert_code(0)
        .assert_stderr_has("has a newline in its name")
        .assert_stderr_has("--manifest-format json");
    assert_eq!(fs::read_to_string(&manifest).unwrap(), "share/fine\n");
}

#[test]
fn sage_record_is_valid_json_for_names_with_spaces_quotes_and_backslashes() {
    let f = Fixture::new(Prim::Rename);
    let names = [
        "share/doc/my file.txt",
        "share/doc/say \"hi\".txt",
        "share/doc/back\\slash",
        "share/doc/tab\there",
    ];
    for n in names {
        f.file(Path::new("stage").join(n), b"x");
    }
    let record = f.root().join("pkg-1.0");
    let r = sm(
        &f,
        &[
            os("merge"),
            os("--sage-record"),
            record.as_os_str(),
            os("--package"),
            os("pkg"),
            os("--package-version"),
            os("1.0"),
            os("--sage-version"),
            os("10.8"),
            os("--test-result"),
            os("passed"),
            f.stage.as_os_str(),
            f.target.as_os_str(),
        ],
    );
    r.assert_code(0);
    // Python's json module reads it, as Sage's tools do.
    let out = Command::new("python3")
        .arg("-c")
        .arg("import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps([d['package_name'], d['package_version'], d['sage_version'], d['test_result'], d['files']]))")
        .arg(&record)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut want_files: Vec<&str> = names.to_vec();
    want_files.sort();
    assert_eq!(
        got,
        serde_json::json!(["pkg", "1.0", "10.8", "passed", want_files])
    );
    let doc: Value = serde_json::from_slice(&fs::read(&record).unwrap()).unwrap();
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "package_name",
            "package_version",
            "install_date",
            "system_uname",
            "sage_version",
            "test_result",
            "files"
        ]
    );
    assert!(
        doc["system_uname"]
            .as_str()
            .unwrap()
            .contains(std::env::consts::ARCH)
    );
}

/// Merges the fixture's stage with a record in `format` written to `path`.
fn merge_recorded(f: &Fixture, path: &Path, format: &str) {
    let p = path.as_os_str();
    let args: Vec<&OsStr> = match format {
        "sage" => vec![
            os("merge"),
            os("--sage-record"),
            p,
            os("--package"),
            os("pkg"),
            os("--package-version"),
            os("1"),
        ],
        _ => vec![
            os("merge"),
            os("--manifest"),
            p,
            os("--manifest-format"),
            os(format),
        ],
    };
    let mut all = args;
    all.push(f.stage.as_os_str());
    all.push(f.target.as_os_str());
    sm(f, &all).assert_code(0);
}

#[test]
fn merge_then_uninstall_leaves_target_as_it_was() {
    merge_then_uninstall(Prim::Rename);
}

/// Each record format: a merge then its uninstall leave TARGET as it was.
/// Under Wine the package's `libpkg.so.1` is a file, not a symlink (Wine
/// shows no symlinks: `windows.rs`).
pub(crate) fn merge_then_uninstall(prim: Prim) {
    for format in ["text", "json", "sage"] {
        let f = Fixture::new(prim);
        f.file("target/lib/libother.so", b"other package");
        f.file("target/share/doc/other/README", b"other");
        f.file("stage/lib/libpkg.so.1.0", b"elf");
        match prim {
            Prim::Wine => f.file("stage/lib/libpkg.so.1", b"elf"),
            _ => f.symlink("libpkg.so.1.0", "stage/lib/libpkg.so.1"),
        };
        f.file("stage/lib/python3/site-packages/pkg/sub/mod.py", b"mod");
        f.file("stage/share/doc/pkg/README", b"readme");
        let before = Snapshot::of(&f.target);
        let record = f.root().join("record");
        merge_recorded(&f, &record, format);
        assert_ne!(Snapshot::of(&f.target), before);
        sm(
            &f,
            &[
                os("uninstall"),
                os("--manifest"),
                record.as_os_str(),
                f.target.as_os_str(),
            ],
        )
        .assert_code(0)
        .assert_stderr_has("4 removed");
        assert_eq!(
            Snapshot::of(&f.target),
            before,
            "{format}: TARGET as before"
        );
    }
}

/// The `backports/__init__.py` case: two packages share a namespace file;
/// uninstalling one keeps it for the other; uninstalling both removes all.
#[test]
fn shared_namespace_file_stays_until_the_last_package_goes() {
    shared_namespace_file_stays(Prim::Rename);
}

/// [`shared_namespace_file_stays_until_the_last_package_goes`] with the
/// binary `prim` selects.
pub(crate) fn shared_namespace_file_stays(prim: Prim) {
    let f = Fixture::new(prim);
    let installed = f.dir("target/var/lib/sage/installed");
    let before = Snapshot::of(&f.target);
    let site = "lib/python3/site-packages";
    let mut records = Vec::new();
    for pkg in ["tarfile", "functools_lru_cache"] {
        f.file(
            format!("stage/{site}/backports/__init__.py"),
            b"__path__ = []\n",
        );
        f.file(
            format!("stage/{site}/backports/{pkg}/__init__.py"),
            pkg.as_bytes(),
        );
        let record = installed.join(format!("backports.{pkg}-1.0"));
        merge_recorded(&f, &record, "sage");
        records.push(record);
    }
    let shared = f.target.join(format!("{site}/backports/__init__.py"));
    let uninstall = |record: &Path| {
        sm(
            &f,
            &[
                os("uninstall"),
                os("--manifest"),
                record.as_os_str(),
                os("--manifest-dir"),
                installed.as_os_str(),
                f.target.as_os_str(),
            ],
        )
    };
    uninstall(&records[0])
        .assert_code(0)
        .assert_stderr_has(&format!(
            "kept {}: another installed package lists it too",
            shared.display()
        ));
    assert!(shared.exists());
    assert!(
        !f.target.join(format!("{site}/backports/tarfile")).exists(),
        "pruned"
    );
    assert!(
        f.target
            .join(format!("{site}/backports/functools_lru_cache/__init__.py"))
            .exists()
    );
    assert!(!records[0].exists(), "the uninstall removed its record");
    uninstall(&records[1])
        .assert_code(0)
        .assert_stderr_has("2 removed");
    assert!(!records[1].exists(), "the uninstall removed its record");
    assert_eq!(Snapshot::of(&f.target), before);
}

#[test]
fn uninstall_removes_through_an_alias_and_never_leaves_target() {
    let f = Fixture::new(Prim::Rename);
    let canary = f.dir("canary");
    f.file("canary/victim", b"must survive");
    f.file("target/lib/keep", b"k");
    f.symlink("lib", "target/lib64");
    f.symlink(&canary, "target/escape");
    f.file("target/lib/libx.so", b"x");
    // Paths that leave TARGET as spelled make the whole record invalid
    // (issue 24): nothing is removed.
    for bad in ["../canary/victim", "/etc/hostname"] {
        let manifest = f.file("bad.txt", format!("lib64/libx.so\n{bad}\n").as_bytes());
        sm(
            &f,
            &[
                os("uninstall"),
                os("--manifest"),
                manifest.as_os_str(),
                f.target.as_os_str(),
            ],
        )
        .assert_code(2)
        .assert_stderr_has("line 2");
        assert!(f.target.join("lib/libx.so").exists());
    }
    // One that leaves through a symlink is refused alone.
    let manifest = f.file("m.txt", b"lib64/libx.so\nescape/victim\n");
    sm(
        &f,
        &[
            os("uninstall"),
            os("--manifest"),
            manifest.as_os_str(),
            f.target.as_os_str(),
        ],
    )
    .assert_code(1)
    .assert_stderr_has("refused")
    .assert_stderr_has("1 removed");
    assert!(
        !f.target.join("lib/libx.so").exists(),
        "removed through lib64 -> lib"
    );
    assert!(
        f.target
            .join("lib64")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read(canary.join("victim")).unwrap(), b"must survive");
}

#[test]
fn modified_file_is_kept_and_reported_unless_forced() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/etc/pkg.conf", b"default");
    f.file("stage/lib/libpkg.so", b"elf");
    let record = f.root().join("m.json");
    merge_recorded(&f, &record, "json");
    fs::write(f.target.join("etc/pkg.conf"), b"edited!").unwrap();
    let uninstall = |force: bool| {
        let mut args = vec![os("uninstall"), os("--manifest"), record.as_os_str()];
        if force {
            args.push(os("--force"));
        }
        args.push(f.target.as_os_str());
        sm(&f, &args)
    };
    uninstall(false)
        .assert_code(1)
        .assert_stderr_has("modified since it was installed (content)")
        .assert_stderr_has("--force");
    assert_eq!(fs::read(f.target.join("etc/pkg.conf")).unwrap(), b"edited!");
    assert!(!f.target.join("lib/libpkg.so").exists());
    uninstall(true).assert_code(0);
    assert!(!f.target.join("etc").exists());
}

#[test]
fn verify_lists_missing_modified_and_type_changed_files() {
    let f = Fixture::new(Prim::Rename);
    for n in ["gone", "content", "mode", "size", "became_dir", "intact"] {
        f.file(format!("stage/share/{n}"), b"abc");
    }
    f.symlink("intact", "stage/share/link");
    let record = f.root().join("m.json");
    merge_recorded(&f, &record, "json");
    let t = f.target.join("share");
    fs::remove_file(t.join("gone")).unwrap();
    fs::write(t.join("content"), b"abd").unwrap();
    set_mode(&t.join("mode"), 0o600);
    fs::write(t.join("size"), b"abcd").unwrap();
    fs::remove_file(t.join("became_dir")).unwrap();
    fs::create_dir(t.join("became_dir")).unwrap();
    fs::remove_file(t.join("link")).unwrap();
    std::os::unix::fs::symlink("elsewhere", t.join("link")).unwrap();

    let r = sm(
        &f,
        &[
            os("verify"),
            os("--manifest"),
            record.as_os_str(),
            f.target.as_os_str(),
        ],
    );
    r.assert_code(1)
        .assert_stderr_has("7 files checked: 7 by size, mode and SHA-256; 6 problems");
    let lines: Vec<String> = r
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    assert_eq!(
        lines,
        [
            "type-changed",
            "modified",
            "missing",
            "modified",
            "modified",
            "modified"
        ],
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("share/link (link text)"), "{}", r.stdout);
    assert!(r.stdout.contains("share/mode (mode)"));
    assert!(r.stdout.contains("share/size (size)"));

    let j = sm(
        &f,
        &[
            os("verify"),
            os("--json"),
            os("--manifest"),
            record.as_os_str(),
            f.target.as_os_str(),
        ],
    );
    j.assert_code(1);
    let doc: Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(doc["checked"], 7);
    let problems = doc["problems"].as_array().unwrap();
    assert_eq!(problems[0]["path"], "share/became_dir");
    assert_eq!(problems[0]["status"], "type-changed");
    assert_eq!(problems[0]["found"], "directory");
    assert_eq!(problems[2]["status"], "missing");

    // A text manifest knows only paths: it can tell missing and type-changed.
    let text = f.file("m.txt", b"share/gone\nshare/content\nshare/became_dir\n");
    let r = sm(
        &f,
        &[
            os("verify"),
            os("--manifest"),
            text.as_os_str(),
            f.target.as_os_str(),
        ],
    );
    r.assert_code(1)
        .assert_stderr_has("3 files checked: 3 for presence only (the record has no digests: contents not checked); 2 problems");
}

/// Holds an flock on `path` from Python (what sage-flock does) until the
/// returned child is waited for; returns once the lock is held.
fn python_holds_lock(path: &Path, shared: bool, seconds: f64) -> std::process::Child {
    let op = if shared { "LOCK_SH" } else { "LOCK_EX" };
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import fcntl,sys,time; f=open(sys.argv[1],'a'); fcntl.flock(f, fcntl.{op}); print('locked', flush=True); time.sleep({seconds})"
        ))
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    child
}

#[test]
fn lock_waits_for_a_python_flock_holder_then_merges() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/share/x", b"x");
    let lock = f.root().join("sage.lock");
    let holder = python_holds_lock(&lock, false, 1.0);
    let started = Instant::now();
    let mut c = f.command();
    c.arg("merge")
        .arg("--lock")
        .arg(&lock)
        .arg(&f.stage)
        .arg(&f.target);
    c.stderr(Stdio::piped());
    let merge = c.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        !f.target.join("share").exists(),
        "nothing merged while the lock is held"
    );
    let r = Run::from_output(merge.wait_with_output().unwrap());
    r.assert_code(0)
        .assert_stderr_has(&format!("waiting for exclusive lock on {}", lock.display()));
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "it waited for the holder"
    );
    assert_eq!(fs::read(f.target.join("share/x")).unwrap(), b"x");
    let _ = { holder }.wait();
}

#[test]
fn shared_lock_does_not_wait_for_another_shared_holder() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/share/x", b"x");
    let lock = f.root().join("sage.lock");
    let mut holder = python_holds_lock(&lock, true, 3.0);
    let r = f.merge(&["--lock", lock.to_str().unwrap(), "--shared"]);
    r.assert_code(0).assert_stderr_lacks("waiting");
    let _ = holder.kill();
    let _ = holder.wait();
}

#[test]
fn sync_makes_the_merge_durable_and_says_so() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/share/x", b"x");
    f.merge(&["--sync"])
        .assert_code(0)
        .assert_stderr_has("synced in");
}

#[test]
fn record_options_are_checked_before_anything_is_done() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/share/x", b"x");
    let before = Snapshot::of(f.root());
    f.merge(&["--sage-record", "r.json"])
        .assert_code(2)
        .assert_stderr_has("--package");
    f.merge(&["--package", "p"]).assert_code(2);
    assert_eq!(Snapshot::of(f.root()), before);
    let missing: PathBuf = f.root().join("no-such-manifest");
    sm(
        &f,
        &[
            os("verify"),
            os("--manifest"),
            missing.as_os_str(),
            f.target.as_os_str(),
        ],
    )
    .assert_code(2)
    .assert_stderr_has(&missing.display().to_string());
}
