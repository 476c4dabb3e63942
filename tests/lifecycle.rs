//! A package's whole life under concurrency (issue 23): merges, reinstalls,
//! upgrades, downgrades and uninstalls of the corpus's namespace families,
//! 16 at a time in a seeded random order, with the invariants of SPEC.md
//! ("A package's life under concurrency") checked after every round.
//!
//! `STAGEMERGE_SOAK=1` runs more rounds; `STAGEMERGE_LIFECYCLE_SEED=N`
//! replays one round. A failing round prints its seed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::util::corpus::{corpus, sh, stages};
use crate::util::packages::{Installed, record_gone};
use crate::util::{Fixture, Prim, Rng, Run, Snapshot, bin, fast_tmp, soak};

/// The namespace families: packages of one family share directories and
/// (some of) their `__init__.py`.
const FAMILIES: [&str; 4] = ["backports.", "jaraco.", "sphinxcontrib", "zope."];

/// Commands running at once, as `make -j16`.
const JOBS: usize = 16;

/// Operations in a round.
const OPS: usize = 150;

/// One package's two versions, staged once (each merge moves hard links of
/// them).
struct Package {
    name: String,
    /// v1 (as the wheel staged it) and v2 (every `.py` changed, one file
    /// added).
    versions: [PathBuf; 2],
}

/// Makes v2 of `stage` at `to`: every `.py` gets a line more, and the
/// package's dist-info directory a file more.
fn second_version(stage: &Path, to: &Path) {
    sh(Command::new("cp").arg("-a").arg(stage).arg(to));
    let mut added = false;
    for (p, _) in Snapshot::of(to).nodes {
        let rel = String::from_utf8(p).unwrap();
        let path = to.join(&rel);
        if rel.ends_with(".py") && path.symlink_metadata().unwrap().is_file() {
            let mut data = fs::read(&path).unwrap();
            data.extend_from_slice(b"# v2\n");
            fs::write(&path, data).unwrap();
        }
        if !added && rel.ends_with(".dist-info") && path.is_dir() {
            fs::write(path.join("ADDED_IN_V2"), b"v2\n").unwrap();
            added = true;
        }
    }
    assert!(added, "{}: a dist-info directory", stage.display());
}

/// The families' packages of the corpus, each in its two versions, under
/// `work`.
fn packages(corpus: &Path, work: &Path) -> Vec<Package> {
    let mut out = Vec::new();
    for s in stages(corpus, "wheels", &[]) {
        let name = s.file_name().unwrap().to_string_lossy().into_owned();
        if !FAMILIES.iter().any(|f| name.starts_with(f)) {
            continue;
        }
        let v1 = work.join("v1").join(&name);
        fs::create_dir_all(v1.parent().unwrap()).unwrap();
        sh(Command::new("cp").arg("-a").arg(&s).arg(&v1));
        let v2 = work.join("v2").join(&name);
        fs::create_dir_all(v2.parent().unwrap()).unwrap();
        second_version(&s, &v2);
        out.push(Package {
            name,
            versions: [v1, v2],
        });
    }
    assert!(
        out.len() >= 20,
        "the corpus has the families: {}",
        out.len()
    );
    out
}

/// What one step does to a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// Merge version `v` (an install, reinstall, upgrade or downgrade).
    Merge(usize),
    /// `uninstall --manifest-dir`.
    Uninstall,
}

/// The round's operations, from a model of each package's state (never
/// installed twice at once; an uninstall only of an installed package).
fn schedule(rng: &mut Rng, n: usize) -> Vec<(usize, Op)> {
    let mut state: Vec<Option<usize>> = vec![None; n];
    (0..OPS)
        .map(|_| {
            let p = rng.below(n);
            let op = match state[p] {
                None => Op::Merge(rng.below(2)),
                // Reinstall, the other version, or uninstall.
                Some(v) => match rng.below(5) {
                    0 | 1 => Op::Merge(1 - v),
                    2 => Op::Merge(v),
                    _ => Op::Uninstall,
                },
            };
            state[p] = match op {
                Op::Merge(v) => Some(v),
                Op::Uninstall => None,
            };
            (p, op)
        })
        .collect()
}

