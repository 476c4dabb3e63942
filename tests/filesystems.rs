//! The same scenarios on real mounts (as root): a tmpfs, and an ext4 image
//! on a loop device; plus a stage and a target on different filesystems.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::corpus::sh;
use crate::util::parallel::shared_namespace_round;
use crate::util::{
    BOTH, Fixture, Prim, Snapshot, assert_nothing_lost, merged, predicted, scenarios,
};

/// A filesystem mounted on a temporary directory, unmounted on drop.
struct Mount {
    point: PathBuf,
    _dir: tempfile::TempDir,
}

impl Mount {
    fn tmpfs() -> Mount {
        let dir = tempfile::tempdir().unwrap();
        let point = dir.path().join("mnt");
        std::fs::create_dir(&point).unwrap();
        sh(Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=512m", "stagemerge-test"])
            .arg(&point));
        Mount { point, _dir: dir }
    }

    /// An ext4 image (kept on tmpfs where possible: this machine's disk is
    /// slow to create files on) mounted through a loop device.
    fn ext4() -> Mount {
        let dir = tempfile::tempdir_in(crate::util::fast_tmp()).unwrap();
        let image = dir.path().join("fs.img");
        let point = dir.path().join("mnt");
        std::fs::create_dir(&point).unwrap();
        sh(Command::new("truncate").args(["-s", "512M"]).arg(&image));
        sh(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image));
        sh(Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(&point));
        Mount { point, _dir: dir }
    }

    /// A bindfs (FUSE) view of a directory: FUSE answers
    /// `renameat2(RENAME_NOREPLACE)` with EINVAL. None when bindfs is not
    /// installed.
    fn bindfs() -> Option<Mount> {
        let dir = tempfile::tempdir_in(crate::util::fast_tmp()).unwrap();
        let (real, point) = (dir.path().join("real"), dir.path().join("mnt"));
        std::fs::create_dir(&real).unwrap();
        std::fs::create_dir(&point).unwrap();
        match Command::new("bindfs").arg(&real).arg(&point).output() {
            Ok(out) if out.status.success() => Some(Mount { point, _dir: dir }),
            Ok(out) => panic!("bindfs: {}", String::from_utf8_lossy(&out.stderr)),
            Err(_) => None,
        }
    }

    fn path(&self) -> &Path {
        &self.point
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.point).status();
    }
}

fn all_scenarios_on(m: &Mount) {
    all_scenarios_with(m, &BOTH);
}

fn all_scenarios_with(m: &Mount, prims: &[Prim]) {
    for &prim in prims {
        for (name, scenario) in scenarios::ALL {
            eprintln!("{name} ({prim:?}) on {}", m.path().display());
            scenario(&Fixture::new_in(m.path(), prim));
        }
    }
}

#[test]
fn every_scenario_on_tmpfs() {
    require_root!();
    all_scenarios_on(&Mount::tmpfs());
}

#[test]
fn every_scenario_on_loop_mounted_ext4() {
    require_root!();
    all_scenarios_on(&Mount::ext4());
}

/// On a filesystem that refuses the flag, the binary switches to the
/// fallback by itself (nothing forces it) and every scenario still holds.
#[test]
fn every_scenario_on_fuse_that_refuses_noreplace() {
    require_root!();
    let Some(m) = Mount::bindfs() else {
        eprintln!("skipped: bindfs is not installed (apt-get install bindfs)");
        return;
    };
    all_scenarios_with(&m, &[Prim::Refused]);
    for round in 0..10 {
        shared_namespace_round(&Fixture::new_in(m.path(), Prim::Refused), round);
    }
}

#[test]
fn parallel_merges_on_loop_mounted_ext4() {
    require_root!();
    let m = Mount::ext4();
    for prim in BOTH {
        for round in 0..20 {
            shared_namespace_round(&Fixture::new_in(m.path(), prim), round);
        }
    }
}

/// A stage on another filesystem is copied, entry by entry, instead of
/// failing with EXDEV; the summary says why; STAGE stays as it was.
#[test]
fn stage_on_another_filesystem_is_copied_automatically() {
    require_root!();
    let (a, b) = (Mount::tmpfs(), Mount::ext4());
    for prim in BOTH {
        let f = Fixture::new_in(a.path(), prim);
        let target = tempfile::tempdir_in(b.path()).unwrap();
        f.file("stage/lib/libx.so", b"x");
        f.file("stage/share/doc/readme", b"r");
        f.symlink("libx.so", "stage/lib/libx.so.1");
        std::fs::create_dir(target.path().join("lib")).unwrap();
        let before = Snapshot::of(&f.stage);
        let mut c = f.command();
        c.arg("merge").arg(&f.stage).arg(target.path());
        crate::util::Run::of(c).assert_code(0).assert_stderr_has(
            "3 copied (3 because STAGE and TARGET are on different filesystems)",
        );
        assert_nothing_lost(&before, &f.stage, target.path());
        assert_eq!(Snapshot::of(&f.stage), before, "{prim:?}: STAGE untouched");
        assert_eq!(
            std::fs::read(target.path().join("share/doc/readme")).unwrap(),
            b"r"
        );
    }
}

/// Regression: a different file already in TARGET, staged on another
/// filesystem, is replaced by a copy renamed over it. The rename that was
/// tried before failed with EXDEV and left the entry as an error. The plan
/// says so beforehand (copying predicted from the two devices).
#[test]
fn reinstall_from_another_filesystem_replaces_by_copy() {
    require_root!();
    let (a, b) = (Mount::tmpfs(), Mount::ext4());
    for prim in BOTH {
        let f = Fixture::new_in(a.path(), prim);
        let target = tempfile::tempdir_in(b.path()).unwrap();
        f.file("stage/lib/libx.so", b"new");
        f.file("stage/lib/liby.so", b"y");
        std::fs::create_dir(target.path().join("lib")).unwrap();
        std::fs::write(target.path().join("lib/libx.so"), b"old").unwrap();
        let before = Snapshot::of(&f.stage);
        let mut plan = f.command();
        plan.arg("plan").arg(&f.stage).arg(target.path());
        let plan = crate::util::Run::of(plan);
        plan.assert_code(0);
        let want = [
            ("merge-dir", "lib"),
            ("replaced", "lib/libx.so"),
            ("copied", "lib/liby.so"),
        ]
        .map(|(w, p)| (w.to_owned(), p.to_owned()));
        assert_eq!(predicted(&plan.stdout), want, "{prim:?}\n{}", plan.stdout);
        let mut c = f.command();
        c.arg("merge")
            .arg("--verbose")
            .arg(&f.stage)
            .arg(target.path());
        let run = crate::util::Run::of(c);
        run.assert_code(0);
        assert_eq!(merged(&run.stdout), want, "{prim:?}\n{}", run.stderr);
        assert_eq!(
            std::fs::read(target.path().join("lib/libx.so")).unwrap(),
            b"new"
        );
        assert_eq!(Snapshot::of(&f.stage), before, "{prim:?}: STAGE untouched");
    }
}
