//! Records that stay true after a kill, a rerun or a bad record: the
//! journal written before the first rename lets any rerun write the record
//! an uninterrupted run writes. `STAGEMERGE_KILL_TRIALS` changes the number
//! of kills per record format (100 by default).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::corpus::{MIXED, corpus, farm, reinstall_of, sh};
use crate::util::{Fixture, Prim, Run, Snapshot, command, fast_tmp, kill_trials, wait_for_file};
use serde_json::Value;

/// The journal beside a record.
fn journal(record: &Path) -> PathBuf {
    let mut p = record.as_os_str().to_owned();
    p.push(".stagemerge-journal");
    PathBuf::from(p)
}

/// The three record formats, as the options that ask for them.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Format {
    Text,
    Json,
    Sage,
}

pub(crate) const FORMATS: [Format; 3] = [Format::Text, Format::Json, Format::Sage];

impl Format {
    fn args(self, record: &Path) -> Vec<std::ffi::OsString> {
        let r = record.as_os_str().to_owned();
        match self {
            Format::Text => vec!["--manifest".into(), r],
            Format::Json => vec![
                "--manifest".into(),
                r,
                "--manifest-format".into(),
                "json".into(),
            ],
            Format::Sage => vec![
                "--sage-record".into(),
                r,
                "--package".into(),
                "mixed".into(),
                "--package-version".into(),
                "1.0".into(),
            ],
        }
    }

    /// What must be the same as an uninterrupted run's: every byte of a
    /// manifest (paths, and for JSON sizes, modes, digests); a Sage
    /// record's file list (its install date is the run's).
    fn essence(self, record: &Path) -> Vec<u8> {
        let bytes = fs::read(record).unwrap_or_else(|e| panic!("{}: {e}", record.display()));
        match self {
            Format::Text | Format::Json => bytes,
            Format::Sage => {
                let v: Value = serde_json::from_slice(&bytes).unwrap();
                serde_json::to_vec(&v["files"]).unwrap()
            }
        }
    }
}

fn merge_cmd(prim: Prim, format: Format, record: &Path, stage: &Path, target: &Path) -> Command {
    let mut c = command(prim);
    c.arg("merge").arg("--quiet");
    c.args(format.args(record));
    c.arg(stage).arg(target);
    c
}

/// SIGKILL at instants spread over a reinstall of real packages (files
/// moved, replaced and found identical one by one), with each record
/// format; the same command run again writes the record an uninterrupted
/// run writes, byte for byte, and leaves no journal.
#[test]
fn killed_merges_rerun_to_the_record_an_uninterrupted_run_writes() {
    let _heavy = crate::util::heavy();
    // 50 kills per format by default, 100 in the soak mode.
    let n = kill_trials(if crate::util::soak() { 100 } else { 50 });
    killed_merges_rerun(Prim::Rename, &FORMATS, n, &MIXED);
}

/// [`killed_merges_rerun_to_the_record_an_uninterrupted_run_writes`] with
/// the binary `prim` selects, the record formats `formats`, `n` kills per
/// format and a reinstall of the corpus's wheel stages `packages`.
pub(crate) fn killed_merges_rerun(prim: Prim, formats: &[Format], n: usize, packages: &[&str]) {
    let Some(corpus) = corpus() else { return };
    let work = tempfile::tempdir_in(fast_tmp()).unwrap();
    let w = work.path();
    let (pristine, base) = reinstall_of(&corpus, w, packages);
    let files = Snapshot::of(&pristine).nodes.len();
    let fresh = |n: &str| -> (PathBuf, PathBuf, PathBuf) {
        let (s, t) = (w.join(format!("{n}-stage")), w.join(format!("{n}-target")));
        let record = w.join(format!("{n}-record"));
        let _ = fs::remove_dir_all(&s);
        let _ = fs::remove_dir_all(&t);
        let _ = fs::remove_file(&record);
        let _ = fs::remove_file(journal(&record));
        farm(std::slice::from_ref(&pristine), &s);
        sh(Command::new("cp").arg("-a").arg(&base).arg(&t));
        (s.join("pristine"), t, record)
    };

    for &format in formats {
        // The kills are spread over the shortest of three timed runs: one
        // slowed by something else (under Wine, the first start of its
        // server) would spread them past the end of the faster runs.
        let (mut full, mut journal_at) = (Duration::MAX, Duration::ZERO);
        let mut reference = None;
        for _ in 0..3 {
            let (s, t, record) = fresh("reference");
            let started = Instant::now();
            let mut child = merge_cmd(prim, format, &record, &s, &t).spawn().unwrap();
            let journaled_at = wait_for_file(&journal(&record), &mut child).unwrap_or_default();
            assert!(child.wait().unwrap().success());
            let took = started.elapsed();
            assert!(!journal(&record).exists(), "{format:?}: journal removed");
            if took < full {
                (full, journal_at) = (took, journaled_at);
            }
            reference.get_or_insert((format.essence(&record), Snapshot::of(&t)));
        }
        let (want, want_target) = reference.expect("three reference runs");
        let (mut mid_way, mut journaled) = (0, 0);
        for trial in 0..n {
            let (s, t, record) = fresh("trial");
            let mut child = merge_cmd(prim, format, &record, &s, &t)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // One kill in four anywhere in the run (listing STAGE, digests);
            // the others spread over the moves, after the journal is written.
            let at = (trial as f64 + 0.5) / n as f64 * 1.2;
            if trial % 4 == 0 {
                std::thread::sleep(full.mul_f64(at));
            } else if wait_for_file(&journal(&record), &mut child).is_some() {
                std::thread::sleep((full.saturating_sub(journal_at)).mul_f64(at));
            }
            let _ = child.kill();
            if child.wait().unwrap().code().is_none() {
                mid_way += 1;
            }
            if journal(&record).exists() {
                journaled += 1;
            }
            Run::of(merge_cmd(prim, format, &record, &s, &t)).assert_code(0);
            assert!(
                format.essence(&record) == want,
                "{format:?} trial {trial}: the record differs from an uninterrupted run's"
            );
            assert!(
                !journal(&record).exists(),
                "{format:?} trial {trial}: journal left"
            );
            assert_eq!(
                Snapshot::of(&t),
                want_target,
                "{format:?} trial {trial}: TARGET as uninterrupted"
            );
        }
        eprintln!(
            "{format:?}: {n} kills over {files} entries (full run {full:?}): {mid_way} mid-way, \
             {journaled} with the journal written; every rerun's record equal to the uninterrupted one"
        );
        assert!(
            mid_way > n / 3,
            "{format:?}: the kills must land inside runs"
        );
        assert!(
            journaled > n / 3,
            "{format:?}: the kills must land after the journal was written"
        );
    }
}