/// The command of one operation, its stage (a fresh farm of hard links)
/// made under `farms`.
fn command(inst: &Installed, pkg: &Package, op: Op, farms: &Path, i: usize) -> Command {
    match op {
        Op::Merge(v) => {
            let stage = farms.join(format!("{i}"));
            sh(Command::new("cp")
                .arg("-al")
                .arg(&pkg.versions[v])
                .arg(&stage));
            inst.merge_cmd(&pkg.name, &stage, &[])
        }
        Op::Uninstall => {
            let mut c = Command::new(bin());
            c.arg("uninstall")
                .arg("--manifest")
                .arg(inst.record(&pkg.name))
                .arg("--manifest-dir")
                .arg(&inst.records)
                .arg(&inst.target);
            c
        }
    }
}

/// Runs `ops` with up to `JOBS` at once, never two of one package at once
/// and each package's in order; every operation must exit 0 (a merge
/// leaving nothing in its stage).
fn run_round(inst: &Installed, pkgs: &[Package], ops: &[(usize, Op)], farms: &Path) {
    fs::create_dir_all(farms).unwrap();
    let mut running: Vec<(usize, Child)> = Vec::new();
    let mut busy = vec![false; pkgs.len()];
    let mut next: Vec<usize> = (0..ops.len()).collect();
    while !next.is_empty() || !running.is_empty() {
        while running.len() < JOBS {
            // The first waiting operation whose package is idle (a
            // package's earlier operations are before it, so they are done).
            let Some(k) = next.iter().position(|&i| !busy[ops[i].0]) else {
                break;
            };
            let i = next.remove(k);
            let (p, op) = ops[i];
            // A package with an earlier operation still waiting waits too.
            busy[p] = true;
            let mut c = command(inst, &pkgs[p], op, farms, i);
            c.stdout(Stdio::null()).stderr(Stdio::piped());
            running.push((i, c.spawn().unwrap()));
        }
        let done = loop {
            if let Some(k) = running
                .iter_mut()
                .position(|(_, c)| c.try_wait().unwrap().is_some())
            {
                break running.remove(k);
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let (i, child) = done;
        let (p, op) = ops[i];
        busy[p] = false;
        let run = Run::from_output(child.wait_with_output().unwrap());
        assert_eq!(
            run.code, 0,
            "operation {i}: {op:?} of {}\n{}",
            pkgs[p].name, run.stderr
        );
        if op == Op::Uninstall {
            record_gone(&inst.record(&pkgs[p].name), &run);
        }
        if let Op::Merge(_) = op {
            let stage = farms.join(format!("{i}"));
            let left = Snapshot::of(&stage);
            assert!(
                left.is_empty(),
                "operation {i}: {op:?} of {} left {:?} in its stage\n{}",
                pkgs[p].name,
                left.paths(),
                run.stderr
            );
        }
    }
}

/// What one JSON record lists as lost (another package's version
/// visible): path -> its own version digest (hex).
fn lost(record: &Path) -> BTreeMap<String, String> {
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(record).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for f in doc["files"].as_array().unwrap() {
        if f["state"].as_str() == Some("lost") && f["kind"].as_str() == Some("file") {
            out.insert(
                f["path"].as_str().unwrap().to_owned(),
                f["sha256"].as_str().unwrap().to_owned(),
            );
        }
    }
    out
}

/// What one JSON record lists: path -> version digest (hex).
fn listed(record: &Path) -> BTreeMap<String, String> {
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(record).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for f in doc["files"].as_array().unwrap() {
        let path = f["path"].as_str().expect("UTF-8 paths in the corpus");
        let v = match f["kind"].as_str().unwrap() {
            "symlink" => {
                let mut h = Sha256::new();
                h.update(b"symlink\0");
                h.update(f["target"].as_str().unwrap().as_bytes());
                hex::encode(h.finalize())
            }
            _ => f["sha256"].as_str().unwrap().to_owned(),
        };
        out.insert(path.to_owned(), v);
    }
    out
}

/// The version of TARGET's entry at `p`, as records name versions.
fn version_at(p: &Path) -> Option<String> {
    let m = p.symlink_metadata().ok()?;
    if m.file_type().is_symlink() {
        let mut h = Sha256::new();
        h.update(b"symlink\0");
        h.update(fs::read_link(p).unwrap().as_os_str().as_encoded_bytes());
        return Some(hex::encode(h.finalize()));
    }
    Some(hex::encode(Sha256::digest(fs::read(p).ok()?)))
}

/// The invariants of SPEC.md after a round: every remaining record
/// verifies; every listed path holds one of its remaining owners'
/// versions; nothing is left that no record lists; the store holds only
/// versions a remaining record lists.
fn check_invariants(inst: &Installed) -> Result<(), String> {
    let mut owners: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut records = Vec::new();
    for e in fs::read_dir(&inst.records).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.contains(".stagemerge-") {
            return Err(format!("a journal or temporary is left: {name}"));
        }
        for (p, v) in listed(&e.path()) {
            owners.entry(p).or_default().insert(v);
        }
        records.push(name);
    }
    for r in &records {
        let run = inst.verify(r);
        if run.code != 0 {
            return Err(format!(
                "{r} does not verify:\n{}{}",
                run.stdout, run.stderr
            ));
        }
    }
    for (p, versions) in &owners {
        match version_at(&inst.target.join(p)) {
            None => return Err(format!("{p} is missing; listed by a remaining record")),
            Some(v) if !versions.contains(&v) => {
                return Err(format!("{p} holds a version no remaining record lists"));
            }
            Some(_) => {}
        }
    }
    for (p, node) in Snapshot::of(&inst.target).nodes {
        let p = String::from_utf8(p).unwrap();
        if p.starts_with(".stagemerge") || matches!(node, crate::util::Node::Dir { .. }) {
            continue;
        }
        if !owners.contains_key(&p) {
            return Err(format!("{p} is left in TARGET, listed by no record"));
        }
    }
    // A lost entry's version (another's is visible) is in the store, or
    // visible again (an uninstall put it back): `verify` checks a lost
    // entry by presence only, so this is where a version gone missing shows.
    let stored_names: Vec<String> = inst
        .stored()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // Regression: an upgrade's sweep of the store removed a version that a
    // concurrent merge had just moved there (its lost staged file); the
    // record said `lost`, `verify` checks that by presence only, and the
    // version was gone when the visible owner was uninstalled.
    for r in &records {
        for (p, v) in lost(&inst.records.join(r)) {
            let visible = version_at(&inst.target.join(&p)).is_some_and(|now| now == v);
            if !visible && !stored_names.iter().any(|n| n.ends_with(&v)) {
                let mut detail = String::new();
                for r2 in &records {
                    if let Some(v2) = listed(&inst.records.join(r2)).get(&p) {
                        let l = lost(&inst.records.join(r2)).contains_key(&p);
                        detail.push_str(&format!(
                            "  {r2}: {} {}\n",
                            &v2[..12],
                            if l { "lost" } else { "placed" }
                        ));
                    }
                }
                return Err(format!(
                    "{r}'s version {} of {p} is neither visible nor in the store; visible {:?}; stored {:?}\n{detail}",
                    &v[..12],
                    version_at(&inst.target.join(&p)).map(|x| x[..12].to_owned()),
                    stored_names
                        .iter()
                        .map(|n| n.rsplit_once('-').unwrap().1[..12].to_owned())
                        .collect::<Vec<_>>()
                ));
            }
        }
    }
    let keys: HashMap<String, &String> = owners
        .keys()
        .map(|p| (hex::encode(&Sha256::digest(p.as_bytes())[..16]), p))
        .collect();
    for stored in inst.stored() {
        let key = stored
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let name = stored.file_name().unwrap().to_string_lossy().into_owned();
        let digest = name.rsplit_once('-').map(|(_, d)| d.to_owned());
        let needed = keys
            .get(&key)
            .is_some_and(|p| digest.is_some_and(|d| owners[*p].contains(&d)));
        if !needed {
            return Err(format!(
                "the store keeps {}, which no remaining record lists",
                stored.display()
            ));
        }
    }
    Ok(())
}

/// One round: `OPS` operations of the schedule `seed` draws, invariants,
/// then every package uninstalled: TARGET ends empty.
fn round(pkgs: &[Package], work: &Path, seed: u64) -> Result<(usize, usize), String> {
    let f = Fixture::new_in(work, Prim::Rename);
    let inst = Installed::new(&f.target, &f.root().join("installed"));
    let ops = schedule(&mut Rng::new(seed), pkgs.len());
    let farms = f.root().join("farms");
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_round(&inst, pkgs, &ops, &farms)
    }));
    if let Err(e) = ran {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        return Err(msg);
    }
    check_invariants(&inst)?;
    let merges = ops.iter().filter(|o| matches!(o.1, Op::Merge(_))).count();
    let uninstalls = ops.iter().filter(|o| o.1 == Op::Uninstall).count();
    let mut left: Vec<String> = fs::read_dir(&inst.records)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    for name in left {
        let run = inst.uninstall(&name);
        if run.code != 0 {
            return Err(format!("final uninstall of {name}:\n{}", run.stderr));
        }
        check_invariants(&inst).map_err(|e| format!("after uninstalling {name}: {e}"))?;
    }
    let rest = Snapshot::of(&f.target);
    if !rest.is_empty() || f.target.join(".stagemerge").exists() {
        return Err(format!(
            "TARGET is not empty at the end: {:?}",
            rest.paths()
        ));
    }
    Ok((merges, uninstalls))
}

