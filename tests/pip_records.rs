//! pip's `*.dist-info/RECORD` as a record and as an owner (issue 25): the
//! uninstall of a distribution keeps a namespace package's `__init__.py`
//! that another distribution lists (pip issue 4689), a Sage record that
//! lists a distribution claims it, and a RECORD is input like any record.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::util::{Run, Snapshot, bin};

const SITE: &str = "lib/python3.11/site-packages";

/// A prefix with a site directory.
struct Env {
    _tmp: tempfile::TempDir,
    prefix: PathBuf,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let prefix = tmp.path().join("venv");
        fs::create_dir_all(prefix.join(SITE)).unwrap();
        fs::create_dir_all(prefix.join("var/lib/sage/installed")).unwrap();
        Env { _tmp: tmp, prefix }
    }

    fn site(&self) -> PathBuf {
        self.prefix.join(SITE)
    }

    /// Installs distribution `name` as pip does: its files, then its
    /// RECORD (path, urlsafe base64 SHA-256, size; the RECORD itself and
    /// the `.pyc` without a hash). Returns the RECORD's path.
    fn dist(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let info = format!("{name}-1.0.dist-info");
        let mut rows = String::new();
        for (rel, data) in files.iter().chain(&[("INSTALLER", "pip\n")]) {
            let rel = if *rel == "INSTALLER" {
                format!("{info}/INSTALLER")
            } else {
                rel.to_string()
            };
            let p = self.site().join(&rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, data).unwrap();
            let hash = if rel.ends_with(".pyc") {
                String::new()
            } else {
                format!(
                    "sha256={}",
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(Sha256::digest(data.as_bytes()))
                )
            };
            let size = if hash.is_empty() {
                String::new()
            } else {
                data.len().to_string()
            };
            rows.push_str(&format!("{rel},{hash},{size}\n"));
        }
        rows.push_str(&format!("{info}/RECORD,,\n"));
        let record = self.site().join(&info).join("RECORD");
        fs::write(&record, rows).unwrap();
        record
    }

    fn uninstall(&self, record: &Path, extra: &[&str]) -> Run {
        let mut c = Command::new(bin());
        c.args(["uninstall", "--manifest"])
            .arg(record)
            .args(extra)
            .arg(&self.prefix);
        Run::of(c)
    }

    fn has(&self, rel: &str) -> bool {
        self.site().join(rel).symlink_metadata().is_ok()
    }
}

/// Two `backports.*` distributions with their own `backports/__init__.py`
/// (different, as the corpus's are) and a shared `__pycache__`.
fn two_backports(e: &Env) -> (PathBuf, PathBuf) {
    let a = e.dist(
        "backports.os",
        &[
            ("backports/__init__.py", "# os's namespace\n"),
            ("backports/__pycache__/__init__.cpython-311.pyc", "pyc"),
            ("backports/os.py", "os"),
        ],
    );
    let b = e.dist(
        "backports.tarfile",
        &[
            ("backports/__init__.py", "# tarfile's namespace\n"),
            ("backports/__pycache__/__init__.cpython-311.pyc", "pyc"),
            ("backports/tarfile/__init__.py", "tarfile"),
        ],
    );
    (a, b)
}

/// Sage's record of backports.os as a wheel staged with `pip install
/// --root` lists it: every file of the distribution, its RECORD included.
fn sage_record_listing(e: &Env, record: &Path) -> PathBuf {
    let mut files: Vec<String> = fs::read_to_string(record)
        .unwrap()
        .lines()
        .map(|l| format!("{SITE}/{}", l.split(',').next().unwrap()))
        .collect();
    files.sort();
    let path = e.prefix.join("var/lib/sage/installed/backports_os-1.0");
    fs::write(
        &path,
        serde_json::json!({"package_name": "backports_os", "package_version": "1.0", "files": files})
            .to_string(),
    )
    .unwrap();
    path
}

