//! Every row of SPEC.md's placement table as a scenario on a [`Fixture`].
//! Each runs in the default temp dir (placement.rs), and on tmpfs and a
//! loop-mounted ext4 (filesystems.rs), with both placement primitives.

use std::fs;

use super::{Fixture, Node, Snapshot, ino, merge_checked, mode, node_at, set_mode};

/// A scenario: sets up the fixture, merges, checks the outcome.
pub type Scenario = fn(&Fixture);

/// All scenarios, for running them on other filesystems.
pub const ALL: &[(&str, Scenario)] = &[
    ("absent_file_is_placed", absent_file_is_placed),
    (
        "absent_dir_is_placed_whole_by_one_rename",
        absent_dir_is_placed_whole_by_one_rename,
    ),
    (
        "dir_into_existing_dir_merges_children",
        dir_into_existing_dir_merges_children,
    ),
    (
        "dir_through_symlinks_inside_target",
        dir_through_symlinks_inside_target,
    ),
    (
        "absolute_symlink_in_target_is_not_followed",
        absolute_symlink_in_target_is_not_followed,
    ),
    (
        "dotdot_symlink_out_of_target_is_not_followed",
        dotdot_symlink_out_of_target_is_not_followed,
    ),
    (
        "dir_over_file_is_a_type_conflict",
        dir_over_file_is_a_type_conflict,
    ),
    (
        "file_over_dir_is_a_type_conflict",
        file_over_dir_is_a_type_conflict,
    ),
    (
        "symlink_over_real_dir_is_a_type_conflict",
        symlink_over_real_dir_is_a_type_conflict,
    ),
    (
        "identical_file_and_symlink_are_no_ops",
        identical_file_and_symlink_are_no_ops,
    ),
    (
        "different_file_is_replaced_atomically_with_warning",
        different_file_is_replaced_atomically_with_warning,
    ),
    (
        "different_symlink_is_replaced",
        different_symlink_is_replaced,
    ),
    (
        "mode_difference_counts_as_different",
        mode_difference_counts_as_different,
    ),
    (
        "on_conflict_keep_keeps_target_and_stage",
        on_conflict_keep_keeps_target_and_stage,
    ),
    (
        "on_conflict_fail_is_a_conflict",
        on_conflict_fail_is_a_conflict,
    ),
    (
        "stage_inside_target_like_sage",
        stage_inside_target_like_sage,
    ),
    (
        "destination_that_is_stage_itself_is_a_conflict",
        destination_that_is_stage_itself_is_a_conflict,
    ),
    (
        "empty_staged_dirs_are_removed_and_leftovers_kept",
        empty_staged_dirs_are_removed_and_leftovers_kept,
    ),
];

pub fn absent_file_is_placed(f: &Fixture) {
    let staged = f.file("stage/bin/tool", b"#!/bin/sh\n");
    set_mode(&staged, 0o755);
    f.dir("target/bin");
    let inode = ino(&staged);
    merge_checked(f, &[])
        .assert_code(0)
        .assert_stderr_has("1 moved");
    let placed = f.target.join("bin/tool");
    assert_eq!(fs::read(&placed).unwrap(), b"#!/bin/sh\n");
    assert_eq!(mode(&placed), 0o755);
    // Moved, not copied: the very same inode.
    assert_eq!(ino(&placed), inode);
    assert!(Snapshot::of(&f.stage).is_empty(), "STAGE ends empty");
}

pub fn absent_dir_is_placed_whole_by_one_rename(f: &Fixture) {
    f.file("stage/share/pari/galdata/a", b"a");
    f.file("stage/share/pari/galdata/b", b"b");
    let pari = f.root().join("stage/share/pari");
    set_mode(&pari, 0o750);
    let inode = ino(&pari);
    let run = merge_checked(f, &[]);
    run.assert_code(0);
    let placed = f.target.join("share/pari");
    assert_eq!(fs::read(placed.join("galdata/b")).unwrap(), b"b");
    assert_eq!(mode(&placed), 0o750, "a moved directory keeps its mode");
    match f.prim.renames_dirs() {
        true => {
            // `share` itself was absent: one rename moved the whole tree.
            run.assert_stderr_has("1 moved (1 whole directories)");
            assert_eq!(ino(&placed), inode);
        }
        false => {
            run.assert_stderr_has("3 directories created");
        }
    }
    assert!(Snapshot::of(&f.stage).is_empty());
}