/// A retried build step runs the same merge again on an empty STAGE: the
/// record of the complete install stays as it is, byte for byte (a Sage
/// record keeps its install date), in every format.
#[test]
fn rerun_of_a_finished_merge_keeps_the_record() {
    for format in FORMATS {
        let f = Fixture::new(Prim::Rename);
        f.file("stage/lib/libx.so.1", b"x");
        f.symlink("libx.so.1", "stage/lib/libx.so");
        f.file("stage/share/x/data", b"data");
        f.file("target/share/other", b"another package");
        let record = f.root().join("record");
        let (s, t) = (f.root().join("stage"), f.root().join("target"));
        Run::of(merge_cmd(Prim::Rename, format, &record, &s, &t)).assert_code(0);
        let first = fs::read(&record).unwrap();
        assert!(!first.is_empty());
        std::thread::sleep(Duration::from_millis(1100));
        Run::of(merge_cmd(Prim::Rename, format, &record, &s, &t)).assert_code(0);
        assert_eq!(
            String::from_utf8_lossy(&fs::read(&record).unwrap()),
            String::from_utf8_lossy(&first),
            "{format:?}: the rerun keeps the record"
        );
        assert!(!journal(&record).exists());
    }
}

/// A rerun whose STAGE still holds a file kept by `--on-conflict keep`
/// keeps the whole record too: what the first run placed stays listed.
#[test]
fn rerun_with_a_kept_file_left_in_stage_keeps_the_whole_record() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/etc/x.conf", b"package default");
    f.file("stage/bin/tool", b"tool");
    f.file("target/etc/x.conf", b"edited");
    let m = f.root().join("m.txt");
    let args = ["--on-conflict", "keep", "--manifest", m.to_str().unwrap()];
    f.merge(&args).assert_code(0);
    assert_eq!(fs::read_to_string(&m).unwrap(), "bin/tool\netc/x.conf\n");
    assert!(f.root().join("stage/etc/x.conf").exists());
    f.merge(&args).assert_code(0);
    assert_eq!(fs::read_to_string(&m).unwrap(), "bin/tool\netc/x.conf\n");
}