#[test]
fn uninstalling_a_distribution_keeps_what_another_distribution_of_its_site_lists() {
    let e = Env::new();
    let (a, b) = two_backports(&e);
    let run = e.uninstall(&a, &[]);
    run.assert_code(0).assert_stderr_has("2 shared kept");
    assert!(e.has("backports/__init__.py") && e.has("backports/__pycache__"));
    assert!(!e.has("backports/os.py"), "its own file goes");
    assert!(
        !e.has("backports.os-1.0.dist-info"),
        "its .dist-info goes, RECORD last"
    );
    let run = e.uninstall(&b, &[]);
    run.assert_code(0).assert_stderr_has("0 shared kept");
    assert!(
        !e.has("backports"),
        "the last owner takes the namespace with it"
    );
    assert_eq!(
        Snapshot::of(&e.site()).paths(),
        Vec::<String>::new(),
        "nothing left in the site directory"
    );
}

#[test]
fn verify_compares_a_record_s_digests_and_uninstall_removes_by_presence_as_pip_does() {
    let e = Env::new();
    let (a, b) = two_backports(&e);
    // backports.tarfile was installed last: its files are as recorded.
    let mut c = Command::new(bin());
    c.args(["verify", "--manifest"]).arg(&b).arg(&e.prefix);
    Run::of(c).assert_code(0);
    fs::write(e.site().join("backports/os.py"), "edited").unwrap();
    let mut c = Command::new(bin());
    c.args(["verify", "--manifest"]).arg(&a).arg(&e.prefix);
    let run = Run::of(c);
    run.assert_code(1);
    assert!(
        run.stdout.contains("modified") && run.stdout.contains("backports/os.py"),
        "{}",
        run.stdout
    );
    // pip's last writer wins on a shared path, so at uninstall a digest
    // that differs is no evidence of an edit: removed as pip removes it.
    e.uninstall(&a, &[]).assert_code(0);
    assert!(!e.has("backports/os.py") && !a.exists());
}

#[test]
fn a_sage_record_that_lists_a_distribution_claims_it_and_pip_site_owners_keep_the_rest() {
    let e = Env::new();
    let (a, _) = two_backports(&e);
    let record = sage_record_listing(&e, &a);
    let installed = e.prefix.join("var/lib/sage/installed");

    // pip's uninstall of the distribution (spkg-piprm) with the Sage
    // records as owners: the Sage package lists every file, so all stay,
    // the RECORD too ("shared").
    let run = e.uninstall(&a, &["--manifest-dir", installed.to_str().unwrap()]);
    run.assert_code(0).assert_stderr_has("record shared");
    assert!(e.has("backports/os.py") && a.exists());

    // The Sage record's uninstall: the distribution it lists is its own, not
    // another owner; backports.tarfile's RECORD (--pip-site) keeps the
    // namespace.
    let mut c = Command::new(bin());
    c.args(["uninstall", "--manifest"])
        .arg(&record)
        .arg("--manifest-dir")
        .arg(&installed)
        .arg("--pip-site")
        .arg(e.site())
        .arg(&e.prefix);
    let run = Run::of(c);
    run.assert_code(0).assert_stderr_has("2 shared kept");
    assert!(!e.has("backports/os.py") && !e.has("backports.os-1.0.dist-info"));
    assert!(
        e.has("backports/__init__.py"),
        "backports.tarfile still lists it"
    );
    assert!(!record.exists());

    // Without --pip-site the namespace would have gone: the option is what
    // keeps it (shown on a fresh pair).
    let e = Env::new();
    let (a, _) = two_backports(&e);
    let record = sage_record_listing(&e, &a);
    let mut c = Command::new(bin());
    c.args(["uninstall", "--manifest"])
        .arg(&record)
        .arg(&e.prefix);
    Run::of(c).assert_code(0);
    assert!(!e.has("backports/__init__.py"));
}

