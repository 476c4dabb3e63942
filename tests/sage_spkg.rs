//! The Sage drop-in inside the real Sage scripts: passagemath-conf's
//! `sage-spkg`, `sage-dist-helpers`, `sage-spkg-uninstall`,
//! `sage-pip-uninstall` and `sage_bootstrap` from its pinned sdist
//! (tests/sage/fetch.sh, cached under target/), in a Sage tree made by
//! tests/sage/sage-tree.bash: real wheels from PyPI and two autotools-like
//! packages, each installed by `sage-spkg` as a recipe of a Makefile made
//! from build/make/Makefile.in's template, run with `make -j16`.
//!
//! Three ways to unload: upstream's scripts as released (the `tar` pipe),
//! stagemerge's patch with stagemerge (contrib/sage), and the same patch
//! without stagemerge (its fallback, today's tar pipe). With `SAGE_SUDO`
//! set to a no-op prefix the wheels are staged with `pip install --root`
//! and go through the unload; without it pip installs them in
//! spkg-pipinst, after the unload, and only pip's RECORD lists their files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::util::{Run, bin, fast_tmp, heavy};

/// The wheels installed: the namespace families that share a directory
/// (backports/, jaraco/, sphinxcontrib/, zope/), six (the conflict case)
/// and jaraco.text's dependencies.
const WHEELS: &[&str] = &[
    "backports.tarfile",
    "backports.functools-lru-cache",
    "backports.cached-property",
    "backports.entry-points-selectable",
    "backports.weakref",
    "backports.os",
    "backports.shutil-get-terminal-size",
    "backports.shutil-which",
    "backports.unittest-mock",
    "backports.datetime-fromisoformat",
    "jaraco.classes",
    "jaraco.functools",
    "jaraco.context",
    "jaraco.text",
    "jaraco.collections",
    "sphinxcontrib-applehelp",
    "sphinxcontrib-devhelp",
    "sphinxcontrib-htmlhelp",
    "sphinxcontrib-jsmath",
    "sphinxcontrib-qthelp",
    "sphinxcontrib-serializinghtml",
    "zope.event",
    "zope.interface",
    "six",
    "autocommand",
    "inflect",
    "more-itertools",
    "typeguard",
    "typing-extensions",
];

/// The site directory of the venv (Python 3.x of the machine).
fn site(local: &Path) -> PathBuf {
    let lib = local.join("lib");
    let py = std::fs::read_dir(&lib)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .find(|n| n.to_string_lossy().starts_with("python3"))
        .expect("a python3.x directory in the venv");
    lib.join(py).join("site-packages")
}

/// How packages are unloaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    /// The scripts as released: sage-spkg's tar pipe, upstream's uninstall.
    Upstream,
    /// stagemerge's patch, stagemerge on PATH.
    DropIn,
    /// stagemerge's patch, stagemerge absent (SAGE_STAGEMERGE=no).
    Fallback,
}

/// A Sage tree (tests/sage/sage-tree.bash).
struct Tree {
    dir: PathBuf,
    local: PathBuf,
    mode: Mode,
    /// `SAGE_SUDO` set to a no-op prefix: wheels are staged.
    sudo: bool,
    /// Package name and version.
    pkgs: Vec<(String, String)>,
}

/// The sdist's sage_root, fetched by tests/sage/fetch.sh (the test command
/// runs it); `None`, printed, when absent and not required.
fn sdist() -> Option<PathBuf> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let out = Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/sage/fetch.sh"))
            .output()
            .unwrap();
        if out.status.success() {
            return Some(PathBuf::from(
                String::from_utf8(out.stdout).unwrap().trim_end(),
            ));
        }
        let why = String::from_utf8_lossy(&out.stderr);
        assert!(
            std::env::var_os("STAGEMERGE_CORPUS_REQUIRED").is_none(),
            "no passagemath-conf sdist: {why}"
        );
        eprintln!("skipped: no passagemath-conf sdist (tests/sage/fetch.sh: {why})");
        None
    })
    .clone()
}

