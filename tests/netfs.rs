//! A shared prefix on a network filesystem that two machines write (issue
//! 26): one server directory, two client mounts with caches of their own
//! (`util::netfs`). Each test writes through one client what the other has
//! already seen, so that the other's cached view is stale, and checks that
//! what the tool decides through the stale client still holds.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::util::corpus::{corpus, sh, stages};
use crate::util::netfs::{Rclone, TwoClients};
use crate::util::packages::shuffled;
use crate::util::{KillSpread, Node, Run, Snapshot, bin, kill_trials, soak};

/// The fixture, or `None` after printing why it cannot be set up here.
fn or_skip(fixture: Result<TwoClients, crate::util::netfs::Skip>) -> Option<TwoClients> {
    match fixture {
        Ok(c) => Some(c),
        Err(why) => {
            eprintln!("skipped: {why}");
            None
        }
    }
}

fn sshfs() -> Option<TwoClients> {
    or_skip(TwoClients::sshfs())
}

/// One scenario as three tests: through two sshfs clients, two GlusterFS
/// clients and two MooseFS clients.
macro_rules! on_network_filesystems {
    ($scenario:ident: $on_sshfs:ident, $on_glusterfs:ident, $on_moosefs:ident) => {
        #[test]
        fn $on_sshfs() {
            if let Some(c) = sshfs() {
                $scenario(&c);
            }
        }

        #[test]
        fn $on_glusterfs() {
            if let Some(c) = glusterfs() {
                $scenario(&c);
            }
        }

        #[test]
        fn $on_moosefs() {
            if let Some(c) = moosefs() {
                $scenario(&c);
            }
        }
    };
}

/// A Python process that runs `code` on `path` and is waited for until it
/// prints its first line (`ready`): it holds what it took from then on.
fn holding(code: &str, path: &Path, ready: &str) -> std::process::Child {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(code)
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), ready);
    child
}

fn glusterfs() -> Option<TwoClients> {
    or_skip(TwoClients::glusterfs())
}