#[test]
fn a_hostile_or_broken_record_is_refused_whole_and_nothing_is_removed() {
    for (row, says) in [
        ("../../../../../../etc/passwd,,", "leaves TARGET"),
        (
            "../../../var/lib/sage/installed/six-1.0,,",
            "directory of records",
        ),
        ("../../../.stagemerge/clobbered/x,,", "stagemerge"),
        ("backports/os.py,sha256=not-base64!,2", "the hash"),
        ("backports/os.py,,", "row 1"),
    ] {
        let e = Env::new();
        let (a, _) = two_backports(&e);
        let row = if row == "backports/os.py,," {
            "\"unterminated,,".to_owned()
        } else {
            row.to_owned()
        };
        let text = format!("{row}\n{}", fs::read_to_string(&a).unwrap());
        fs::write(&a, text).unwrap();
        let before = Snapshot::of(&e.prefix);
        let installed = e.prefix.join("var/lib/sage/installed");
        let run = e.uninstall(&a, &["--manifest-dir", installed.to_str().unwrap()]);
        run.assert_code(2).assert_stderr_has(says);
        assert!(
            run.stderr.contains("RECORD"),
            "the message names the record: {}",
            run.stderr
        );
        assert_eq!(Snapshot::of(&e.prefix), before, "{row}: nothing changed");
    }
    // Another distribution's broken RECORD is an owner that cannot be read:
    // refused too (its files could be the ones removed).
    let e = Env::new();
    let (a, b) = two_backports(&e);
    fs::write(&b, "../../../../../../etc/passwd,,\n").unwrap();
    let before = Snapshot::of(&e.prefix);
    e.uninstall(&a, &[])
        .assert_code(2)
        .assert_stderr_has("backports.tarfile-1.0.dist-info");
    assert_eq!(Snapshot::of(&e.prefix), before);
}

#[test]
fn verify_and_uninstall_of_pip_records_answer_the_same_in_the_sandbox() {
    let e = Env::new();
    let (a, _) = two_backports(&e);
    sage_record_listing(&e, &a);
    let e2 = Env::new();
    let (base, copy) = (e.prefix.clone(), e2.prefix.clone());
    fs::remove_dir_all(&copy).unwrap();
    crate::util::corpus::sh(Command::new("cp").arg("-a").arg(&base).arg(&copy));
    let os = format!("{SITE}/backports.os-1.0.dist-info/RECORD");
    let tarfile = format!("{SITE}/backports.tarfile-1.0.dist-info/RECORD");
    let steps: Vec<Vec<&str>> = vec![
        vec!["verify", "--manifest", &tarfile],
        vec!["verify", "--manifest", &os, "--json"],
        vec![
            "uninstall",
            "--manifest",
            &os,
            "--manifest-dir",
            "var/lib/sage/installed",
        ],
        vec![
            "uninstall",
            "--manifest",
            "var/lib/sage/installed/backports_os-1.0",
            "--manifest-dir",
            "var/lib/sage/installed",
            "--pip-site",
            SITE,
        ],
        vec!["uninstall", "--json", "--manifest", &tarfile],
    ];
    for (i, step) in steps.iter().enumerate() {
        let run = |dir: &Path, sandbox: bool| {
            let mut c = Command::new(bin());
            c.current_dir(dir).arg(step[0]);
            if sandbox {
                c.arg("--sandbox");
            }
            c.args(&step[1..]).arg(".");
            Run::of(c)
        };
        let (native, sandboxed) = (run(&base, false), run(&copy, true));
        assert_eq!(
            (native.code, &native.stdout, &native.stderr),
            (sandboxed.code, &sandboxed.stdout, &sandboxed.stderr),
            "step {i} {step:?}: native and sandboxed differ"
        );
        assert_eq!(
            Snapshot::of(&base),
            Snapshot::of(&copy),
            "step {i} {step:?}: trees differ"
        );
    }
    assert!(
        !base.join(SITE).join("backports").exists(),
        "all uninstalled"
    );
}