pub fn dir_into_existing_dir_merges_children(f: &Fixture) {
    f.file(
        "stage/lib/python3/site-packages/backports/tarfile.py",
        b"new",
    );
    f.file(
        "target/lib/python3/site-packages/backports/functools.py",
        b"old",
    );
    let shared = f.dir("target/lib/python3/site-packages/backports");
    set_mode(&shared, 0o775);
    set_mode(
        &f.root().join("stage/lib/python3/site-packages/backports"),
        0o700,
    );
    merge_checked(f, &[]).assert_code(0);
    let t = Snapshot::of(&f.target);
    assert!(
        t.nodes
            .contains_key(&b"lib/python3/site-packages/backports/tarfile.py"[..])
    );
    assert!(
        t.nodes
            .contains_key(&b"lib/python3/site-packages/backports/functools.py"[..])
    );
    assert_eq!(
        mode(&shared),
        0o775,
        "TARGET's directory keeps its own mode"
    );
    assert!(Snapshot::of(&f.stage).is_empty());
}

pub fn dir_through_symlinks_inside_target(f: &Fixture) {
    // A usr-merged root: lib -> usr/lib, and lib64 -> lib on top of it.
    f.dir("target/usr/lib");
    f.symlink("usr/lib", "target/lib");
    f.symlink("lib", "target/lib64");
    f.symlink("usr/bin", "target/bin");
    f.dir("target/usr/bin");
    f.file("stage/lib/libfoo.so.1", b"elf");
    f.file("stage/lib64/libbar.so.1", b"elf64");
    f.file("stage/bin/foo", b"#!");
    merge_checked(f, &[])
        .assert_code(0)
        .assert_stderr_has("0 conflicts");
    let t = Snapshot::of(&f.target);
    assert_eq!(
        t.nodes[&b"lib"[..]],
        Node::Link {
            text: b"usr/lib".to_vec()
        }
    );
    assert_eq!(
        t.nodes[&b"lib64"[..]],
        Node::Link {
            text: b"lib".to_vec()
        }
    );
    assert_eq!(
        t.nodes[&b"bin"[..]],
        Node::Link {
            text: b"usr/bin".to_vec()
        }
    );
    assert!(t.nodes.contains_key(&b"usr/lib/libfoo.so.1"[..]));
    assert!(t.nodes.contains_key(&b"usr/lib/libbar.so.1"[..]));
    assert!(t.nodes.contains_key(&b"usr/bin/foo"[..]));
    assert!(Snapshot::of(&f.stage).is_empty());
}

pub fn absolute_symlink_in_target_is_not_followed(f: &Fixture) {
    let canary = f.dir("canary");
    f.symlink(&canary, "target/etc");
    f.file("stage/etc/passwd", b"evil");
    let stage_before = Snapshot::of(&f.stage);
    merge_checked(f, &[])
        .assert_code(1)
        .assert_stderr_has("leads out of TARGET")
        .assert_stderr_has(&f.target.join("etc").display().to_string());
    assert!(
        Snapshot::of(&canary).is_empty(),
        "nothing written outside TARGET"
    );
    assert_eq!(Snapshot::of(&f.stage), stage_before, "STAGE untouched");
}

pub fn dotdot_symlink_out_of_target_is_not_followed(f: &Fixture) {
    let canary = f.dir("canary");
    f.dir("target/usr");
    f.symlink("../../canary", "target/usr/share");
    f.file("stage/usr/share/doc/x", b"evil");
    f.file("stage/usr/ok", b"fine");
    let run = merge_checked(f, &[]);
    run.assert_code(1).assert_stderr_has("leads out of TARGET");
    assert!(
        Snapshot::of(&canary).is_empty(),
        "nothing written outside TARGET"
    );
    assert_eq!(
        node_at(&f.target, b"usr/ok"),
        Some(Node::File {
            mode: 0o644,
            data: b"fine".to_vec()
        })
    );
    assert!(
        node_at(&f.stage, b"usr/share/doc/x").is_some(),
        "refused entry stays in STAGE"
    );
}

fn assert_type_conflict(f: &Fixture, path: &str) {
    let target_before = Snapshot::of(&f.target);
    let stage_before = Snapshot::of(&f.stage);
    merge_checked(f, &[])
        .assert_code(1)
        .assert_stderr_has("conflict")
        .assert_stderr_has(&f.target.join(path).display().to_string());
    assert_eq!(Snapshot::of(&f.target), target_before, "TARGET unchanged");
    assert_eq!(Snapshot::of(&f.stage), stage_before, "STAGE unchanged");
}