/// Starts merges of a stage of `n` files until one is killed while its
/// journal exists; returns with the journal in place.
fn kill_after_journal(f: &Fixture, record: &Path, n: usize) {
    for attempt in 0..20 {
        let stage = f.root().join("stage");
        for i in 0..n {
            f.file(format!("stage/share/many/f{i:05}"), b"x");
        }
        f.dir("target/share/many");
        let mut child = merge_cmd(
            Prim::Rename,
            Format::Text,
            record,
            &stage,
            &f.root().join("target"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !journal(record).exists() && Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = child.kill();
        let killed = child.wait().unwrap().code().is_none();
        if killed && journal(record).exists() {
            return;
        }
        eprintln!("attempt {attempt}: the merge finished before it was killed; again");
    }
    panic!("never killed a merge while its journal existed");
}

/// uninstall and verify given a record whose journal is still there say
/// that the install is incomplete (uninstall removes nothing); a rerun of
/// the merge, even on an empty STAGE, finishes the record.
#[test]
fn interrupted_install_is_reported_incomplete_until_a_rerun_finishes_it() {
    let f = Fixture::new(Prim::Rename);
    let record = f.root().join("installed.txt");
    f.file("target/keep-me", b"of another package");
    // A first install writes the record; a second merge into the same
    // record (more files of the package) is killed after its journal.
    f.file("stage/share/first", b"1");
    let (stage, target) = (f.root().join("stage"), f.root().join("target"));
    let merge = || {
        Run::of(merge_cmd(
            Prim::Rename,
            Format::Text,
            &record,
            &stage,
            &target,
        ))
    };
    merge().assert_code(0);
    kill_after_journal(&f, &record, 20_000);
    let before = Snapshot::of(&target);

    let mut v = command(Prim::Rename);
    v.arg("verify").arg("--manifest").arg(&record).arg(&target);
    Run::of(v)
        .assert_code(1)
        .assert_stderr_has("is incomplete: its journal");
    let mut u = command(Prim::Rename);
    u.arg("uninstall")
        .arg("--manifest")
        .arg(&record)
        .arg(&target);
    Run::of(u)
        .assert_code(2)
        .assert_stderr_has("is incomplete")
        .assert_stderr_has("nothing was removed");
    assert_eq!(Snapshot::of(&target), before, "uninstall removed nothing");

    // The rest of the stage goes too; then the record lists every file.
    merge().assert_code(0);
    let listed = fs::read_to_string(&record).unwrap();
    let want: String = std::iter::once("share/first\n".to_owned())
        .chain((0..20_000).map(|i| format!("share/many/f{i:05}\n")))
        .collect();
    assert!(listed == want, "the rerun's record lists all 20000 files");
    assert!(!journal(&record).exists());
    let mut v = command(Prim::Rename);
    v.arg("verify").arg("--manifest").arg(&record).arg(&target);
    Run::of(v).assert_code(0);
}

/// A record at the path that cannot be read is an error naming it, before
/// anything moves: the merge would otherwise drop what it lists.
#[test]
fn unreadable_record_at_the_path_stops_the_merge_before_anything_moves() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/bin/tool", b"tool");
    let m = f.file(
        "m.json",
        b"{ \"format\": \"stagemerge-manifest\", \"files\": [ {",
    );
    let stage = Snapshot::of(&f.root().join("stage"));
    f.merge(&[
        "--manifest",
        m.to_str().unwrap(),
        "--manifest-format",
        "json",
    ])
    .assert_code(2)
    .assert_stderr_has(m.to_str().unwrap())
    .assert_stderr_has("nothing was merged");
    assert_eq!(Snapshot::of(&f.root().join("stage")), stage);
    assert!(!f.root().join("target/bin").exists());
}

/// A path another version holds (here kept by `--on-conflict keep`) is in
/// the JSON record as "lost", with the package's own digest; verify checks
/// it for presence only and says so.
#[test]
fn lost_path_is_recorded_with_its_own_digest_and_verified_for_presence() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/lib/ns/__init__.py", b"# mine\n");
    f.file("stage/lib/ns/mine.py", b"x = 1\n");
    f.file("target/lib/ns/__init__.py", b"# theirs\n");
    let m = f.root().join("m.json");
    f.merge(&[
        "--on-conflict",
        "keep",
        "--manifest",
        m.to_str().unwrap(),
        "--manifest-format",
        "json",
    ])
    .assert_code(0);
    let doc: Value = serde_json::from_slice(&fs::read(&m).unwrap()).unwrap();
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["path"], "lib/ns/__init__.py");
    assert_eq!(files[0]["state"], "lost");
    use sha2::Digest;
    let mine = hex::encode(sha2::Sha256::digest(b"# mine\n"));
    assert_eq!(files[0]["sha256"], mine.as_str());
    assert!(files[1].get("state").is_none());
    let mut v = command(Prim::Rename);
    v.arg("verify")
        .arg("--manifest")
        .arg(&m)
        .arg(f.root().join("target"));
    Run::of(v).assert_code(0).assert_stderr_has(
        "2 files checked: 1 by size, mode and SHA-256, 1 for presence only \
         (another package's version is visible); 0 problems",
    );
}

/// `uninstall --manifest-dir` counts what another package's interrupted
/// merge journaled as that package's: a file both ship stays.
#[test]
fn uninstall_keeps_files_another_interrupted_install_journaled() {
    let f = Fixture::new(Prim::Rename);
    let dir = f.dir("installed");
    let target = f.root().join("target");
    f.file("stage-a/share/common", b"shared");
    f.file("stage-a/share/only-a", b"a");
    let a = dir.join("a.txt");
    Run::of(merge_cmd(
        Prim::Rename,
        Format::Text,
        &a,
        &f.root().join("stage-a"),
        &target,
    ))
    .assert_code(0);
    // B ships the same file; its merge is killed after its journal.
    f.file("stage/share/common", b"shared");
    let b = dir.join("b.txt");
    kill_after_journal(&f, &b, 20_000);

    let mut u = command(Prim::Rename);
    u.arg("uninstall")
        .arg("--manifest")
        .arg(&a)
        .arg("--manifest-dir")
        .arg(&dir)
        .arg(&target);
    Run::of(u).assert_code(0).assert_stderr_has("1 shared kept");
    assert!(target.join("share/common").exists(), "B still needs it");
    assert!(!target.join("share/only-a").exists());
}
