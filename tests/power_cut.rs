//! Simulated power cuts during `merge --sync` (needs root: loop mounts).
//!
//! The live filesystem is ext4 on a loop device (mounted `commit=1`, so its
//! journal commits every second, and `noauto_da_alloc`, so no rename
//! heuristic flushes data behind the merge's back) whose backing file lies
//! on XFS. A stage is written as `make install` leaves it: data only in the
//! page cache. The merge is stopped with SIGSTOP at a random instant, and
//! 2 s later a crash image is taken with `cp --reflink=always` of the
//! backing file: exactly what had reached the "disk". The image is mounted
//! (ext4 replays its journal, as after a reboot) and checked: every staged
//! file is whole in TARGET or whole in STAGE, and the record and its
//! journal are each absent or complete. Overlay, reinstall and copy-mode
//! merges are cut. A control run without `--sync`
//! shows that the same cuts do find zero-length files there.
//!
//! `STAGEMERGE_CUTS` sets the number of cuts per workload (8 by default,
//! the test command's fast mode; 100 with `STAGEMERGE_SOAK=1`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::corpus::sh;
use crate::util::{Prim, command, is_root, wait_for_file};

const DIRS: usize = 30;
const PER_DIR: usize = 100;

fn cuts() -> usize {
    std::env::var("STAGEMERGE_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if crate::util::soak() { 100 } else { 8 })
}

/// The bytes of staged file `i` in `version` ("old" or "new"): 0.5 to 8 KiB,
/// never empty, different in each version.
fn content(i: usize, version: &str) -> Vec<u8> {
    let len = 512 + (i * 997) % 7680;
    format!("{version}:{i};")
        .into_bytes()
        .into_iter()
        .cycle()
        .take(len)
        .collect()
}

fn rel(i: usize) -> String {
    format!("lib/pkg{:02}/f{:03}.dat", i / PER_DIR, i % PER_DIR)
}

fn all_paths() -> Vec<String> {
    let mut v: Vec<String> = (0..DIRS * PER_DIR).map(rel).collect();
    v.sort();
    v
}

/// A mount that is undone when dropped.
struct Mounted(PathBuf);

impl Mounted {
    fn new(source: &Path, at: &Path, opts: &str) -> Mounted {
        fs::create_dir_all(at).unwrap();
        sh(Command::new("mount").args(["-o", opts]).arg(source).arg(at));
        Mounted(at.to_path_buf())
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let ok = Command::new("umount").arg(&self.0).status();
        if !ok.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// The XFS that holds the live filesystem's backing file, and the live
/// ext4 mounted from it.
struct Lab {
    dir: PathBuf,
    live: Mounted,
    xfs: Mounted,
    _tmp: tempfile::TempDir,
}

impl Lab {
    fn new() -> Option<Lab> {
        if !is_root() {
            eprintln!("skipped: power-cut tests need root (loop mounts)");
            return None;
        }
        for tool in ["mkfs.xfs", "mkfs.ext4", "mount"] {
            if Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .map_or(true, |s| !s.success())
            {
                eprintln!(
                    "skipped: {tool} is not installed (the test command installs it as root)"
                );
                return None;
            }
        }
        // On the disk, not tmpfs: the backing file is a loop mount's.
        let tmp = tempfile::Builder::new()
            .prefix("stagemerge-powercut-")
            .tempdir_in(std::env::temp_dir())
            .unwrap();
        let dir = tmp.path().to_path_buf();
        let xfs_img = dir.join("xfs.img");
        sh(Command::new("truncate").args(["-s", "2G"]).arg(&xfs_img));
        sh(Command::new("mkfs.xfs")
            .args(["-q", "-m", "reflink=1"])
            .arg(&xfs_img));
        let xfs = Mounted::new(&xfs_img, &dir.join("xfs"), "loop");
        let live_img = dir.join("xfs/live.img");
        sh(Command::new("truncate").args(["-s", "512M"]).arg(&live_img));
        sh(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&live_img));
        let live = Mounted::new(
            &live_img,
            &dir.join("live"),
            "loop,commit=1,noauto_da_alloc",
        );
        Some(Lab {
            dir,
            live,
            xfs,
            _tmp: tmp,
        })
    }

    fn live(&self) -> &Path {
        &self.live.0
    }

    fn record(&self) -> PathBuf {
        self.live().join("rec/installed.txt")
    }

    fn journal(&self) -> PathBuf {
        self.live().join("rec/installed.txt.stagemerge-journal")
    }

    /// A fresh trial: TARGET as the workload wants it, made durable; then
    /// STAGE written and left in the page cache.
    fn prepare(&self, reinstall: bool) {
        let live = self.live();
        for d in ["stage", "target", "rec"] {
            let _ = fs::remove_dir_all(live.join(d));
        }
        fs::create_dir_all(live.join("rec")).unwrap();
        for d in 0..DIRS {
            fs::create_dir_all(live.join(format!("target/local/lib/pkg{d:02}"))).unwrap();
        }
        if reinstall {
            for i in 0..DIRS * PER_DIR {
                fs::write(live.join("target/local").join(rel(i)), content(i, "old")).unwrap();
            }
        }
        sh(Command::new("sync").arg("-f").arg(live));
        for i in 0..DIRS * PER_DIR {
            let p = live.join("stage/local").join(rel(i));
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content(i, "new")).unwrap();
        }
    }

    fn merge(&self, sync: bool, copy: bool) -> Child {
        let live = self.live();
        let mut c = command(Prim::Rename);
        c.args(["merge", "--quiet", "--manifest"])
            .arg(self.record());
        if sync {
            c.arg("--sync");
        }
        if copy {
            c.arg("--copy");
        }
        c.arg(live.join("stage/local"))
            .arg(live.join("target/local"));
        c.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Waits for the journal; returns how long it took, or None when the
    /// merge ended first.
    fn wait_for_journal(&self, child: &mut Child) -> Option<Duration> {
        wait_for_file(&self.journal(), child)
    }

    /// Stops the merge, lets the live filesystem run 2 s (its journal
    /// commits what the merge did before the stop), takes the crash image,
    /// kills the merge, and checks the image.
    fn cut(&self, mut child: Child) -> Cut {
        let pid = rustix::process::Pid::from_child(&child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::STOP);
        std::thread::sleep(Duration::from_secs(2));
        let image = self.xfs.0.join("cut.img");
        sh(Command::new("cp")
            .arg("--reflink=always")
            .arg(self.xfs.0.join("live.img"))
            .arg(&image));
        let _ = child.kill();
        let _ = child.wait();
        let cut = {
            let m = Mounted::new(&image, &self.dir.join("cut"), "loop");
            Cut::read(&m.0)
        };
        fs::remove_file(&image).unwrap();
        cut
    }
}

/// What a crash image holds.
#[derive(Debug, Default)]
struct Cut {
    /// Staged files whole in TARGET (new version).
    placed: usize,
    /// Files of the older install still whole in TARGET.
    old: usize,
    /// Staged files whole in STAGE.
    staged: usize,
    /// Files (either tree) of size 0.
    zero_length: usize,
    /// Of those, the ones in TARGET: a name the merge gave to data that
    /// never reached the disk.
    zero_in_target: usize,
    /// Staged files whole nowhere.
    lost: Vec<String>,
    /// Anything else wrong: a torn file, a partial record or journal.
    torn: Vec<String>,
    journal: bool,
    record: bool,
}

impl Cut {
    fn read(root: &Path) -> Cut {
        let mut c = Cut::default();
        for i in 0..DIRS * PER_DIR {
            let new = content(i, "new");
            let old = content(i, "old");
            let mut whole = false;
            for (side, is_stage) in [("target/local", false), ("stage/local", true)] {
                let Ok(data) = fs::read(root.join(side).join(rel(i))) else {
                    continue;
                };
                if data.is_empty() {
                    c.zero_length += 1;
                    c.zero_in_target += usize::from(!is_stage);
                } else if data == new {
                    whole = true;
                    if is_stage {
                        c.staged += 1;
                    } else {
                        c.placed += 1;
                    }
                } else if data == old && !is_stage {
                    c.old += 1;
                } else {
                    c.torn
                        .push(format!("{side}/{}: {} bytes", rel(i), data.len()));
                }
            }
            if !whole {
                c.lost.push(rel(i));
            }
        }
        let want: String = all_paths().iter().map(|p| format!("{p}\n")).collect();
        if let Ok(record) = fs::read_to_string(root.join("rec/installed.txt")) {
            c.record = true;
            if record != want {
                c.torn
                    .push(format!("record with {} lines", record.lines().count()));
            }
        }
        if let Ok(journal) = fs::read(root.join("rec/installed.txt.stagemerge-journal")) {
            c.journal = true;
            let listed = serde_json::from_slice::<serde_json::Value>(&journal)
                .ok()
                .and_then(|v| v["files"].as_array().map(Vec::len));
            if listed != Some(DIRS * PER_DIR) {
                c.torn.push(format!("journal listing {listed:?} files"));
            }
        }
        c
    }

    /// The merge had made STAGE durable and begun placing: its journal or
    /// record is on disk, or a staged file is in TARGET.
    fn underway(&self) -> bool {
        self.journal || self.record || self.placed > 0
    }
}

/// A workload: what TARGET holds before, and how the merge places files.
#[derive(Clone, Copy)]
enum Workload {
    /// Every directory there, every file new: one rename per file.
    Overlay,
    /// Every file there in an older version: one rename over per file.
    Reinstall,
    /// `--copy` into the overlay: each file written into TARGET, linked.
    Copy,
}

/// Runs `n` cuts of one workload with `--sync`; half at instants spread
/// over the whole run (listing, the syncfs of STAGE, the moves), half
/// spread over the moves after the journal.
fn cuts_with_sync(lab: &Lab, workload: Workload, n: usize) {
    let (name, reinstall, copy) = match workload {
        Workload::Overlay => ("overlay", false, false),
        Workload::Reinstall => ("reinstall", true, false),
        Workload::Copy => ("copy", false, true),
    };
    lab.prepare(reinstall);
    let started = Instant::now();
    let mut child = lab.merge(true, copy);
    let journal_at = lab.wait_for_journal(&mut child).unwrap_or_default();
    assert!(
        child.wait().unwrap().success(),
        "{name}: uninterrupted merge"
    );
    let full = started.elapsed();
    let (mut underway, mut before, mut placed, mut staged) = (0, 0, 0, 0);
    for trial in 0..n {
        lab.prepare(reinstall);
        let mut child = lab.merge(true, copy);
        let at = (trial / 2) as f64 / (n / 2).max(1) as f64 * 1.1;
        if trial % 2 == 0 {
            std::thread::sleep(full.mul_f64(at));
        } else if lab.wait_for_journal(&mut child).is_some() {
            std::thread::sleep(full.saturating_sub(journal_at).mul_f64(at));
        }
        let cut = lab.cut(child);
        assert!(cut.torn.is_empty(), "{name} cut {trial}: {:?}", cut.torn);
        if cut.underway() {
            underway += 1;
            assert_eq!(
                cut.zero_length, 0,
                "{name} cut {trial}: zero-length files after the merge began \
                 ({} in TARGET; {} whole in TARGET, {} whole in STAGE, journal {}, record {})",
                cut.zero_in_target, cut.placed, cut.staged, cut.journal, cut.record
            );
            assert!(
                cut.lost.is_empty(),
                "{name} cut {trial}: staged files whole nowhere: {:?}",
                &cut.lost[..cut.lost.len().min(5)]
            );
        } else {
            // Cut before the merge's first rename: TARGET as it was; what
            // STAGE holds is what make install's unsynced writes left.
            before += 1;
            assert_eq!(cut.placed, 0);
        }
        placed += cut.placed;
        staged += cut.staged;
    }
    eprintln!(
        "{name}: {n} cuts over a {full:?} merge of {} files with --sync: {underway} after the \
         merge began ({placed} files found whole in TARGET, {staged} whole in STAGE), {before} \
         before its first rename; 0 lost, 0 zero-length, every record and journal absent or complete",
        DIRS * PER_DIR
    );
    assert!(underway >= n / 2, "{name}: the cuts must land in the merge");
}

#[test]
fn power_cut_during_sync_merge_loses_no_staged_file() {
    let Some(lab) = Lab::new() else { return };
    let n = cuts();
    cuts_with_sync(&lab, Workload::Overlay, n);
    cuts_with_sync(&lab, Workload::Reinstall, n);
    // Copies are fsynced before they are linked: fewer cuts, same checks.
    cuts_with_sync(&lab, Workload::Copy, n.div_ceil(5));

    // Control: without --sync the same cuts, once the merge is moving
    // files, find named empty files in TARGET, so the check above can see
    // what it rules out.
    let mut zero = 0;
    for trial in 0..6 {
        lab.prepare(false);
        let mut child = lab.merge(false, false);
        lab.wait_for_journal(&mut child);
        std::thread::sleep(Duration::from_millis(5 * trial));
        let cut = lab.cut(child);
        zero += cut.zero_in_target;
    }
    eprintln!("control without --sync: {zero} zero-length files in TARGET after 6 cuts");
    assert!(
        zero > 0,
        "without --sync a cut should leave empty files in TARGET"
    );
}
