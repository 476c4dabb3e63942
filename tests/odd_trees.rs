//! Trees that break naive tools: non-UTF-8 and 255-byte names, depth beyond
//! PATH_MAX, hard links, fifos and sockets, read-only files and directories.

use std::ffi::OsStr;
use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Command;

use crate::util::{
    BOTH, Fixture, Node, Prim, Run, Snapshot, ino, merge_checked, mode, node_at, set_mode,
};
use rustix::fs::{Mode, OFlags};

#[test]
fn non_utf8_and_255_byte_names_are_merged_losslessly() {
    for prim in BOTH {
        let f = Fixture::new(prim);
        let latin1 = OsStr::from_bytes(b"caf\xe9-\xff\xfe.txt");
        let long = "n".repeat(255);
        f.file(Path::new("stage/share").join(latin1), b"latin1");
        f.file(Path::new("stage/share").join(&long), b"long");
        f.file(Path::new("stage/share/nl\nname"), b"newline");
        f.dir("target/share");
        merge_checked(&f, &[]).assert_code(0);
        let t = Snapshot::of(&f.target);
        let mut want = b"share/".to_vec();
        want.extend_from_slice(latin1.as_bytes());
        assert!(t.nodes.contains_key(&want), "{prim:?}: {:?}", t.paths());
        assert!(t.nodes.contains_key(format!("share/{long}").as_bytes()));
        assert!(t.nodes.contains_key(&b"share/nl\nname"[..]));
        assert!(Snapshot::of(&f.stage).is_empty());
    }
}

