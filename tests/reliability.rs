//! Crashes, readers, faults and hostile input (SPEC: "Concurrency, crashes,
//! durability" and "Safety"). `STAGEMERGE_KILL_TRIALS` lengthens the crash
//! runs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::util::corpus::{corpus, farm, mixed_reinstall, sh};
use crate::util::{
    Fixture, KillSpread, Prim, Run, Snapshot, assert_nothing_lost, command, fast_tmp, kill_trials,
    temporaries,
};

/// SPEC: killed at any instant (SIGKILL), the same command run again gives
/// the TARGET an uninterrupted run gives; STAGE holds nothing that was
/// merged; no temporary is left.
#[test]
fn killed_merges_of_real_trees_rerun_to_the_uninterrupted_result() {
    let _heavy = crate::util::heavy();
    let Some(corpus) = corpus() else { return };
    let work = tempfile::tempdir_in(fast_tmp()).unwrap();
    let w = work.path();
    let (pristine, base) = mixed_reinstall(&corpus, w);
    let files = Snapshot::of(&pristine).nodes.len();

    for copy in [false, true] {
        let mode = if copy { "copy" } else { "move" };
        let fresh = |n: &str| -> (PathBuf, PathBuf) {
            let (s, t) = (w.join(format!("{n}-stage")), w.join(format!("{n}-target")));
            let _ = fs::remove_dir_all(&s);
            let _ = fs::remove_dir_all(&t);
            farm(std::slice::from_ref(&pristine), &s);
            sh(Command::new("cp").arg("-a").arg(&base).arg(&t));
            (s.join("pristine"), t)
        };
        let merge = |s: &Path, t: &Path| {
            let mut c = command(Prim::Rename);
            c.arg("merge").arg("--quiet");
            if copy {
                c.arg("--copy");
            }
            c.arg(s).arg(t);
            c
        };
        let (s, t) = fresh("reference");
        let started = Instant::now();
        Run::of(merge(&s, &t)).assert_code(0);
        let full = started.elapsed();
        let want = Snapshot::of(&t);
        let n = kill_trials(if crate::util::soak() { 100 } else { 50 });
        let mut spread = KillSpread::new(full, n);
        for trial in 0..n {
            let (s, t) = fresh("trial");
            let mut child = merge(&s, &t)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            spread.strike(trial, &mut child);
            Run::of(merge(&s, &t)).assert_code(0);
            assert_eq!(
                Snapshot::of(&t),
                want,
                "{mode} trial {trial}: TARGET as uninterrupted"
            );
            assert!(
                temporaries(&t).is_empty(),
                "{mode} trial {trial}: {:?}",
                temporaries(&t)
            );
            if !copy {
                assert!(
                    Snapshot::of(&s).is_empty(),
                    "move trial {trial}: STAGE holds what was merged"
                );
            }
        }
        eprintln!(
            "{mode}: {n} trials on {files} entries, {} killed mid-way (full run {:?}), 0 differences",
            spread.mid_way,
            spread.full()
        );
        spread.assert_inside_runs(mode);
    }
}

/// While merges replace a file again and again (move and copy mode), a
/// reader that opens and hashes it only ever sees a whole version.
#[test]
fn readers_only_ever_see_whole_versions() {
    let f = Fixture::new_fast(Prim::Rename);
    // Versions that differ in every byte, of a size a torn write would show.
    let versions: Vec<Vec<u8>> = (0..2u8).map(|v| vec![b'a' + v; 512 << 10]).collect();
    f.file("target/share/data.bin", &versions[0]);
    let path = f.target.join("share/data.bin");
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let reader = {
        let (stop, reads, path, versions) =
            (stop.clone(), reads.clone(), path.clone(), versions.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let data = fs::read(&path).expect("the file is always there");
                assert!(
                    versions.contains(&data),
                    "a reader saw a partial or foreign version ({} bytes)",
                    data.len()
                );
                reads.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    while reads.load(Ordering::Relaxed) == 0 {
        std::thread::yield_now();
    }
    for i in 0..200 {
        f.file("stage/share/data.bin", &versions[(i + 1) % 2]);
        let mut c = f.command();
        c.arg("merge").arg("--quiet");
        if i % 2 == 1 {
            c.arg("--copy");
        }
        c.arg(&f.stage).arg(&f.target);
        Run::of(c).assert_code(0);
        let _ = fs::remove_dir_all(&f.stage);
        fs::create_dir(&f.stage).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    reader.join().expect("the reader saw only whole versions");
    let n = reads.load(Ordering::Relaxed);
    eprintln!("200 replacements, {n} concurrent whole reads");
    assert!(n > 200, "the reader ran alongside the merges");
}

/// A tmpfs of `size`, mounted on a temporary directory.
struct Tmpfs {
    point: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn new(size: &str, ro: bool) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let point = dir.path().join("mnt");
        fs::create_dir(&point).unwrap();
        sh(Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "stagemerge-fault",
            ])
            .arg(&point));
        if ro {
            sh(Command::new("mount").args(["-o", "remount,ro"]).arg(&point));
        }
        Tmpfs { point, _dir: dir }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.point).status();
    }
}