#[test]
fn random_lifecycles_sixteen_at_a_time_keep_every_invariant() {
    let _heavy = crate::util::heavy();
    let Some(corpus) = corpus() else { return };
    let work = tempfile::tempdir_in(fast_tmp()).unwrap();
    let pkgs = packages(&corpus, work.path());
    let seeds: Vec<u64> = match std::env::var("STAGEMERGE_LIFECYCLE_SEED") {
        Ok(s) => vec![s.parse().expect("a seed is a number")],
        Err(_) => {
            let base = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let rounds = if soak() { 100 } else { 10 };
            (0..rounds).map(|r| base.wrapping_mul(1000) + r).collect()
        }
    };
    let (mut merges, mut uninstalls) = (0, 0);
    for &seed in &seeds {
        match round(&pkgs, work.path(), seed) {
            Ok((m, u)) => {
                merges += m;
                uninstalls += u;
            }
            Err(e) => panic!(
                "lifecycle round with seed {seed} failed (replay: \
                 STAGEMERGE_LIFECYCLE_SEED={seed} cargo test --test tests lifecycle::random):\n{e}"
            ),
        }
    }
    eprintln!(
        "lifecycle: {} rounds of {OPS} operations over {} packages, {JOBS} at a time: \
         {merges} merges, {uninstalls} uninstalls, every invariant held",
        seeds.len(),
        pkgs.len()
    );
}