#[test]
fn a_distribution_outside_target_is_refused() {
    let e = Env::new();
    let (a, _) = two_backports(&e);
    let other = e.prefix.join("lib/other");
    fs::create_dir_all(&other).unwrap();
    let before = Snapshot::of(&e.prefix);
    // TARGET is a directory beside the site: the RECORD's paths are not
    // relative to anything inside it.
    let mut c = Command::new(bin());
    c.args(["uninstall", "--manifest"]).arg(&a).arg(&other);
    let run = Run::of(c);
    run.assert_code(2)
        .assert_stderr_has("the RECORD of a distribution outside TARGET");
    assert_eq!(
        Snapshot::of(&e.prefix),
        before,
        "nothing removed, the RECORD kept"
    );
}

#[test]
fn kills_spread_over_a_distribution_s_uninstall_then_rerun_end_as_an_uninterrupted_one() {
    let _heavy = crate::util::heavy();
    // backports.os with 400 modules beside the shared namespace, so that
    // the kills land among its removals.
    let big: Vec<(String, String)> = (0..400)
        .map(|i| (format!("backports/os_{i:03}/m.py"), format!("m{i}")))
        .chain([("backports/__init__.py".to_owned(), "# os\n".to_owned())])
        .collect();
    let setup = || {
        let e = Env::new();
        let files: Vec<(&str, &str)> = big.iter().map(|(p, d)| (p.as_str(), d.as_str())).collect();
        let a = e.dist("backports.os", &files);
        e.dist(
            "backports.tarfile",
            &[("backports/__init__.py", "# tarfile\n")],
        );
        (e, a)
    };
    let (reference, a) = setup();
    let t = std::time::Instant::now();
    reference.uninstall(&a, &[]).assert_code(0);
    let took = t.elapsed();
    let want = Snapshot::of(&reference.prefix).paths();
    let trials = crate::util::kill_trials(40);
    let (mut midway, mut reruns, mut empty_left) = (0, 0, 0);
    for k in 0..trials {
        let (e, a) = setup();
        let before = Snapshot::of(&e.prefix).paths();
        let mut c = Command::new(bin());
        c.args(["uninstall", "--manifest"])
            .arg(&a)
            .arg(&e.prefix)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = c.spawn().unwrap();
        let at = took.mul_f64(k as f64 / trials as f64);
        std::thread::sleep(at);
        let _ = child.kill();
        child.wait().unwrap();
        let after = Snapshot::of(&e.prefix).paths();
        if after != before && after != want {
            midway += 1;
        }
        if a.exists() {
            reruns += 1;
            let again = e.uninstall(&a, &[]);
            assert_eq!(
                again.code, 0,
                "kill {k} ({at:?}): the rerun\n{}",
                again.stderr
            );
        }
        let mut got = Snapshot::of(&e.prefix).paths();
        // Killed between the RECORD's removal and its directory's: the
        // directory is left, empty (nothing is listed there any more).
        let info = format!("{SITE}/backports.os-1.0.dist-info");
        if got.contains(&info) && !want.contains(&info) {
            assert!(fs::read_dir(e.prefix.join(&info)).unwrap().next().is_none());
            empty_left += 1;
            got.retain(|p| p != &info);
        }
        assert_eq!(got, want, "kill {k} of {trials} ({at:?} in)");
        assert_eq!(
            fs::read_to_string(e.site().join("backports/__init__.py")).unwrap(),
            "# tarfile\n",
            "kill {k}: the namespace backports.tarfile lists is kept"
        );
    }
    eprintln!(
        "{trials} kills over a distribution's uninstall of {took:?}: {midway} mid-way, \
         {reruns} rerun, {empty_left} left an empty .dist-info; every one ends as the \
         uninterrupted run"
    );
    assert!(
        midway > 0,
        "no kill struck mid-way: the test proved nothing"
    );
}