/// ENOSPC and EROFS: a clear message (path, operation, system error), exit
/// status 1, nothing lost, no temporary left.
#[test]
fn full_and_read_only_targets_fail_clearly_and_lose_nothing() {
    require_root!();
    for (size, ro, error) in [
        ("2m", false, "No space left on device"),
        ("1m", true, "Read-only file system"),
    ] {
        let target = Tmpfs::new(size, ro);
        let f = Fixture::new(Prim::Rename);
        for i in 0..3 {
            f.file(format!("stage/share/big{i}"), &vec![i as u8; 1 << 20]);
        }
        let before = Snapshot::of(&f.stage);
        let mut c = f.command();
        c.arg("merge").arg(&f.stage).arg(&target.point);
        let r = Run::of(c);
        r.assert_code(1).assert_stderr_has(error);
        let op = if ro { "create directory" } else { "copy" };
        r.assert_stderr_has(&format!("{op} "));
        assert_nothing_lost(&before, &f.stage, &target.point);
        assert_eq!(
            Snapshot::of(&f.stage),
            before,
            "{error}: STAGE untouched (copied across filesystems)"
        );
        if !ro {
            assert!(temporaries(&target.point).is_empty());
            for (p, n) in Snapshot::of(&target.point).nodes {
                if let crate::util::Node::File { data, .. } = n {
                    assert_eq!(
                        data.len(),
                        1 << 20,
                        "{}: only whole files",
                        String::from_utf8_lossy(&p)
                    );
                }
            }
        }
    }
}

/// As root: a directory of TARGET swapped again and again for a symlink to
/// a canary outside TARGET while merges run into it. Nothing is ever
/// written outside TARGET, and nothing staged is lost.
#[test]
fn directory_swapped_for_an_outside_symlink_during_merges() {
    require_root!();
    let f = Fixture::new_fast(Prim::Rename);
    let canary = f.dir("canary");
    f.dir("target/share/doc");
    // The attacker's symlink, swapped with the real directory atomically
    // (RENAME_EXCHANGE), so `doc` is always one or the other.
    let link = f.root().join("target/share/doc.link");
    std::os::unix::fs::symlink(&canary, &link).unwrap();
    let share = rustix::fs::open(
        f.root().join("target/share"),
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (stop, swaps) = (stop.clone(), swaps.clone());
        std::thread::spawn(move || {
            let exchange = || {
                rustix::fs::renameat_with(
                    &share,
                    "doc.link",
                    &share,
                    "doc",
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .expect("swap")
            };
            while !stop.load(Ordering::Relaxed) {
                exchange();
                std::thread::sleep(Duration::from_micros(200));
                exchange();
                std::thread::sleep(Duration::from_micros(200));
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut befores = Vec::new();
    let (mut clean, mut refused) = (0, 0);
    for i in 0..150 {
        let stage = f.root().join(format!("stage{i}"));
        for k in 0..20 {
            let p = stage.join(format!("share/doc/pkg{i}/f{k}"));
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, b"doc").unwrap();
        }
        fs::write(stage.join(format!("share/doc/top{i}")), b"top").unwrap();
        befores.push((stage.clone(), Snapshot::of(&stage)));
        let mut c = f.command();
        c.arg("merge").arg(&stage).arg(&f.target);
        let r = Run::of(c);
        match r.code {
            0 => clean += 1,
            1 => refused += 1,
            _ => panic!("merge {i}: {}", r.stderr),
        }
        assert!(
            Snapshot::of(&canary).is_empty(),
            "merge {i} wrote outside TARGET: {:?}",
            Snapshot::of(&canary).paths()
        );
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(Snapshot::of(&canary).is_empty());
    for (stage, before) in &befores {
        assert_nothing_lost(before, stage, &f.target);
    }
    let n = swaps.load(Ordering::Relaxed);
    eprintln!(
        "150 merges during {n} swaps: {clean} clean, {refused} refused something; canary untouched"
    );
    assert!(n > 100, "the swaps ran during the merges");
}