/// A venv made once per test run and copied into each tree.
fn venv_template() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let dir = fast_tmp().join(format!("stagemerge-sage-venv-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let out = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "python3 -m venv: {out:?}");
        dir
    })
    .clone()
}

fn wheel_files() -> Option<Vec<PathBuf>> {
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/corpus-cache/wheels");
    let mut out = Vec::new();
    for w in WHEELS {
        let found = std::fs::read_dir(cache.join(w))
            .ok()?
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "whl"))?;
        out.push(found);
    }
    Some(out)
}

impl Tree {
    /// A fresh tree at `dir`; `None` (printed) without the sdist, the
    /// wheels, make or python3.
    fn new(dir: &Path, mode: Mode, sudo: bool) -> Option<Tree> {
        let src = sdist()?;
        let Some(wheels) = wheel_files() else {
            assert!(
                std::env::var_os("STAGEMERGE_CORPUS_REQUIRED").is_none(),
                "the corpus's wheels are missing: run tests/corpus/build.sh"
            );
            eprintln!("skipped: the corpus's wheels are missing (tests/corpus/build.sh)");
            return None;
        };
        let contrib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/sage");
        let mut c = Command::new("bash");
        c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/sage/sage-tree.bash"))
            .arg(dir)
            .arg(if mode == Mode::Upstream {
                "upstream"
            } else {
                "stagemerge"
            })
            .arg(src)
            .arg(&contrib)
            .arg(venv_template())
            .args(&wheels);
        let run = Run::of(c);
        run.assert_code(0);
        let pkgs = run
            .stdout
            .lines()
            .map(|l| {
                let (n, v) = l.split_once(' ').unwrap();
                (n.to_owned(), v.to_owned())
            })
            .collect();
        Some(Tree {
            dir: dir.to_owned(),
            local: dir.join("local"),
            mode,
            sudo,
            pkgs,
        })
    }

    /// A command run in the tree's build environment (its `env` file), as
    /// build/make runs sage-spkg: `script` is a bash command line. The
    /// env file leaves stagemerge's build directory off PATH; the drop-in's
    /// mode puts it first.
    fn sh(&self, script: &str) -> Command {
        let mut line = String::from(". ./env && ");
        if self.mode == Mode::DropIn {
            let dir = Path::new(bin()).parent().unwrap();
            line.push_str(&format!("export PATH='{}':\"$PATH\" && ", dir.display()));
        }
        line.push_str(script);
        let mut c = Command::new("bash");
        c.arg("-c").arg(line).current_dir(&self.dir);
        if self.mode == Mode::Fallback {
            c.env("SAGE_STAGEMERGE", "no");
        }
        if self.sudo {
            c.env("SAGE_SUDO", "env");
        } else {
            c.env_remove("SAGE_SUDO");
        }
        c.env_remove("MAKEFLAGS").env_remove("MFLAGS");
        c
    }

    fn make(&self) -> Run {
        Run::of(self.sh("make -j16"))
    }

    fn installed(&self) -> PathBuf {
        self.local.join("var/lib/sage/installed")
    }

    /// The `files` of the installation record of `name`, if there is one.
    fn record(&self, name: &str) -> Option<BTreeSet<String>> {
        let (_, v) = self.pkgs.iter().find(|(n, _)| n == name)?;
        let text = std::fs::read_to_string(self.installed().join(format!("{name}-{v}"))).ok()?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the record of {name} is not JSON ({e}):\n{text}"));
        assert_eq!(doc["package_name"], name);
        assert_eq!(doc["package_version"], v.as_str());
        Some(
            doc["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_owned())
                .collect(),
        )
    }

    fn records(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.pkgs
            .iter()
            .filter_map(|(n, _)| Some((n.clone(), self.record(n)?)))
            .collect()
    }

    /// The files each installed distribution's RECORD lists, relative to
    /// SAGE_LOCAL.
    fn dist_records(&self) -> BTreeMap<String, BTreeSet<String>> {
        let site = site(&self.local);
        let rel = site.strip_prefix(&self.local).unwrap().to_owned();
        let mut out = BTreeMap::new();
        for e in std::fs::read_dir(&site).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(text) = std::fs::read_to_string(e.path().join("RECORD")) else {
                continue;
            };
            if !name.ends_with(".dist-info")
                || name.starts_with("pip-")
                || name.starts_with("setuptools-")
            {
                continue;
            }
            let mut files = BTreeSet::new();
            for line in text.lines() {
                let path = line.rsplitn(3, ',').nth(2).unwrap().trim_matches('"');
                let joined = normalize(&rel.join(path));
                files.insert(joined);
            }
            out.insert(name, files);
        }
        out
    }