pub fn dir_over_file_is_a_type_conflict(f: &Fixture) {
    f.file("stage/share/man/man1/x.1", b"man");
    f.file("target/share/man", b"a file");
    assert_type_conflict(f, "share/man");
}

pub fn file_over_dir_is_a_type_conflict(f: &Fixture) {
    f.file("stage/include/foo", b"header");
    f.file("target/include/foo/bar.h", b"dir");
    assert_type_conflict(f, "include/foo");
}

pub fn symlink_over_real_dir_is_a_type_conflict(f: &Fixture) {
    f.symlink("usr/lib", "stage/lib");
    f.file("target/lib/libc.so", b"real dir");
    assert_type_conflict(f, "lib");
}

pub fn identical_file_and_symlink_are_no_ops(f: &Fixture) {
    f.file(
        "stage/lib/python3/backports/__init__.py",
        b"__path__ = []\n",
    );
    f.symlink("libz.so.1.3", "stage/lib/libz.so.1");
    let kept = f.file(
        "target/lib/python3/backports/__init__.py",
        b"__path__ = []\n",
    );
    f.symlink("libz.so.1.3", "target/lib/libz.so.1");
    let inode = ino(&kept);
    merge_checked(f, &[])
        .assert_code(0)
        .assert_stderr_has("2 identical, 0 replaced");
    assert_eq!(ino(&kept), inode, "identical file not touched");
    assert!(Snapshot::of(&f.stage).is_empty(), "staged copies discarded");
}

pub fn different_file_is_replaced_atomically_with_warning(f: &Fixture) {
    let staged = f.file("stage/lib/libfoo.so", b"version 2");
    let old = f.file("target/lib/libfoo.so", b"version 1");
    set_mode(&old, 0o444);
    let inode = ino(&staged);
    merge_checked(f, &[])
        .assert_code(0)
        .assert_stderr_has("warning: replaced")
        .assert_stderr_has(&old.display().to_string())
        .assert_stderr_has("1 replaced");
    assert_eq!(fs::read(&old).unwrap(), b"version 2");
    assert_eq!(
        ino(&old),
        inode,
        "replaced by one rename of the staged file"
    );
}

pub fn different_symlink_is_replaced(f: &Fixture) {
    f.symlink("libz.so.1.3.1", "stage/lib/libz.so.1");
    f.symlink("libz.so.1.2", "target/lib/libz.so.1");
    merge_checked(f, &[])
        .assert_code(0)
        .assert_stderr_has("1 replaced");
    assert_eq!(
        node_at(&f.target, b"lib/libz.so.1"),
        Some(Node::Link {
            text: b"libz.so.1.3.1".to_vec()
        })
    );
}

pub fn mode_difference_counts_as_different(f: &Fixture) {
    let s = f.file("stage/bin/tool", b"same");
    let t = f.file("target/bin/tool", b"same");
    set_mode(&s, 0o755);
    set_mode(&t, 0o644);
    merge_checked(f, &[])
        .assert_code(0)
        .assert_stderr_has("1 replaced");
    assert_eq!(mode(&t), 0o755);
}

pub fn on_conflict_keep_keeps_target_and_stage(f: &Fixture) {
    f.file("stage/etc/foo.conf", b"package default");
    f.file("stage/etc/new.conf", b"new");
    let t = f.file("target/etc/foo.conf", b"user edited");
    merge_checked(f, &["--on-conflict", "keep"])
        .assert_code(0)
        .assert_stderr_has("warning: kept")
        .assert_stderr_has("1 kept");
    assert_eq!(fs::read(&t).unwrap(), b"user edited");
    assert_eq!(
        fs::read(f.stage.join("etc/foo.conf")).unwrap(),
        b"package default"
    );
    assert_eq!(fs::read(f.target.join("etc/new.conf")).unwrap(), b"new");
}

pub fn on_conflict_fail_is_a_conflict(f: &Fixture) {
    f.file("stage/etc/foo.conf", b"package default");
    let t = f.file("target/etc/foo.conf", b"user edited");
    merge_checked(f, &["--on-conflict", "fail"])
        .assert_code(1)
        .assert_stderr_has("differs")
        .assert_stderr_has(&t.display().to_string());
    assert_eq!(fs::read(&t).unwrap(), b"user edited");
    assert_eq!(
        fs::read(f.stage.join("etc/foo.conf")).unwrap(),
        b"package default"
    );
}