/// Creates `levels` nested directories named `name` below `root` with *at
/// calls (a path that long cannot be passed to the system), and a file
/// `leaf` with `content` at the bottom when given.
fn deep_tree(root: &Path, name: &str, levels: usize, leaf: Option<(&str, &[u8])>) {
    let mut dir: OwnedFd =
        rustix::fs::open(root, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
    for _ in 0..levels {
        match rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => panic!("mkdirat: {e}"),
        }
        dir = rustix::fs::openat(
            &dir,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
    }
    if let Some((leaf, content)) = leaf {
        let fd = rustix::fs::openat(
            &dir,
            leaf,
            OFlags::WRONLY | OFlags::CREATE,
            Mode::from_raw_mode(0o644),
        )
        .unwrap();
        rustix::io::write(&fd, content).unwrap();
    }
}

/// Reads `leaf` at the bottom of `levels` directories `name`, or None.
fn deep_read(root: &Path, name: &str, levels: usize, leaf: &str) -> Option<Vec<u8>> {
    let mut dir: OwnedFd =
        rustix::fs::open(root, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).ok()?;
    for _ in 0..levels {
        dir = rustix::fs::openat(
            &dir,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .ok()?;
    }
    let fd = rustix::fs::openat(&dir, leaf, OFlags::RDONLY, Mode::empty()).ok()?;
    let mut buf = vec![0; 64];
    let n = rustix::io::read(&fd, &mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

fn remove_deep(root: &Path, name: &str, levels: usize) {
    // `rm -rf` copes with any depth; std's remove_dir_all is also *at based.
    if levels > 0 {
        let _ = fs::remove_dir_all(root.join(name));
    }
}

#[test]
fn tree_deeper_than_path_max_is_walked_level_by_level() {
    // 40 levels of 200-byte names: about 8 KiB of path, twice PATH_MAX.
    let (name, levels) = ("d".repeat(200), 40);
    for prim in BOTH {
        let f = Fixture::new(prim);
        deep_tree(&f.stage, &name, levels, Some(("leaf", b"bottom")));
        // TARGET has the directories already: the merge must walk all the way
        // down instead of moving the tree whole.
        deep_tree(&f.target, &name, levels, None);
        f.command()
            .arg("merge")
            .arg(&f.stage)
            .arg(&f.target)
            .output()
            .map(Run::from_output)
            .unwrap()
            .assert_code(0)
            .assert_stderr_has("1 moved");
        assert_eq!(
            deep_read(&f.target, &name, levels, "leaf").as_deref(),
            Some(&b"bottom"[..]),
            "{prim:?}"
        );
        assert!(
            fs::read_dir(&f.stage).unwrap().next().is_none(),
            "emptied directories were removed"
        );
        remove_deep(&f.target, &name, levels);
    }
}

#[test]
fn hard_links_stay_linked() {
    for prim in BOTH {
        // Moved whole (inside a new directory) and one by one (into an
        // existing one): both names must keep sharing one inode.
        let f = Fixture::new(prim);
        let a = f.file("stage/whole/a", b"linked");
        fs::hard_link(&a, f.root().join("stage/whole/b")).unwrap();
        let c = f.file("stage/existing/c", b"linked too");
        fs::hard_link(&c, f.root().join("stage/existing/d")).unwrap();
        f.dir("target/existing");
        merge_checked(&f, &[]).assert_code(0);
        let t = &f.target;
        assert_eq!(ino(&t.join("whole/a")), ino(&t.join("whole/b")), "{prim:?}");
        assert_eq!(
            ino(&t.join("existing/c")),
            ino(&t.join("existing/d")),
            "{prim:?}"
        );
        assert_eq!(fs::metadata(t.join("existing/c")).unwrap().nlink(), 2);
    }
}

#[test]
fn fifos_and_sockets_are_moved_as_they_are() {
    for prim in BOTH {
        let f = Fixture::new(prim);
        f.dir("stage/run");
        f.dir("target/run");
        let stage_run = rustix::fs::open(
            f.stage.join("run"),
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        rustix::fs::mknodat(
            &stage_run,
            "fifo",
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o640),
            0,
        )
        .unwrap();
        let _listener = UnixListener::bind(f.stage.join("run/sock")).unwrap();
        merge_checked(&f, &[]).assert_code(0);
        let fifo = fs::symlink_metadata(f.target.join("run/fifo")).unwrap();
        assert!(
            std::os::unix::fs::FileTypeExt::is_fifo(&fifo.file_type()),
            "{prim:?}"
        );
        assert_eq!(fifo.permissions().mode() & 0o777, 0o640);
        let sock = fs::symlink_metadata(f.target.join("run/sock")).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_socket(&sock.file_type()));
        assert!(Snapshot::of(&f.stage).is_empty());
    }
}

#[test]
fn identical_fifo_is_a_no_op() {
    let f = Fixture::new(Prim::Rename);
    for side in ["stage/run", "target/run"] {
        let d = f.dir(side);
        let fd = rustix::fs::open(&d, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
        rustix::fs::mknodat(
            &fd,
            "fifo",
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
    }
    merge_checked(&f, &[])
        .assert_code(0)
        .assert_stderr_has("1 identical");
}

#[test]
fn read_only_staged_files_and_dirs_are_moved() {
    read_only_moved(&BOTH);
}

/// [`read_only_staged_files_and_dirs_are_moved`] with the binaries `prims`
/// select.
pub(crate) fn read_only_moved(prims: &[Prim]) {
    for &prim in prims {
        let f = Fixture::new(prim);
        let ro = f.file("stage/share/ro/data", b"ro");
        set_mode(&ro, 0o444);
        f.file("stage/lib/x", b"x");
        f.file("target/lib/x", b"old");
        set_mode(&f.target.join("lib/x"), 0o444);
        set_mode(&f.root().join("stage/share/ro"), 0o555);
        merge_checked(&f, &[]).assert_code(0);
        assert_eq!(mode(&f.target.join("share/ro/data")), 0o444);
        assert_eq!(fs::read(f.target.join("lib/x")).unwrap(), b"x");
    }
}

/// Runs the binary as an unprivileged user when we are root (root ignores
/// permissions, so the read-only cases would test nothing), else as us.
fn as_user(prim: Prim, uid: u32, args: &[&OsStr]) -> Run {
    let mut c = if crate::util::is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            format!("--reuid={uid}"),
            format!("--regid={uid}"),
            "--clear-groups".into(),
            "--".into(),
        ]);
        c.arg(crate::util::bin());
        c
    } else {
        Command::new(crate::util::bin())
    };
    c.env_remove("STAGEMERGE_FORCE_FALLBACK");
    if prim == Prim::Fallback {
        c.env("STAGEMERGE_FORCE_FALLBACK", "1");
    }
    c.args(args);
    Run::of(c)
}

const NOBODY: u32 = 65534;

/// Hands the fixture to the unprivileged user when running as root.
fn give_away(f: &Fixture) {
    if crate::util::is_root() {
        set_mode(f.root(), 0o755);
        Command::new("chown")
            .arg("-R")
            .arg(format!("{NOBODY}:{NOBODY}"))
            .arg(f.root())
            .status()
            .unwrap();
    }
}

fn user() -> u32 {
    if crate::util::is_root() {
        NOBODY
    } else {
        rustix::process::geteuid().as_raw()
    }
}

#[test]
fn read_only_target_dir_owned_by_user_is_written_then_restored() {
    for prim in BOTH {
        let f = Fixture::new(prim);
        f.file("stage/lib/new.so", b"new");
        f.file("stage/lib/old.so", b"replacement");
        f.file("stage/share/ro/doc", b"doc");
        f.file("target/lib/old.so", b"old");
        let lib = f.dir("target/lib");
        give_away(&f);
        // Read-only directories everywhere a write happens: TARGET's lib,
        // the staged directories emptied by the move, a directory moved whole.
        set_mode(&lib, 0o555);
        set_mode(&f.stage.join("lib"), 0o555);
        set_mode(&f.stage.join("share/ro"), 0o555);
        set_mode(&f.stage.join("share"), 0o555);
        let before = Snapshot::of(&f.stage);
        let run = as_user(
            prim,
            user(),
            &[
                OsStr::new("merge"),
                f.stage.as_os_str(),
                f.target.as_os_str(),
            ],
        );
        run.assert_code(0);
        crate::util::assert_nothing_lost(&before, &f.stage, &f.target);
        assert_eq!(fs::read(lib.join("new.so")).unwrap(), b"new", "{prim:?}");
        assert_eq!(fs::read(lib.join("old.so")).unwrap(), b"replacement");
        assert_eq!(mode(&lib), 0o555, "TARGET's mode restored");
        assert_eq!(
            mode(&f.target.join("share/ro")),
            0o555,
            "moved directory keeps its mode"
        );
        assert!(
            Snapshot::of(&f.stage).is_empty(),
            "{:?}",
            Snapshot::of(&f.stage).paths()
        );
    }
}

#[test]
fn unwritable_target_dir_of_another_user_is_an_error_with_path_op_and_os_error() {
    require_root!();
    for prim in BOTH {
        let f = Fixture::new(prim);
        f.file("stage/lib/new.so", b"new");
        f.file("stage/share/ok", b"ok");
        f.dir("target/lib");
        f.dir("target/share");
        give_away(&f);
        // lib belongs to root now: the user may not write it, and must not
        // try to chmod it.
        Command::new("chown")
            .arg("0:0")
            .arg(f.target.join("lib"))
            .status()
            .unwrap();
        set_mode(&f.target.join("lib"), 0o755);
        let before = Snapshot::of(&f.stage);
        let run = as_user(
            prim,
            NOBODY,
            &[
                OsStr::new("merge"),
                f.stage.as_os_str(),
                f.target.as_os_str(),
            ],
        );
        let op = if prim.renames_dirs() {
            "rename"
        } else {
            "link"
        };
        run.assert_code(1)
            .assert_stderr_has(&format!("{op} {}", f.stage.join("lib/new.so").display()))
            .assert_stderr_has("Permission denied (os error 13)");
        crate::util::assert_nothing_lost(&before, &f.stage, &f.target);
        assert_eq!(mode(&f.target.join("lib")), 0o755);
        assert_eq!(
            node_at(&f.target, b"share/ok"),
            Some(Node::File {
                mode: 0o644,
                data: b"ok".to_vec()
            })
        );
    }
}

#[test]
fn fallback_created_dir_gets_the_staged_mode_despite_umask() {
    let f = Fixture::new(Prim::Fallback);
    let d = f.dir("stage/share/group-writable");
    f.file("stage/share/group-writable/x", b"x");
    set_mode(&d, 0o2775);
    merge_checked(&f, &[]).assert_code(0);
    assert_eq!(mode(&f.target.join("share/group-writable")), 0o2775);
}