    fn lexists(&self, rel: &str) -> bool {
        self.local.join(rel).symlink_metadata().is_ok()
    }
}

/// `p` with `..` resolved by name (RECORD's scripts are `../../../bin/x`).
fn normalize(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c.as_os_str().to_str().unwrap() {
            ".." => {
                parts.pop();
            }
            "." => {}
            s => parts.push(s.to_owned()),
        }
    }
    parts.join("/")
}

/// A fresh tree in a temporary directory, holding the heavy lock (make
/// -j16 and timed kills run alone).
fn fresh(
    mode: Mode,
    sudo: bool,
) -> Option<(std::sync::MutexGuard<'static, ()>, tempfile::TempDir, Tree)> {
    let heavy = heavy();
    let tmp = tempfile::tempdir_in(fast_tmp()).unwrap();
    let t = Tree::new(&tmp.path().join("tree"), mode, sudo)?;
    Some((heavy, tmp, t))
}

/// What must hold after `make -j16` installed every package: a record per
/// package listing only what is in the prefix, no pending record, no
/// staging directory, the prefix's lib64 -> lib kept (stagemerge and its
/// fallback; upstream's tar replaces it), no libtool archive, and
/// spkg-postinst's sdh_install reached the prefix.
fn assert_installed(t: &Tree, run: &Run) {
    assert_eq!(
        run.code, 0,
        "{:?}: make -j16 failed:\n{}{}",
        t.mode, run.stdout, run.stderr
    );
    let records = t.records();
    for (n, _) in &t.pkgs {
        let files = records
            .get(n)
            .unwrap_or_else(|| panic!("{:?}: no record of {n}", t.mode));
        assert!(
            !files.is_empty(),
            "{:?}: the record of {n} lists nothing",
            t.mode
        );
        if t.mode != Mode::Upstream {
            for f in files {
                assert!(
                    t.lexists(f),
                    "{:?}: {n} lists {f}, which is not there",
                    t.mode
                );
            }
        }
    }
    let left: Vec<_> = std::fs::read_dir(t.installed())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(
        left.is_empty(),
        "{:?}: left in the records directory: {left:?}",
        t.mode
    );
    let build = t.local.join("var/tmp/sage/build");
    if let Ok(d) = std::fs::read_dir(&build) {
        let staged: Vec<_> = d
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("inst").exists())
            .collect();
        assert!(staged.is_empty(), "{:?}: staging left: {staged:?}", t.mode);
    }
    let lib64 = t.local.join("lib64").symlink_metadata().unwrap();
    assert_eq!(
        lib64.file_type().is_symlink(),
        t.mode != Mode::Upstream,
        "{:?}: the prefix's lib64 -> lib (upstream's tar replaces it with libbar's directory)",
        t.mode
    );
    assert!(
        !t.lexists("lib/libfoo.la"),
        "{:?}: a libtool archive was installed",
        t.mode
    );
    assert!(t.lexists("lib/libfoo.so.1"), "{:?}", t.mode);
    // Upstream's tar put libbar's lib64/ where the symlink was.
    let libbar = if t.mode == Mode::Upstream {
        "lib64/libbar.so"
    } else {
        "lib/libbar.so"
    };
    assert!(t.lexists(libbar), "{:?}: {libbar}", t.mode);
    let cfg = std::fs::read_to_string(t.local.join("bin/foo-config"))
        .unwrap_or_else(|e| panic!("{:?}: spkg-postinst's bin/foo-config: {e}", t.mode));
    assert!(cfg.contains(&t.local.display().to_string()));
}