/// How many times each race shape runs (the second command started at
/// offsets spread before and after the first).
fn race_reps() -> usize {
    if soak() { 1000 } else { 120 }
}

/// The corpus's `backports.*` packages of this module's [`packages`] and
/// the content of their shared `backports/__init__.py`.
fn backports_ns(pkgs: &[Package]) -> Vec<(usize, Vec<u8>)> {
    pkgs.iter()
        .enumerate()
        .filter(|(_, p)| p.name.starts_with("backports."))
        .map(|(i, p)| {
            let ns = p.versions[0].join(BACKPORTS_NS);
            (i, fs::read(&ns).unwrap())
        })
        .collect()
}

/// Where every `backports.*` stage has the namespace file.
const BACKPORTS_NS: &str = "local/lib/python3.11/site-packages/backports/__init__.py";

/// A race's own check of both runs and TARGET, after the invariants.
type Check<'c> = dyn Fn(&[Run; 2], &Path) -> Result<(), String> + 'c;

/// Runs `setup` one by one, then `a` and `b` at once, `b` started `offset`
/// after `a` (before it when negative); both must exit 0 and leave nothing
/// staged, and every invariant must hold after. Returns both runs.
fn race_once(
    pkgs: &[Package],
    work: &Path,
    setup: &[(usize, Op)],
    (a, b): ((usize, Op), (usize, Op)),
    offset: f64,
    check: &Check<'_>,
) -> Result<(), String> {
    let f = Fixture::new_in(work, Prim::Rename);
    let inst = Installed::new(&f.target, &f.root().join("installed"));
    let farms = f.root().join("farms");
    fs::create_dir_all(&farms).unwrap();
    for (i, &(p, op)) in setup.iter().enumerate() {
        let run = Run::of(command(&inst, &pkgs[p], op, &farms, 1000 + i));
        if run.code != 0 {
            return Err(format!("setup {op:?} of {}:\n{}", pkgs[p].name, run.stderr));
        }
    }
    let spawn = |(p, op): (usize, Op), i: usize| {
        let mut c = command(&inst, &pkgs[p], op, &farms, i);
        c.stdout(Stdio::null()).stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    let pause = Duration::from_secs_f64(if offset.is_nan() { 0.0 } else { offset.abs() });
    let (ca, cb) = if offset.is_nan() {
        // One after the other: how long `a` takes alone is the run's time.
        let mut ca = spawn(a, 0);
        ca.wait().unwrap();
        (ca, spawn(b, 1))
    } else if offset >= 0.0 {
        let ca = spawn(a, 0);
        std::thread::sleep(pause);
        (ca, spawn(b, 1))
    } else {
        let cb = spawn(b, 1);
        std::thread::sleep(pause);
        (spawn(a, 0), cb)
    };
    let runs = [ca, cb].map(|c| Run::from_output(c.wait_with_output().unwrap()));
    for (k, ((p, op), run)) in [a, b].iter().zip(&runs).enumerate() {
        if run.code != 0 {
            return Err(format!(
                "{op:?} of {} exited {}:\n{}",
                pkgs[*p].name, run.code, run.stderr
            ));
        }
        if *op == Op::Uninstall {
            record_gone(&inst.record(&pkgs[*p].name), run);
        } else {
            let left = Snapshot::of(&farms.join(k.to_string()));
            if !left.is_empty() {
                return Err(format!(
                    "{op:?} of {} left {:?} staged:\n{}",
                    pkgs[*p].name,
                    left.paths(),
                    run.stderr
                ));
            }
        }
    }
    check_invariants(&inst)
        .and_then(|()| check(&runs, &inst.target))
        .map_err(|e| {
            format!(
                "{e}\nas the two said:\n{}\n{}",
                runs[0].stderr, runs[1].stderr
            )
        })
}

/// The race `a` against `b` after `setup`, [`race_reps`] times, the
/// offsets spread over twice the time `a` takes alone, from `b` well before
/// `a` to well after. `check` looks at each repetition's runs.
fn race(
    shape: &str,
    setup: &[(usize, Op)],
    pair: ((usize, Op), (usize, Op)),
    check: impl Fn(&[Run; 2], &Path) -> Result<(), String>,
) {
    let _heavy = crate::util::heavy();
    let Some(corpus) = corpus() else { return };
    let work = tempfile::tempdir_in(fast_tmp()).unwrap();
    let pkgs = packages(&corpus, work.path());
    // How long `a` takes alone: the span the offsets cover.
    let t = std::time::Instant::now();
    race_once(&pkgs, work.path(), setup, pair, f64::NAN, &check)
        .unwrap_or_else(|e| panic!("{shape}, one after the other: {e}"));
    // Setup, both commands and the checks: a generous bound on one command.
    let alone = (t.elapsed().as_secs_f64() / 4.0).clamp(0.005, 0.2);
    let reps = race_reps();
    for r in 0..reps {
        let offset = alone * (2.0 * r as f64 / (reps - 1) as f64 - 1.0);
        race_once(&pkgs, work.path(), setup, pair, offset, &check)
            .unwrap_or_else(|e| panic!("{shape}, repetition {r} (offset {offset:+.4} s): {e}"));
    }
    eprintln!("{shape}: {reps} repetitions, offsets within ±{alone:.3} s: no failure");
}

/// The index of the package named `name`.
fn index(pkgs: &[Package], name: &str) -> usize {
    pkgs.iter()
        .position(|p| p.name == name)
        .unwrap_or_else(|| panic!("the corpus has {name}"))
}

/// Finding 1: an upgrade kept the package's own earlier file as a
/// "concurrent write" while a peer merged into the same directory, and
/// said all was well.
#[test]
fn an_upgrade_racing_a_peer_merge_into_its_directory_replaces_its_own_old_files() {
    let Some(corpus) = corpus() else { return };
    let work = tempfile::tempdir_in(fast_tmp()).unwrap();
    let pkgs = packages(&corpus, work.path());
    let (a, b) = (
        index(&pkgs, "backports.functools-lru-cache"),
        index(&pkgs, "backports.weakref"),
    );
    // The upgraded file only this package ships: v2 after every race.
    let own = "local/lib/python3.11/site-packages/backports/functools_lru_cache.py";
    let v2 = fs::read(pkgs[a].versions[1].join(own)).unwrap();
    drop(work);
    race(
        "upgrade against a peer's merge",
        &[(a, Op::Merge(0))],
        ((a, Op::Merge(1)), (b, Op::Merge(0))),
        |_, target| match fs::read(target.join(own)) {
            Ok(now) if now == v2 => Ok(()),
            _ => Err(format!("{own} is not the upgraded version")),
        },
    );
}

/// Finding 2: the uninstall of the last owner of a file, while a package
/// shipping the identical file merged, removed it from under that package
/// (or pruned the directory it was placing into).
#[test]
fn uninstalling_the_last_owner_racing_a_merge_of_the_identical_file_keeps_it() {
    let Some(corpus) = corpus() else { return };
    let work = tempfile::tempdir_in(fast_tmp()).unwrap();
    let pkgs = packages(&corpus, work.path());
    let ns = backports_ns(&pkgs);
    let (p, q) = ns
        .iter()
        .flat_map(|x| ns.iter().map(move |y| (x, y)))
        .find(|(x, y)| x.0 != y.0 && x.1 == y.1)
        .map(|(x, y)| (x.0, y.0))
        .expect("two backports packages ship the same namespace file");
    drop(work);
    race(
        "uninstall of the last owner against a merge of the identical file",
        &[(p, Op::Merge(0))],
        ((p, Op::Uninstall), (q, Op::Merge(0))),
        |_, _| Ok(()),
    );
}

/// Finding 3: the uninstall of the package whose version of a shared file
/// was visible, while a package with a third version merged: a version
/// ended neither visible nor stored, or the restore hid the new one.
#[test]
fn uninstalling_the_visible_owner_racing_a_merge_of_another_version_loses_no_version() {
    let Some(corpus) = corpus() else { return };
    let work = tempfile::tempdir_in(fast_tmp()).unwrap();
    let pkgs = packages(&corpus, work.path());
    let ns = backports_ns(&pkgs);
    let mut distinct: Vec<&(usize, Vec<u8>)> = Vec::new();
    for x in &ns {
        if distinct.iter().all(|d| d.1 != x.1) {
            distinct.push(x);
        }
    }
    assert!(distinct.len() >= 3, "three versions of the namespace file");
    let (a, b, c) = (distinct[0].0, distinct[1].0, distinct[2].0);
    drop(work);
    race(
        "uninstall of the visible owner against a merge of a third version",
        &[(a, Op::Merge(0)), (b, Op::Merge(0))],
        ((b, Op::Uninstall), (c, Op::Merge(0))),
        |_, _| Ok(()),
    );
}

/// Finding 6: merges placing fifos of different modes at one path, with
/// the store: a losing merge failed to remove its staged directory (the
/// fifo, which the store cannot keep, was still in it) and exited 1. Now
/// the loser's fifo stays staged like any version that lost, its merge
/// exits 0 with the concurrent-write warning, and nothing is lost.
#[test]
fn fifos_of_different_modes_merged_sixteen_at_once_lose_nothing_and_fail_nothing() {
    let _heavy = crate::util::heavy();
    use rustix::fs::{FileType, Mode, OFlags};
    let rounds = if soak() { 100 } else { 20 };
    let (mut kept_staged, mut warned) = (0, 0);
    for round in 0..rounds {
        let f = Fixture::new(Prim::Rename);
        let inst = Installed::new(&f.target, &f.root().join("installed"));
        let mut cmds = Vec::new();
        for i in 0..JOBS {
            let stage = f.dir(format!("s{i}/var/run"));
            f.file(format!("s{i}/var/lib/p{i}"), b"own file\n");
            let dir = rustix::fs::open(&stage, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())
                .unwrap();
            let mode = if i % 2 == 0 { 0o600 } else { 0o644 };
            rustix::fs::mknodat(&dir, "fifo", FileType::Fifo, Mode::from_raw_mode(mode), 0)
                .unwrap();
            let mut c = inst.merge_cmd(&format!("p{i}"), &f.root().join(format!("s{i}")), &[]);
            c.stdout(Stdio::null()).stderr(Stdio::piped());
            cmds.push(c);
        }
        let children: Vec<Child> = cmds.iter_mut().map(|c| c.spawn().unwrap()).collect();
        for (i, c) in children.into_iter().enumerate() {
            let run = Run::from_output(c.wait_with_output().unwrap());
            assert_eq!(run.code, 0, "round {round}, merge {i}:\n{}", run.stderr);
            let left = Snapshot::of(&f.root().join(format!("s{i}")));
            let fifo_left = left.nodes.contains_key(b"var/run/fifo".as_slice());
            let files: Vec<String> = left
                .paths()
                .into_iter()
                .filter(|p| !["var", "var/run", "var/run/fifo"].contains(&p.as_str()))
                .collect();
            assert!(files.is_empty(), "round {round}, merge {i} left {files:?}");
            kept_staged += usize::from(fifo_left);
            warned += usize::from(run.stderr.contains("concurrent write"));
        }
        let fifo = fs::symlink_metadata(f.target.join("var/run/fifo")).unwrap();
        assert!(
            std::os::unix::fs::FileTypeExt::is_fifo(&fifo.file_type()),
            "round {round}: a fifo is placed"
        );
        for i in 0..JOBS {
            assert!(f.target.join(format!("var/lib/p{i}")).exists());
        }
    }
    eprintln!(
        "fifos: {rounds} rounds of {JOBS} merges: {kept_staged} losing fifos kept staged, \
         {warned} concurrent-write warnings, every merge exited 0"
    );
}
