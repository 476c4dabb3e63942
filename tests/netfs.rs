//! A shared prefix on a network filesystem that two machines write (issue
//! 26): one server directory, two client mounts with caches of their own
//! (`util::netfs`). Each test writes through one client what the other has
//! already seen, so that the other's cached view is stale, and checks that
//! what the tool decides through the stale client still holds.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::netfs::TwoClients;
use crate::util::{Run, bin};

fn sshfs() -> Option<TwoClients> {
    match TwoClients::sshfs() {
        Ok(c) => Some(c),
        Err(why) => {
            eprintln!("skipped: {why}");
            None
        }
    }
}

fn stagemerge<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Run {
    let mut c = Command::new(bin());
    c.args(args);
    Run::of(c)
}

/// `merge --manifest INST/NAME --manifest-dir INST STAGE T` through
/// `client`, with `extra` options first.
fn merge(client: &Path, stage: &Path, name: &str, extra: &[&str]) -> Run {
    let mut args: Vec<OsString> = vec!["merge".into()];
    args.extend(extra.iter().map(OsString::from));
    args.extend([
        "--manifest".into(),
        client.join("INST").join(name).into(),
        "--manifest-dir".into(),
        client.join("INST").into(),
        stage.into(),
        client.join("T").into(),
    ]);
    stagemerge(args)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A package staged at `root/stage-NAME`: `lib/ns/__init__.py` (the shared
/// namespace file, `shared` bytes) and `lib/ns/NAME.py`.
fn stage(root: &Path, name: &str, shared: &[u8]) -> PathBuf {
    let s = root.join(format!("stage-{name}"));
    fs::create_dir_all(s.join("lib/ns")).unwrap();
    fs::write(s.join("lib/ns/__init__.py"), shared).unwrap();
    fs::write(s.join(format!("lib/ns/{name}.py")), name).unwrap();
    s
}

/// Issue 26, 1: client B listed the directory of records when only `a` was
/// installed; `b` was then merged through client A. B's cached listing
/// still shows only `a`, and an uninstall of `a` through B that trusted it
/// removed `lib/ns/__init__.py`, which `b` needs, with exit 0.
#[test]
fn an_uninstall_through_a_client_with_a_stale_listing_keeps_what_the_other_client_recorded() {
    let Some(c) = sshfs() else { return };
    let (a, b) = (&c.a, &c.b);
    for d in ["T", "INST"] {
        fs::create_dir(a.join(d)).unwrap();
    }
    let sa = stage(b, "a", b"ns\n");
    let sb = stage(a, "b", b"ns\n");
    merge(b, &sa, "a", &[]).assert_code(0);
    assert_eq!(names(&b.join("INST")), ["a"]);
    merge(a, &sb, "b", &[]).assert_code(0);
    // The precondition: B's view is stale (else this test shows nothing).
    assert_eq!(names(&a.join("INST")), ["a", "b"]);
    assert_eq!(
        names(&b.join("INST")),
        ["a"],
        "client B's listing is expected to be cached"
    );
    let r = stagemerge([
        OsString::from("uninstall"),
        "--manifest".into(),
        b.join("INST/a").into(),
        "--manifest-dir".into(),
        b.join("INST").into(),
        b.join("T").into(),
    ]);
    r.assert_code(0)
        .assert_stderr_has("another installed package lists it too")
        .assert_stderr_has("keeps locks on this machine");
    for client in [a, b] {
        assert_eq!(
            fs::read(client.join("T/lib/ns/__init__.py")).unwrap(),
            b"ns\n",
            "b's shared file through {}",
            client.display()
        );
        assert!(client.join("T/lib/ns/b.py").exists());
        assert!(!client.join("T/lib/ns/a.py").exists());
    }
    assert_eq!(names(&c.server.join("INST")), ["b"]);
}

/// The merge's side of the same staleness: B's listing shows only `a`
/// when `c` (a different `__init__.py`) is merged through B with
/// `--on-owned fail` after `b` was recorded through A; the conflict must
/// name `b` as an owner, as a merge on one machine would.
#[test]
fn a_merge_through_a_client_with_a_stale_listing_sees_the_owner_the_other_client_recorded() {
    let Some(cl) = sshfs() else { return };
    let (a, b) = (&cl.a, &cl.b);
    for d in ["T", "INST"] {
        fs::create_dir(a.join(d)).unwrap();
    }
    let sa = stage(b, "a", b"ns\n");
    let sb = stage(a, "b", b"ns\n");
    let sc = stage(b, "c", b"other\n");
    merge(b, &sa, "a", &[]).assert_code(0);
    assert_eq!(names(&b.join("INST")), ["a"]);
    merge(a, &sb, "b", &[]).assert_code(0);
    assert_eq!(
        names(&b.join("INST")),
        ["a"],
        "client B's listing is expected to be cached"
    );
    let r = merge(b, &sc, "c", &["--on-owned", "fail"]);
    r.assert_code(1).assert_stderr_has("b");
    let err = &r.stderr;
    assert!(
        err.lines()
            .any(|l| l.contains("lib/ns/__init__.py") && l.contains("a, b")),
        "the conflict names both owners:\n{err}"
    );
    assert_eq!(fs::read(a.join("T/lib/ns/__init__.py")).unwrap(), b"ns\n");
}

/// Issue 26, 5: `--lock` on sshfs took the "same" lock through both
/// clients at once, with no word. A lock that cannot exclude other
/// machines is refused before anything moves, unless
/// `--lock-this-machine` says this machine is enough.
#[test]
fn a_lock_that_cannot_exclude_the_other_client_is_refused_unless_asked_for() {
    let Some(c) = sshfs() else { return };
    fs::create_dir(c.a.join("T")).unwrap();
    let s = stage(&c.a, "a", b"ns\n");
    let lock = c.b.join("sage.lock");
    let run = |extra: &[&str]| {
        let mut args: Vec<OsString> = vec!["merge".into(), "--lock".into(), lock.clone().into()];
        args.extend(extra.iter().map(OsString::from));
        args.extend([s.clone().into(), c.a.join("T").into()]);
        stagemerge(args)
    };
    run(&[])
        .assert_code(2)
        .assert_stderr_has("would not exclude other machines")
        .assert_stderr_has("sshfs");
    assert_eq!(names(&c.a.join("T")), Vec::<String>::new(), "nothing moved");
    assert!(s.join("lib/ns/a.py").exists());
    run(&["--lock-this-machine"])
        .assert_code(0)
        .assert_stderr_has("excludes this machine's processes only");
    assert_eq!(fs::read(c.b.join("T/lib/ns/a.py")).unwrap(), b"a");
}