/// A record's files with a staged lib64/ read as lib/ (stagemerge records
/// the path through the prefix's lib64 -> lib; its fallback folds lib64/
/// into lib/ first).
fn folded(files: &BTreeSet<String>) -> BTreeSet<String> {
    files
        .iter()
        .map(|f| match f.strip_prefix("lib64/") {
            Some(rest) => format!("lib/{rest}"),
            None => f.clone(),
        })
        .collect()
}

/// A seeded order of the packages (printed with the seed).
fn shuffled(pkgs: &[(String, String)], seed: u64) -> Vec<String> {
    let mut v: Vec<String> = pkgs.iter().map(|(n, _)| n.clone()).collect();
    let mut x = seed | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

fn seed() -> u64 {
    std::env::var("STAGEMERGE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

/// Uninstalls every package with the tree's sage-spkg-uninstall in a
/// seeded random order. After each: its record is gone, every file that a
/// remaining package lists (its Sage record, or its distribution's RECORD)
/// is there, and each of its files is gone unless a remaining one lists it.
fn uninstall_all(t: &Tree) {
    let seed = seed();
    let order = shuffled(&t.pkgs, seed);
    eprintln!("{:?}: uninstall order (seed {seed}): {order:?}", t.mode);
    for (i, name) in order.iter().enumerate() {
        let mine = t.record(name).unwrap();
        let run = Run::of(t.sh(&format!("sage-spkg-uninstall {name} \"$SAGE_LOCAL\"")));
        assert_eq!(
            run.code, 0,
            "seed {seed}, step {i}: sage-spkg-uninstall {name}:\n{}{}",
            run.stdout, run.stderr
        );
        assert!(
            t.record(name).is_none(),
            "seed {seed}: the record of {name} is still there"
        );
        let mut needed: BTreeSet<String> = t.records().into_values().flatten().collect();
        needed.extend(t.dist_records().into_values().flatten());
        for f in &needed {
            assert!(
                t.lexists(f),
                "seed {seed}, step {i}: uninstalling {name} removed {f}, which a remaining \
                 package lists"
            );
        }
        for f in &mine {
            assert_eq!(
                t.lexists(f),
                needed.contains(f),
                "seed {seed}, step {i}: {f} of {name}: kept only while another package lists it"
            );
        }
    }
    let site = site(&t.local);
    let left: Vec<_> = std::fs::read_dir(&site)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            ["backports", "jaraco", "sphinxcontrib", "zope", "six.py"].contains(&n.as_str())
        })
        .collect();
    assert!(
        left.is_empty(),
        "seed {seed}: left after every uninstall: {left:?}"
    );
}

#[test]
fn make_j16_through_the_real_sage_spkg_installs_alike_in_every_mode_and_uninstalls_keep_shared_files()
 {
    let _heavy = heavy();
    let tmp = tempfile::tempdir_in(fast_tmp()).unwrap();
    let mut records = BTreeMap::new();
    for mode in [Mode::DropIn, Mode::Fallback, Mode::Upstream] {
        let Some(t) = Tree::new(&tmp.path().join(format!("{mode:?}")), mode, true) else {
            return;
        };
        let run = t.make();
        assert_installed(&t, &run);
        let r = t.records();
        let ns = "backports/__init__.py";
        assert!(
            r.values()
                .filter(|f| f.iter().any(|p| p.ends_with(ns)))
                .count()
                >= 10,
            "{mode:?}: every backports package lists {ns}"
        );
        // A name with a space is one entry; upstream splits it in two.
        let lorem = r["jaraco_text"]
            .iter()
            .any(|f| f.ends_with("jaraco/text/Lorem ipsum.txt"));
        assert_eq!(
            lorem,
            mode != Mode::Upstream,
            "{mode:?}: jaraco.text's Lorem ipsum.txt"
        );
        for doc in ["READ ME.foo", "tab\tname.foo", "new\nline.foo"] {
            let listed = r["libfoo"].contains(&format!("share/doc/common/{doc}"));
            assert_eq!(listed, mode != Mode::Upstream, "{mode:?}: libfoo's {doc:?}");
        }
        if mode == Mode::DropIn {
            uninstall_all(&t);
        }
        if mode == Mode::Fallback {
            // The records are in the format upstream's uninstall reads
            // (sage_bootstrap/uninstall.py, run here without stagemerge):
            // each odd name is one entry it finds and removes.
            let mine = r["libfoo"].clone();
            let run = Run::of(t.sh("sage-spkg-uninstall libfoo \"$SAGE_LOCAL\""));
            assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
            assert!(!run.stderr.contains("not found"), "{}", run.stderr);
            for f in &mine {
                assert!(!t.lexists(f), "upstream's uninstall left {f:?}");
            }
        }
        if mode == Mode::Upstream {
            // Upstream's uninstall: pip's uninstall in spkg-piprm removes
            // the shared backports/__init__.py with the first backports
            // package, while nine others still list it.
            let first = "backports_os";
            let run = Run::of(t.sh(&format!("sage-spkg-uninstall {first} \"$SAGE_LOCAL\"")));
            assert_eq!(run.code, 0, "{}", run.stderr);
            let init = format!(
                "{}/backports/__init__.py",
                site(&t.local).strip_prefix(&t.local).unwrap().display()
            );
            assert!(
                !t.lexists(&init),
                "upstream's uninstall of {first} is expected to remove {init} (pip issue \
                 4689), which nine other packages list"
            );
        }
        records.insert(mode, r);
        let _ = std::fs::remove_dir_all(tmp.path().join(format!("{mode:?}")));
    }
    // stagemerge's record and its fallback's list the same files.
    let (a, b) = (&records[&Mode::DropIn], &records[&Mode::Fallback]);
    for (n, files) in a {
        assert_eq!(
            folded(files),
            folded(&b[n]),
            "the records of {n}: stagemerge and fallback"
        );
    }
}

#[test]
fn pip_installed_wheels_keep_shared_files_when_uninstalled_in_any_order() {
    let Some((_heavy, _tmp, t)) = fresh(Mode::DropIn, false) else {
        return;
    };
    let run = t.make();
    assert_installed(&t, &run);
    let dists = t.dist_records();
    let init: Vec<_> = dists
        .values()
        .filter(|f| f.iter().any(|p| p.ends_with("backports/__init__.py")))
        .collect();
    assert!(
        init.len() >= 10,
        "pip installed the backports distributions: {dists:?}"
    );
    uninstall_all(&t);
}

/// Runs `sage-spkg six` in a fresh tree whose site-packages holds a
/// directory where six stages `six.py`.
fn six_conflict(dir: &Path, mode: Mode) -> Option<(Tree, Run)> {
    let t = Tree::new(dir, mode, true)?;
    let blocker = site(&t.local).join("six.py/x");
    std::fs::create_dir_all(&blocker).unwrap();
    let v = &t.pkgs.iter().find(|(n, _)| n == "six").unwrap().1;
    let run = Run::of(t.sh(&format!("sage-spkg six-{v} \"$SAGE_LOCAL\"")));
    Some((t, run))
}

#[test]
fn a_failed_unload_ends_the_install_with_no_record_and_keeps_the_staged_files() {
    let tmp = tempfile::tempdir_in(fast_tmp()).unwrap();
    for mode in [Mode::DropIn, Mode::Fallback, Mode::Upstream] {
        let Some((t, run)) = six_conflict(&tmp.path().join(format!("{mode:?}")), mode) else {
            return;
        };
        let out = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(run.code, 1, "{mode:?}: sage-spkg must fail:\n{out}");
        assert!(!out.contains("Finished installing"), "{mode:?}:\n{out}");
        assert!(
            out.contains("Error moving files for six-"),
            "{mode:?}:\n{out}"
        );
        assert!(
            t.record("six").is_none(),
            "{mode:?}: a record of a failed install"
        );
        if mode == Mode::DropIn {
            assert!(out.contains("is still in"), "where the files are:\n{out}");
            // The staged six.py is kept where the message says.
            let staged: Vec<_> = walk(&t.local.join("var/tmp/sage/build"))
                .into_iter()
                .filter(|p| p.ends_with("site-packages/six.py"))
                .collect();
            assert_eq!(staged.len(), 1, "the staged six.py is kept: {staged:?}");
            // What it did move is owned by the pending record.
            let pending: Vec<_> = std::fs::read_dir(t.installed())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".six-") && n.ends_with(".stagemerge-pending"))
                .collect();
            assert_eq!(pending.len(), 1, "{pending:?}");
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd {
        let p = e.unwrap().path();
        if p.symlink_metadata().unwrap().is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

/// The prefix's own libtool archive and `lib64 -> lib` are still there.
fn prefix_kept(t: &Tree) {
    assert!(
        t.lexists("lib/keep.la"),
        "{:?}: the prefix's lib/keep.la was removed",
        t.mode
    );
    let lib64 = t.local.join("lib64").symlink_metadata().unwrap();
    assert!(
        lib64.is_symlink(),
        "{:?}: the prefix's lib64 -> lib was replaced",
        t.mode
    );
}

#[test]
fn the_staging_location_missing_empty_or_the_prefix_itself_is_handled_as_upstream_or_refused() {
    let tmp = tempfile::tempdir_in(fast_tmp()).unwrap();
    for mode in [Mode::DropIn, Mode::Fallback, Mode::Upstream] {
        let Some(t) = Tree::new(&tmp.path().join(format!("{mode:?}")), mode, true) else {
            return;
        };
        let six = format!("six-{}", t.pkgs.iter().find(|(n, _)| n == "six").unwrap().1);

        // Post-install only, with a build directory but no staging: the
        // unload was done already.
        std::fs::create_dir_all(t.local.join("var/tmp/sage/build").join(&six)).unwrap();
        let run = Run::of(t.sh(&format!("sage-spkg -p {six} \"$SAGE_LOCAL\"")));
        assert_eq!(run.code, 1, "{mode:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stdout
                .contains("does not exist; has it been unloaded already?"),
            "{mode:?}: {}",
            run.stdout
        );
        assert!(t.record("six").is_none());

        // MinGW: no staging (SAGE_DESTDIR empty); the package installs in
        // place and nothing of the prefix is removed.
        std::fs::write(
            t.local.join("lib/keep.la"),
            "a libtool archive of the prefix",
        )
        .unwrap();
        let run = Run::of(t.sh("MSYSTEM=MINGW64 sage-spkg libfoo-1.0 \"$SAGE_LOCAL\""));
        assert_eq!(run.code, 0, "{mode:?}: {}{}", run.stdout, run.stderr);
        prefix_kept(&t);
        assert!(t.lexists("include/foo.h"), "{mode:?}: installed in place");

        // A staging root of / makes the "staged" prefix the live one: the
        // drop-in refuses before removing anything. (Upstream removes the
        // prefix's lib/*.la and lib64, tars the prefix onto itself and
        // runs `rm -rf /`, which GNU rm alone refuses: not run here.)
        if mode != Mode::Upstream {
            let run = Run::of(
                t.sh("MSYSTEM=MINGW64 SAGE_DESTDIR=/ sage-spkg libfoo-1.0 \"$SAGE_LOCAL\""),
            );
            assert_eq!(run.code, 1, "{mode:?}: {}{}", run.stdout, run.stderr);
            assert!(
                run.stderr.contains("is, or holds, the prefix"),
                "{}",
                run.stderr
            );
            prefix_kept(&t);
            // The reinstall uninstalled the MinGW install's record first.
            assert!(t.record("libfoo").is_none());
        }
    }
}

/// A `stagemerge` first on PATH that runs the real one's `merge` under
/// `timeout -s KILL <delay>` (killed at that instant, whatever it is doing),
/// or, without a delay, timed: its wall time in microseconds is appended to
/// `DIR/merge-us`.
fn wrapped_stagemerge(dir: &Path, delay: Option<f64>) -> PathBuf {
    let wrap = dir.join(match delay {
        Some(d) => format!("kill-{d:.4}"),
        None => "timed".into(),
    });
    std::fs::create_dir_all(&wrap).unwrap();
    let merge = match delay {
        Some(d) => format!("exec timeout -s KILL {d:.4} '{}' \"$@\"", bin()),
        None => format!(
            "s=$(date +%s%N); '{}' \"$@\"; rc=$?; echo $(( ($(date +%s%N) - s) / 1000 )) >> '{}'; exit $rc",
            bin(),
            dir.join("merge-us").display()
        ),
    };
    let script = format!(
        "#!/bin/bash\nif [ \"$1\" = merge ]; then {merge}; fi\nexec '{}' \"$@\"\n",
        bin()
    );
    let path = wrap.join("stagemerge");
    std::fs::write(&path, script).unwrap();
    crate::util::set_mode(&path, 0o755);
    wrap
}

#[test]
fn an_unload_killed_at_spread_instants_is_finished_by_sage_p_with_the_record_a_whole_run_writes() {
    let Some((_heavy, tmp, t)) = fresh(Mode::DropIn, true) else {
        return;
    };
    // The package with the most files of the set, installed once whole for
    // the reference record and the merge's duration.
    let name = "zope_interface";
    let v = t.pkgs.iter().find(|(n, _)| n == name).unwrap().1.clone();
    let spkg = format!("sage-spkg {name}-{v} \"$SAGE_LOCAL\"");
    let with = |wrap: &Path| {
        Run::of(t.sh(&format!(
            "export PATH='{}':\"$PATH\" && {spkg}",
            wrap.display()
        )))
    };
    // The whole stagemerge process of the unload, timed: the shortest of
    // three installs (the first may pay for cold caches).
    for _ in 0..3 {
        let run = with(&wrapped_stagemerge(tmp.path(), None));
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    }
    let want = t.record(name).unwrap();
    let merge = std::fs::read_to_string(tmp.path().join("merge-us"))
        .unwrap()
        .lines()
        .map(|l| l.parse::<f64>().unwrap() / 1e6)
        .fold(f64::INFINITY, f64::min);
    let trials = crate::util::kill_trials(if crate::util::soak() { 60 } else { 8 });
    let mut interrupted = 0;
    for i in 0..trials {
        // Spread over the process's run.
        let delay = 0.001 + merge * i as f64 / trials as f64;
        let killed = with(&wrapped_stagemerge(tmp.path(), Some(delay)));
        if killed.code == 0 {
            // The merge finished before the kill: installed whole.
            assert_eq!(
                t.record(name).as_ref(),
                Some(&want),
                "trial {i} ({delay:.4} s)"
            );
            continue;
        }
        interrupted += 1;
        let out = format!("{}{}", killed.stdout, killed.stderr);
        assert!(out.contains("Error moving files for"), "trial {i}: {out}");
        assert!(
            t.record(name).is_none(),
            "trial {i}: a record after a killed unload"
        );
        // What a user runs next: the unload and the rest of the install,
        // from the kept build directory.
        let again = Run::of(t.sh(&format!("sage-spkg -p {name}-{v} \"$SAGE_LOCAL\"")));
        assert_eq!(
            again.code, 0,
            "trial {i} ({delay:.4} s): sage -p after the kill:\n{}{}",
            again.stdout, again.stderr
        );
        assert_eq!(
            t.record(name).as_ref(),
            Some(&want),
            "trial {i} ({delay:.4} s): the record after the kill and sage -p"
        );
        for f in &want {
            assert!(t.lexists(f), "trial {i}: {f} missing");
        }
        let pending: Vec<_> = std::fs::read_dir(t.installed())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(pending.is_empty(), "trial {i}: {pending:?}");
    }
    eprintln!(
        "{interrupted} of {trials} unloads were killed inside stagemerge (its run: {merge:.4} s) \
         and finished by sage -p"
    );
    assert!(
        interrupted * 2 >= trials,
        "most kills must land inside the merge ({interrupted} of {trials})"
    );
}