/// Sage stages under `SAGE_LOCAL/var/tmp/sage/build/<pkg>/inst`: STAGE is
/// inside TARGET, and its contents go to TARGET's top.
pub fn stage_inside_target_like_sage(f: &Fixture) {
    let local = f.target.clone();
    let inst = f.dir("target/var/tmp/sage/build/pari-2.17/inst");
    f.file(
        "target/var/tmp/sage/build/pari-2.17/inst/lib/libpari.so",
        b"elf",
    );
    f.file(
        "target/var/tmp/sage/build/pari-2.17/inst/var/lib/sage/installed/pari",
        b"rec",
    );
    f.file("target/var/lib/sage/installed/gmp", b"other");
    let mut c = f.command();
    c.arg("merge").arg(&inst).arg(&local);
    super::Run::of(c).assert_code(0);
    assert_eq!(fs::read(local.join("lib/libpari.so")).unwrap(), b"elf");
    assert_eq!(
        fs::read(local.join("var/lib/sage/installed/pari")).unwrap(),
        b"rec"
    );
    assert_eq!(
        fs::read(local.join("var/lib/sage/installed/gmp")).unwrap(),
        b"other"
    );
    assert!(
        Snapshot::of(&inst).is_empty(),
        "the stage is emptied, and still there"
    );
}

/// A staged entry whose destination is STAGE itself is refused, never a
/// move of STAGE into itself.
pub fn destination_that_is_stage_itself_is_a_conflict(f: &Fixture) {
    let inst = f.dir("target/build/pkg/inst");
    f.file("target/build/pkg/inst/build/pkg/inst/x", b"nested");
    f.file("target/build/pkg/inst/share/y", b"fine");
    let mut c = f.command();
    c.arg("merge").arg(&inst).arg(&f.target);
    super::Run::of(c)
        .assert_code(1)
        .assert_stderr_has("is STAGE itself or inside it");
    assert_eq!(fs::read(inst.join("build/pkg/inst/x")).unwrap(), b"nested");
    assert_eq!(fs::read(f.target.join("share/y")).unwrap(), b"fine");
}

pub fn empty_staged_dirs_are_removed_and_leftovers_kept(f: &Fixture) {
    f.file("stage/a/b/c/merged", b"1");
    f.file("stage/a/b/conflict/x", b"2");
    f.dir("stage/a/empty/deeper");
    f.file("target/a/b/c/other", b"0");
    f.file("target/a/b/conflict", b"file blocks dir");
    merge_checked(f, &[]).assert_code(1);
    let left = Snapshot::of(&f.stage).paths();
    assert_eq!(
        left,
        ["a", "a/b", "a/b/conflict", "a/b/conflict/x"],
        "only the unmerged path stays"
    );
    assert!(
        node_at(&f.target, b"a/empty/deeper").is_some(),
        "empty dirs are placed too"
    );
}

/// Regression: entering one TARGET directory twice (`lib/` and `lib64/`
/// staged, `lib64 -> lib` in TARGET) must not take the merge's own writes
/// for a concurrent merge's: every different file is replaced.
pub fn reinstall_through_an_alias_replaces_every_file(f: &Fixture) {
    f.file("target/lib/a.so", b"old a");
    f.file("target/lib/b.so", b"old b");
    f.symlink("lib", "target/lib64");
    f.file("stage/lib/a.so", b"new a");
    f.file("stage/lib64/b.so", b"new b");
    merge_checked(f, &[])
        .assert_code(0)
        .assert_stderr_has("2 replaced")
        .assert_stderr_lacks("concurrent");
    assert_eq!(fs::read(f.target.join("lib/a.so")).unwrap(), b"new a");
    assert_eq!(fs::read(f.target.join("lib/b.so")).unwrap(), b"new b");
}

/// Regression: a merge started right after another finished (same clock
/// tick, as in a script) sees the earlier one's files as installed, not as
/// concurrent writes: a reinstall replaces them.
pub fn back_to_back_reinstalls_replace_not_concurrent(f: &Fixture) {
    for v in 0..10 {
        let content = format!("version {v}");
        f.file(
            "stage/lib/python3/site-packages/pkg/mod.py",
            content.as_bytes(),
        );
        f.file(
            "stage/lib/python3/site-packages/pkg/extra.py",
            content.as_bytes(),
        );
        let run = merge_checked(f, &[]);
        run.assert_code(0).assert_stderr_lacks("concurrent");
        if v > 0 {
            run.assert_stderr_has("2 replaced");
        }
        let placed = fs::read(f.target.join("lib/python3/site-packages/pkg/extra.py")).unwrap();
        assert_eq!(placed, content.as_bytes());
    }
}