fn moosefs() -> Option<TwoClients> {
    or_skip(TwoClients::moosefs())
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
fn uninstall_keeps_what_the_other_client_recorded(c: &TwoClients) {
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
    expect_stale(c, &names(&b.join("INST")), ["a"]);
    let r = stagemerge([
        OsString::from("uninstall"),
        "--manifest".into(),
        b.join("INST/a").into(),
        "--manifest-dir".into(),
        b.join("INST").into(),
        b.join("T").into(),
    ]);
    r.assert_code(0)
        .assert_stderr_has("another installed package lists it too");
    if c.kind == "sshfs" {
        r.assert_stderr_has("keeps locks on this machine");
    }
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

on_network_filesystems!(uninstall_keeps_what_the_other_client_recorded: an_uninstall_through_an_sshfs_client_with_a_stale_listing_keeps_what_the_other_recorded, an_uninstall_through_one_glusterfs_client_keeps_what_the_other_recorded, an_uninstall_through_one_moosefs_client_keeps_what_the_other_recorded);

/// The merge's side of the same staleness: B's listing shows only `a`
/// when `c` (a different `__init__.py`) is merged through B with
/// `--on-owned fail` after `b` was recorded through A; the conflict must
/// name `b` as an owner, as a merge on one machine would.
fn merge_sees_the_owner_the_other_client_recorded(c: &TwoClients) {
    let (a, b) = (&c.a, &c.b);
    for d in ["T", "INST"] {
        fs::create_dir(a.join(d)).unwrap();
    }
    let sa = stage(b, "a", b"ns\n");
    let sb = stage(a, "b", b"ns\n");
    let sc = stage(b, "c", b"other\n");
    merge(b, &sa, "a", &[]).assert_code(0);
    assert_eq!(names(&b.join("INST")), ["a"]);
    merge(a, &sb, "b", &[]).assert_code(0);
    expect_stale(c, &names(&b.join("INST")), ["a"]);
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

on_network_filesystems!(merge_sees_the_owner_the_other_client_recorded: a_merge_through_an_sshfs_client_with_a_stale_listing_sees_the_owner_the_other_recorded, a_merge_through_one_glusterfs_client_sees_the_owner_the_other_recorded, a_merge_through_one_moosefs_client_sees_the_owner_the_other_recorded);

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

/// Issue 26, 7: on a filesystem with neither `RENAME_NOREPLACE` nor hard
/// links (rclone's mount), the merge replaced TARGET's older file by a
/// replacing rename, then failed to place the next file. Now it is refused
/// before anything moves, naming what each primitive answered, and no
/// record or journal is written.
#[test]
fn a_filesystem_that_can_neither_rename_without_replacing_nor_link_is_refused_whole() {
    let m = match Rclone::mount() {
        Ok(m) => m,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let root = &m.point;
    fs::create_dir_all(root.join("T/lib")).unwrap();
    fs::create_dir(root.join("INST")).unwrap();
    fs::write(root.join("T/lib/a"), b"old").unwrap();
    let s = root.join("S");
    fs::create_dir_all(s.join("lib")).unwrap();
    fs::write(s.join("lib/a"), b"new").unwrap();
    fs::write(s.join("lib/b"), b"b").unwrap();
    for records in [false, true] {
        let mut args: Vec<OsString> = vec!["merge".into()];
        if records {
            args.extend([
                "--manifest".into(),
                root.join("INST/p").into(),
                "--manifest-dir".into(),
                root.join("INST").into(),
            ]);
        }
        args.extend([s.clone().into(), root.join("T").into()]);
        stagemerge(args)
            .assert_code(2)
            .assert_stderr_has("can neither rename without replacing")
            .assert_stderr_has("nor make a hard link");
        assert_eq!(fs::read(root.join("T/lib/a")).unwrap(), b"old");
        assert_eq!(names(&root.join("T/lib")), ["a"]);
        assert_eq!(names(&s.join("lib")), ["a", "b"]);
        assert_eq!(names(&root.join("INST")), Vec::<String>::new());
        assert_eq!(names(&root.join("T")), ["lib"], "no probe left behind");
    }
}

/// Issue 26, 4: client B had looked at a package's journal while another
/// machine's merge was writing the record; the journal was removed through
/// A, but B's cached attributes still showed it, and `uninstall` through B
/// refused the finished install as incomplete for 21 s (exit 2).
fn uninstall_goes_ahead_once_the_other_client_removed_the_journal(c: &TwoClients) {
    let (a, b) = (&c.a, &c.b);
    for d in ["T", "INST"] {
        fs::create_dir(a.join(d)).unwrap();
    }
    let s = stage(a, "p", b"ns\n");
    merge(a, &s, "p", &[]).assert_code(0);
    let journal = "INST/p.stagemerge-journal";
    fs::write(a.join(journal), b"{}").unwrap();
    assert!(b.join(journal).exists(), "B sees the journal");
    fs::remove_file(a.join(journal)).unwrap();
    if c.kind == "sshfs" {
        assert!(
            b.join(journal).exists(),
            "B's cached attributes are expected to still show it"
        );
    }
    stagemerge([
        OsString::from("uninstall"),
        "--manifest".into(),
        b.join("INST/p").into(),
        "--manifest-dir".into(),
        b.join("INST").into(),
        b.join("T").into(),
    ])
    .assert_code(0)
    .assert_stderr_lacks("incomplete");
    assert!(!c.server.join("T/lib/ns/p.py").exists());
    assert_eq!(names(&c.server.join("INST")), Vec::<String>::new());
}

/// The namespace families of the corpus (packages of one family share
/// directories and `__init__.py`).
const FAMILIES: [&str; 4] = ["backports.", "jaraco.", "sphinxcontrib", "zope."];

/// Merges in a round, as `make -j16`.
const JOBS: usize = 16;

/// A staged tree as a record should list it: path -> (kind, digest or
/// link text).
fn listing_of_stage(stage: &Path) -> BTreeMap<String, (String, String)> {
    Snapshot::of(stage)
        .nodes
        .into_iter()
        .filter_map(|(p, n)| {
            let p = String::from_utf8(p).unwrap();
            match n {
                Node::File { data, .. } => {
                    Some((p, ("file".into(), hex::encode(Sha256::digest(&data)))))
                }
                Node::Link { text } => {
                    Some((p, ("symlink".into(), String::from_utf8(text).unwrap())))
                }
                _ => None,
            }
        })
        .collect()
}

/// What a JSON record lists, in [`listing_of_stage`]'s terms.
fn listing_of_record(record: &Path) -> BTreeMap<String, (String, String)> {
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(record).unwrap()).unwrap();
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| {
            let kind = f["kind"].as_str()?.to_owned();
            let what = match kind.as_str() {
                "symlink" => f["target"].as_str()?.to_owned(),
                _ => f["sha256"].as_str()?.to_owned(),
            };
            Some((f["path"].as_str()?.to_owned(), (kind, what)))
        })
        .collect()
}

/// For each path an uninstall's `stderr` says it kept, what the server
/// holds there (the digest's first 12 hex digits) and which version each
/// record in `root/INST` lists: a failed round says whose file was there.
fn kept_on_server(stderr: &str, root: &Path) -> String {
    let short = |d: &str| d.chars().take(12).collect::<String>();
    let mut out = String::new();
    for line in stderr.lines().filter(|l| l.contains("warning: kept ")) {
        let Some(rel) = line
            .split_once("/T/")
            .and_then(|(_, r)| r.split_once(": ").map(|(p, _)| p))
        else {
            continue;
        };
        let held = match fs::read(root.join("T").join(rel)) {
            Ok(b) => short(&hex::encode(Sha256::digest(&b))),
            Err(e) => e.to_string(),
        };
        out.push_str(&format!("{rel}: {held}; listed by"));
        for e in fs::read_dir(root.join("INST")).unwrap().flatten() {
            if let Some((_, d)) = listing_of_record(&e.path()).get(rel) {
                out.push_str(&format!(
                    " {} ({})",
                    e.file_name().to_string_lossy(),
                    short(d)
                ));
            }
        }
        out.push('\n');
    }
    out
}

/// Every path a remaining record lists is in TARGET (seen on the server).
fn shared_files_present(target: &Path, records: &Path) -> Result<(), String> {
    for e in fs::read_dir(records).unwrap() {
        let e = e.unwrap();
        for p in listing_of_record(&e.path()).keys() {
            if target.join(p).symlink_metadata().is_err() {
                return Err(format!(
                    "{p} is missing while {} lists it",
                    e.file_name().to_string_lossy()
                ));
            }
        }
    }
    Ok(())
}

/// One round on `c`: the families' packages (16 of them, chosen by `seed`)
/// staged through client A, merged at once with JSON records and
/// `--manifest-dir`, even ones through A and odd ones through B; then
/// uninstalled one after another in a random order through alternating
/// clients. Every merge and uninstall exits 0; every stage is emptied and
/// its record lists it exactly; after each uninstall every path a remaining
/// record lists is there; at the end nothing is left.
fn round(c: &TwoClients, corpus: &Path, seed: u64) -> Result<(), String> {
    let mut pkgs: Vec<PathBuf> = stages(corpus, "wheels", &[])
        .into_iter()
        .filter(|s| {
            let n = s.file_name().unwrap().to_string_lossy();
            FAMILIES.iter().any(|f| n.starts_with(f))
        })
        .collect();
    pkgs = shuffled(&pkgs, seed);
    pkgs.truncate(JOBS);
    let top = format!("round-{seed}");
    let via = |k: usize| if k.is_multiple_of(2) { &c.a } else { &c.b };
    let at = |client: &Path, rel: &str| client.join(&top).join(rel);
    for d in ["T", "INST", "S"] {
        fs::create_dir_all(at(&c.a, d)).unwrap();
    }
    let mut expected = Vec::new();
    for (k, p) in pkgs.iter().enumerate() {
        let s = at(&c.a, &format!("S/{k}"));
        sh(Command::new("cp").arg("-a").arg(p).arg(&s));
        expected.push(listing_of_stage(&s));
    }
    let name = |k: usize| pkgs[k].file_name().unwrap().to_string_lossy().into_owned();
    let children: Vec<_> = (0..pkgs.len())
        .map(|k| {
            let cl = via(k);
            let mut cmd = Command::new(bin());
            cmd.arg("merge")
                .arg("--manifest")
                .arg(at(cl, &format!("INST/{}", name(k))))
                .args(["--manifest-format", "json", "--manifest-dir"])
                .arg(at(cl, "INST"))
                .arg(at(cl, &format!("S/{k}")))
                .arg(at(cl, "T"))
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    for (k, child) in children.into_iter().enumerate() {
        let r = Run::from_output(child.wait_with_output().unwrap());
        if r.code != 0 {
            return Err(format!(
                "merge of {} exited {}:\n{}",
                name(k),
                r.code,
                r.stderr
            ));
        }
    }
    // Checked on the server's side: the clients' caches are what is tested.
    let server = c.server.join(&top);
    for (k, expected) in expected.iter().enumerate() {
        let left = Snapshot::of(&server.join(format!("S/{k}")));
        if !left.is_empty() {
            return Err(format!(
                "{}: left in its stage: {:?}",
                name(k),
                left.paths()
            ));
        }
        let listed = listing_of_record(&server.join("INST").join(name(k)));
        if listed != *expected {
            let diff: Vec<_> = expected
                .iter()
                .filter(|(p, v)| listed.get(*p) != Some(v))
                .map(|(p, _)| p.clone())
                .chain(
                    listed
                        .keys()
                        .filter(|p| !expected.contains_key(*p))
                        .cloned(),
                )
                .take(5)
                .collect();
            return Err(format!(
                "{}'s record differs from its stage at {diff:?}",
                name(k)
            ));
        }
    }
    shared_files_present(&server.join("T"), &server.join("INST"))?;
    for (i, k) in shuffled(&(0..pkgs.len()).collect::<Vec<_>>(), seed ^ 0x5eed)
        .into_iter()
        .enumerate()
    {
        let cl = via(i);
        let r = stagemerge([
            OsString::from("uninstall"),
            "--manifest".into(),
            at(cl, &format!("INST/{}", name(k))).into(),
            "--manifest-dir".into(),
            at(cl, "INST").into(),
            at(cl, "T").into(),
        ]);
        if r.code != 0 {
            return Err(format!(
                "uninstall of {} through {} exited {}:\n{}\nas the server holds them:\n{}",
                name(k),
                if i.is_multiple_of(2) { "A" } else { "B" },
                r.code,
                r.stderr,
                kept_on_server(&r.stderr, &server)
            ));
        }
        shared_files_present(&server.join("T"), &server.join("INST"))
            .map_err(|e| format!("after uninstalling {}: {e}", name(k)))?;
    }
    let left: Vec<String> = Snapshot::of(&server.join("T"))
        .paths()
        .into_iter()
        // Replaced versions set aside for other clients' readers stay a
        // day (core/src/aside.rs); everything else must be gone.
        .filter(|p| !p.starts_with(".glusterfs") && !p.starts_with(".stagemerge/aside"))
        .filter(|p| p != ".stagemerge")
        .collect();
    if !left.is_empty() || !names(&server.join("INST")).is_empty() {
        return Err(format!(
            "left at the end: {left:?}, records {:?}",
            names(&server.join("INST"))
        ));
    }
    Ok(())
}

/// Issue 26's rounds: 2 (20 with `STAGEMERGE_SOAK=1`, the issue's 5 and
/// more) of [`round`] on `c`,
/// each seed printed with its failure.
fn rounds(c: &TwoClients) {
    let Some(corpus) = corpus() else { return };
    let n = if soak() { 20 } else { 2 };
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let seeds: Vec<u64> = match std::env::var("STAGEMERGE_NETFS_SEED") {
        Ok(s) => vec![s.parse().expect("a seed is a number")],
        Err(_) => (0..n).map(|r| base.wrapping_mul(100) + r).collect(),
    };
    for seed in seeds {
        if let Err(e) = round(c, &corpus, seed) {
            panic!(
                "{} round with seed {seed} failed (replay: STAGEMERGE_NETFS_SEED={seed}):\n{e}",
                c.kind
            );
        }
    }
}

#[test]
fn sixteen_merges_through_two_sshfs_clients_then_uninstalls_keep_every_invariant() {
    let _heavy = crate::util::heavy();
    let Some(c) = sshfs() else { return };
    rounds(&c);
}

#[test]
fn sixteen_merges_through_two_glusterfs_clients_then_uninstalls_keep_every_invariant() {
    let _heavy = crate::util::heavy();
    let Some(c) = glusterfs() else { return };
    rounds(&c);
}

#[test]
fn sixteen_merges_through_two_moosefs_clients_then_uninstalls_keep_every_invariant() {
    let _heavy = crate::util::heavy();
    let Some(c) = moosefs() else { return };
    rounds(&c);
}

on_network_filesystems!(uninstall_goes_ahead_once_the_other_client_removed_the_journal: an_uninstall_through_an_sshfs_client_that_saw_the_journal_goes_ahead_once_it_is_gone, an_uninstall_through_a_glusterfs_client_that_saw_the_journal_goes_ahead_once_it_is_gone, an_uninstall_through_a_moosefs_client_that_saw_the_journal_goes_ahead_once_it_is_gone);

/// On GlusterFS and MooseFS a lock passes to the server: `--lock` through
/// A waits while a process holds the same file's flock through B.
fn lock_waits_for_a_holder_through_the_other(c: &TwoClients) {
    fs::create_dir(c.a.join("T")).unwrap();
    let s = stage(&c.a, "a", b"ns\n");
    let lock = c.b.join("sage.lock");
    // Held until this test closes its stdin.
    let mut holder = holding(
        "import fcntl, sys\nf = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX)\n\
         print('locked', flush=True); sys.stdin.read()",
        &lock,
        "locked",
    );
    let releaser = {
        let stdin = holder.stdin.take();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(2));
            drop(stdin);
        })
    };
    let started = std::time::Instant::now();
    stagemerge([
        OsString::from("merge"),
        "--lock".into(),
        c.a.join("sage.lock").into(),
        s.clone().into(),
        c.a.join("T").into(),
    ])
    .assert_code(0)
    .assert_stderr_has("waiting for exclusive lock");
    releaser.join().unwrap();
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1000),
        "it waited for the holder through the other client"
    );
    let _ = holder.wait();
    assert_eq!(fs::read(c.b.join("T/lib/ns/a.py")).unwrap(), b"a");
}

#[test]
fn a_lock_through_one_glusterfs_client_waits_for_a_holder_through_the_other() {
    if let Some(c) = glusterfs() {
        lock_waits_for_a_holder_through_the_other(&c);
    }
}

#[test]
fn a_lock_through_one_moosefs_client_waits_for_a_holder_through_the_other() {
    if let Some(c) = moosefs() {
        lock_waits_for_a_holder_through_the_other(&c);
    }
}

/// Asserts the precondition that makes a staleness test mean something:
/// through sshfs B's listing is still the one it cached. GlusterFS lists on
/// the server; there the scenario runs all the same.
#[track_caller]
fn expect_stale<const N: usize>(c: &TwoClients, seen: &[String], cached: [&str; N]) {
    if c.kind == "sshfs" {
        assert_eq!(seen, cached, "client B's listing is expected to be cached");
    }
}

/// Issue 26, 2: merge X through client A is still running when Y places
/// `zz/shared.py` through client B; X must keep Y's version (the first
/// writer's) and say so, though sshfs reports a change time equal to the
/// file's modification time. X's stage holds an identical `zz/a.py` that
/// an earlier package placed, so X looks at `zz/shared.py` before it acts;
/// and Y starts only once X has replaced W's `0/first.py`.
fn first_writer_through_the_other_client_keeps_its_version(c: &TwoClients) {
    first_writer(c, true);
}

/// [`first_writer_through_the_other_client_keeps_its_version`] without
/// records: no journal tells X of Y, only what the filesystem shows.
fn first_writer_without_records_through_the_other_client_keeps_its_version(c: &TwoClients) {
    first_writer(c, false);
}

fn first_writer(c: &TwoClients, records: bool) {
    let root = |cl: &Path, x: &str| cl.join("fw").join(x);
    for d in ["T", "INST", "X/0", "X/a", "X/zz", "Y/zz", "W/0", "W/zz"] {
        fs::create_dir_all(root(&c.a, d)).unwrap();
    }
    // X replaces W's `0/first.py` first of all, before Y starts: X asks
    // about merges that began later then, and a client that caches the
    // directory of records' attributes would answer every later question
    // from that moment.
    fs::write(root(&c.a, "W/0/first.py"), b"w\n").unwrap();
    fs::write(root(&c.a, "X/0/first.py"), b"x\n").unwrap();
    for i in 0..3000 {
        fs::write(root(&c.a, &format!("X/a/f{i}")), format!("{i}\n")).unwrap();
    }
    fs::write(root(&c.a, "X/zz/shared.py"), b"X\n").unwrap();
    fs::write(root(&c.a, "X/zz/a.py"), b"same\n").unwrap();
    fs::write(root(&c.a, "W/zz/a.py"), b"same\n").unwrap();
    fs::write(root(&c.a, "Y/zz/shared.py"), b"Y\n").unwrap();
    let merge_json = |cl: &Path, name: &str, stage: &str| {
        let mut cmd = Command::new(bin());
        cmd.arg("merge");
        if records {
            cmd.arg("--manifest")
                .arg(root(cl, &format!("INST/{name}")))
                .args(["--manifest-format", "json", "--manifest-dir"])
                .arg(root(cl, "INST"));
        }
        cmd.arg(root(cl, stage)).arg(root(cl, "T"));
        cmd
    };
    Run::of(merge_json(&c.a, "w", "W")).assert_code(0);
    let x = merge_json(&c.a, "x", "X")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // X is under way once its journal is on the server.
    let first = c.server.join("fw/T/0/first.py");
    let started = std::time::Instant::now();
    while fs::read(&first).ok().as_deref() != Some(b"x\n") {
        assert!(
            started.elapsed().as_secs() < 30,
            "X never replaced 0/first.py"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    Run::of(merge_json(&c.b, "y", "Y")).assert_code(0);
    // Y finished while X ran: its file is on the server (and its record,
    // where there are records) before X is waited for.
    let y_done = fs::read(c.server.join("fw/T/zz/shared.py")).ok().as_deref() == Some(b"Y\n")
        && (!records || c.server.join("fw/INST/y").exists());
    let x = Run::from_output(x.wait_with_output().unwrap());
    assert!(y_done, "Y finished");
    // Y placed its file long before X (3000 files before it; Y waits up to a second for its start to pass on a whole-second filesystem) reached it.
    x.assert_stderr_has("concurrent write");
    x.assert_code(0);
    assert_eq!(
        fs::read(c.server.join("fw/T/zz/shared.py")).unwrap(),
        b"Y\n",
        "the first writer's version stays:\n{}",
        x.stderr
    );
}

on_network_filesystems!(first_writer_through_the_other_client_keeps_its_version: the_first_writer_through_the_other_sshfs_client_keeps_its_version, the_first_writer_through_the_other_glusterfs_client_keeps_its_version, the_first_writer_through_the_other_moosefs_client_keeps_its_version);
#[test]
fn without_records_the_first_writer_through_the_other_glusterfs_client_keeps_its_version() {
    if let Some(c) = glusterfs() {
        first_writer_without_records_through_the_other_client_keeps_its_version(&c);
    }
}

#[test]
#[ignore = "open (issue 26, 2): without records X replaces Y's file: sshfs reports a change time equal to the modification time (the staged file's, older than X's start), and client A's 20 s attribute cache still shows zz/ as W's merge left it"]
fn without_records_the_first_writer_through_the_other_sshfs_client_keeps_its_version() {
    if let Some(c) = sshfs() {
        first_writer_without_records_through_the_other_client_keeps_its_version(&c);
    }
}

/// Regression (issue 26, 2): MooseFS stamps change times in whole seconds,
/// and X's start was this machine's finer clock (`O_TMPFILE` is refused),
/// so Y's write in X's first second looked older than X's start and X
/// replaced it (3 of 3 runs). X's start is now the second it began in,
/// and X waits for the next second before it looks at TARGET.
#[test]
fn without_records_the_first_writer_through_the_other_moosefs_client_keeps_its_version() {
    if let Some(c) = moosefs() {
        first_writer_without_records_through_the_other_client_keeps_its_version(&c);
    }
}

/// Issue 26, 3: a file a program still has open when it is uninstalled
/// stays on an sshfs client as `.fuse_hiddenXXXX`; the directory it keeps
/// from being pruned is reported as deferred, and the uninstall succeeds.
#[test]
fn an_uninstall_leaves_a_directory_held_by_an_open_file_and_says_so() {
    let Some(c) = sshfs() else { return };
    for d in ["T", "INST"] {
        fs::create_dir(c.a.join(d)).unwrap();
    }
    let s = stage(&c.a, "p", b"ns\n");
    merge(&c.a, &s, "p", &[]).assert_code(0);
    let mut holder = holding(
        "import sys\nf = open(sys.argv[1])\nprint('open', flush=True)\nsys.stdin.read()",
        &c.a.join("T/lib/ns/p.py"),
        "open",
    );
    let r = stagemerge([
        OsString::from("uninstall"),
        "--manifest".into(),
        c.a.join("INST/p").into(),
        "--manifest-dir".into(),
        c.a.join("INST").into(),
        c.a.join("T").into(),
    ]);
    drop(holder.stdin.take());
    let _ = holder.wait();
    r.assert_code(0)
        .assert_stderr_has("it holds only .fuse_hidden")
        .assert_stderr_has("deferred: files still open")
        .assert_stderr_has("record removed");
    assert!(!c.server.join("T/lib/ns/p.py").exists());
    assert!(!c.server.join("T/lib/ns/__init__.py").exists());
}

/// The reader of issue 26, 3: through one client, a Python process holds
/// `T/lib/hot.so` open and reads it with `pread` (a running program's
/// mapped library), and also opens it afresh by name and reads it (a
/// program starting), until its stdin closes; it prints how many reads of
/// each kind it made and how many failed, with the first error.
const READER: &str = r#"
import os, sys, threading, json
path = sys.argv[1]
held = os.open(path, os.O_RDONLY)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
def check(data, how):
    # One version's bytes: a line repeated, never empty, never two mixed.
    if len(set(data.split(b"\n")[:-1])) != 1:
        raise OSError("torn or empty read " + how + ": " + repr(data[:40]))
n = {"held": 0, "held_err": 0, "fresh": 0, "fresh_err": 0, "first": None}
print("open", flush=True)
while not stop.is_set():
    try:
        check(os.pread(held, 4096, 0), "held")
    except OSError as e:
        n["held_err"] += 1
        n["first"] = n["first"] or "held: " + str(e)
    n["held"] += 1
    try:
        with open(path, "rb") as f:
            check(f.read(4096), "by name")
    except OSError as e:
        n["fresh_err"] += 1
        n["first"] = n["first"] or "fresh: " + str(e)
    n["fresh"] += 1
print(json.dumps(n), flush=True)
"#;

fn readers_through_the_other_client_keep_working(c: &TwoClients) {
    fs::create_dir(c.a.join("T")).unwrap();
    let version = |i: usize| -> PathBuf {
        let s = c.a.join(format!("v{i}"));
        fs::create_dir_all(s.join("lib")).unwrap();
        fs::write(s.join("lib/hot.so"), version_bytes(i)).unwrap();
        s
    };
    let install = |i: usize| {
        stagemerge([
            OsString::from("merge"),
            version(i).into(),
            c.a.join("T").into(),
        ])
        .assert_code(0);
    };
    install(0);
    let mut reader = holding(READER, &c.b.join("T/lib/hot.so"), "open");
    for i in 1..=20 {
        install(i);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(reader.stdin.take());
    let out = reader.wait_with_output().unwrap();
    let counts = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("reader through {}: {counts}", c.kind);
    assert!(out.status.success());
    assert!(
        counts.contains(r#""held_err": 0,"#) && counts.contains(r#""fresh_err": 0,"#),
        "{counts}"
    );
    assert!(
        !counts.contains(r#""fresh": 0,"#),
        "the reader read: {counts}"
    );
    assert_eq!(
        fs::read(c.server.join("T/lib/hot.so")).unwrap(),
        version_bytes(20)
    );
    // Each replaced version is kept aside (for a day) by its own name.
    assert_eq!(names(&c.server.join("T/.stagemerge/aside")).len(), 20);
}

fn version_bytes(i: usize) -> Vec<u8> {
    format!("{i}\n").repeat(20_000).into_bytes()
}

on_network_filesystems!(readers_through_the_other_client_keep_working: a_reader_through_the_other_sshfs_client_keeps_working_while_merges_replace_its_file, a_reader_through_the_other_glusterfs_client_keeps_working_while_merges_replace_its_file, a_reader_through_the_other_moosefs_client_keeps_working_while_merges_replace_its_file);

/// Not a test: mounts the filesystem `STAGEMERGE_NETFS_FS` names (`sshfs`,
/// `glusterfs` or `moosefs`) twice, runs `sh -c "$STAGEMERGE_NETFS_RUN"` with
/// `NETFS_A`, `NETFS_B` (the two clients) and `NETFS_SERVER` (the server's
/// directory) set, and tears the mounts down: `bench/netfs.py` measures
/// through it, on the fixtures the tests use.
#[test]
#[ignore = "run by bench/netfs.py"]
fn run_a_command_on_two_clients() {
    let (Ok(kind), Ok(run)) = (
        std::env::var("STAGEMERGE_NETFS_FS"),
        std::env::var("STAGEMERGE_NETFS_RUN"),
    ) else {
        panic!("set STAGEMERGE_NETFS_FS and STAGEMERGE_NETFS_RUN");
    };
    let c = match kind.as_str() {
        "sshfs" => TwoClients::sshfs(),
        "glusterfs" => TwoClients::glusterfs(),
        "moosefs" => TwoClients::moosefs(),
        other => panic!("no fixture for {other}"),
    }
    .unwrap_or_else(|why| panic!("{kind}: {why}"));
    let status = Command::new("sh")
        .args(["-c", &run])
        .env("NETFS_A", &c.a)
        .env("NETFS_B", &c.b)
        .env("NETFS_SERVER", &c.server)
        .status()
        .unwrap();
    assert!(status.success(), "{run}: {status}");
}

/// Each file of `target` (the server's view) is one whole version of the
/// package (`versions`: path → (kind, digest or link text) of each), and
/// each path of `staged` is in `target` as staged or still in `stage`.
fn whole(
    target: &Path,
    stage: &Path,
    versions: &[&BTreeMap<String, (String, String)>],
    staged: &BTreeMap<String, (String, String)>,
) -> Result<(), String> {
    let now = listing_of_stage(target);
    for (p, v) in &now {
        if p.starts_with(".stagemerge/") {
            continue;
        }
        if !versions.iter().any(|l| l.get(p) == Some(v)) {
            return Err(format!("{p} in TARGET is no version of the package"));
        }
    }
    let left = if stage.exists() {
        listing_of_stage(stage)
    } else {
        BTreeMap::new()
    };
    for (p, v) in staged {
        if now.get(p) != Some(v) && left.get(p) != Some(v) {
            return Err(format!("{p} is neither in TARGET nor in STAGE as staged"));
        }
    }
    Ok(())
}

/// Kills spread over an upgrade through client A (a JSON record and
/// `--manifest-dir`; every file replaced, each set aside first), each
/// rerun through client B; then kills spread over an uninstall through A,
/// each rerun through B. After every kill each file is whole and each
/// staged one is in TARGET or STAGE; every rerun exits 0 and ends as an
/// uninterrupted run (TARGET, the record, no journal).
fn kills_through_one_client_rerun_through_the_other(c: &TwoClients) {
    let Some(corpus) = corpus() else { return };
    let at = |cl: &Path, x: &str| cl.join("kill").join(x);
    for d in ["T", "INST"] {
        fs::create_dir_all(at(&c.a, d)).unwrap();
    }
    let local = tempfile::tempdir().unwrap();
    let (v1, v2) = (local.path().join("v1"), local.path().join("v2"));
    for v in [&v1, &v2] {
        sh(Command::new("cp")
            .arg("-a")
            .arg(corpus.join("wheels/requests"))
            .arg(v));
    }
    for (p, _) in listing_of_stage(&v2) {
        if p.ends_with(".py") {
            let f = v2.join(&p);
            let mut data = fs::read(&f).unwrap();
            data.extend_from_slice(b"# v2\n");
            fs::write(&f, data).unwrap();
        }
    }
    let (l1, l2) = (listing_of_stage(&v1), listing_of_stage(&v2));
    // A stage of its own per merge: a client's cached view of a stage
    // removed and made again under the same name is not what is tested.
    let staged = |v: &Path, name: &str| {
        sh(Command::new("cp").arg("-a").arg(v).arg(at(&c.a, name)));
    };
    let merge = |cl: &Path, stage: &str| {
        let mut cmd = Command::new(bin());
        cmd.arg("merge")
            .arg("--manifest")
            .arg(at(cl, "INST/p"))
            .args(["--manifest-format", "json", "--manifest-dir"])
            .arg(at(cl, "INST"))
            .arg(at(cl, stage))
            .arg(at(cl, "T"));
        cmd
    };
    let uninstall = |cl: &Path| {
        let mut cmd = Command::new(bin());
        cmd.arg("uninstall")
            .arg("--manifest")
            .arg(at(cl, "INST/p"))
            .arg("--manifest-dir")
            .arg(at(cl, "INST"))
            .arg(at(cl, "T"));
        cmd
    };
    let server = |x: &str| c.server.join("kill").join(x);
    let no_journal = || {
        assert!(
            !server("INST/p.stagemerge-journal").exists(),
            "a journal is left"
        );
    };
    let installs = std::cell::Cell::new(0);
    let install = |v: &Path| {
        let name = format!("I{}", installs.replace(installs.get() + 1));
        staged(v, &name);
        Run::of(merge(&c.a, &name)).assert_code(0);
    };
    install(&v1);
    let trials = kill_trials(if soak() { 20 } else { 3 });
    let started = std::time::Instant::now();
    install(&v2);
    let mut spread = KillSpread::new(started.elapsed(), trials);
    for trial in 0..trials {
        install(&v1);
        let name = format!("U{trial}");
        staged(&v2, &name);
        let mut child = merge(&c.a, &name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (instant, _) = spread.strike(trial, &mut child);
        let what = format!("{}: upgrade killed at {instant:?}", c.kind);
        whole(&server("T"), &server(&name), &[&l1, &l2], &l2)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let rerun = Run::of(merge(&c.b, &name));
        assert_eq!(rerun.code, 0, "{what}, rerun through B:\n{}", rerun.stderr);
        let mut target = listing_of_stage(&server("T"));
        target.retain(|p, _| !p.starts_with(".stagemerge/"));
        assert_eq!(target, l2, "{what}: TARGET after the rerun");
        assert_eq!(
            listing_of_record(&server("INST/p")),
            l2,
            "{what}: the record"
        );
        no_journal();
    }
    spread.assert_inside_runs(&format!("{}: upgrades", c.kind));
    let started = std::time::Instant::now();
    Run::of(uninstall(&c.a)).assert_code(0);
    let mut spread = KillSpread::new(started.elapsed(), trials);
    for trial in 0..trials {
        install(&v1);
        let mut child = uninstall(&c.a)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (instant, _) = spread.strike(trial, &mut child);
        let what = format!("{}: uninstall killed at {instant:?}", c.kind);
        whole(&server("T"), &server("none"), &[&l1], &BTreeMap::new())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        // Killed after its last step (the record's removal): it was done.
        // The record's presence as the server's listing says: a lookup
        // through the server's own mount may still answer from a negative
        // entry it cached when the previous trial's record was removed.
        let listed = fs::read_dir(server("INST"))
            .unwrap()
            .any(|e| e.unwrap().file_name() == "p");
        if listed != server("INST/p").exists() {
            eprintln!("{what}: the record is listed: {listed}; looked up: the opposite");
        }
        if listed {
            let rerun = Run::of(uninstall(&c.b));
            assert_eq!(rerun.code, 0, "{what}, rerun through B:\n{}", rerun.stderr);
        }
        let mut target = listing_of_stage(&server("T"));
        target.retain(|p, _| !p.starts_with(".stagemerge/"));
        assert!(target.is_empty(), "{what}: left in TARGET: {target:?}");
        assert!(!server("INST/p").exists(), "{what}: the record is left");
        no_journal();
    }
    spread.assert_inside_runs(&format!("{}: uninstalls", c.kind));
}

#[test]
#[ignore = "open: on MooseFS (the link into a directory B removed is fixed) 3 of 12 runs still fail: twice a killed upgrade was not whole as the server's mount saw it, once a killed uninstall left every file with its record gone"]
fn kills_spread_over_an_upgrade_and_an_uninstall_through_one_moosefs_client_rerun_through_the_other()
 {
    if let Some(c) = moosefs() {
        kills_through_one_client_rerun_through_the_other(&c);
    }
}

// Each of these finds problems not fixed yet (README,
// "Network filesystems"); run them with `--ignored`.
#[test]
#[ignore = "open: on sshfs an install through A after a removal fails as unstable: A shows the removed directory for up to 20 s (sshfs's own cache), the walk looks again for 1.7 s; earlier also a scan ENOENT on a file just staged"]
fn kills_spread_over_an_upgrade_and_an_uninstall_through_one_sshfs_client_rerun_through_the_other()
{
    if let Some(c) = sshfs() {
        kills_through_one_client_rerun_through_the_other(&c);
    }
}

#[test]
#[ignore = "open: on GlusterFS a killed uninstall once left every file with the record gone"]
fn kills_spread_over_an_upgrade_and_an_uninstall_through_one_glusterfs_client_rerun_through_the_other()
 {
    if let Some(c) = glusterfs() {
        kills_through_one_client_rerun_through_the_other(&c);
    }
}
