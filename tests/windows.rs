//! The Windows build (`stagemerge.exe`, x86_64-pc-windows-gnu, the shim in
//! `native/src/shim/windows/`) driven under Wine on the same host
//! directories as the Linux binary: the placement scenarios Windows can
//! express, 16 merges at once, kills and reruns, `plan` against `plan
//! --sandbox`, records, `uninstall` and `verify`.
//!
//! Every test here is `#[ignore]`d in the ordinary run: `tests/run-all.sh`
//! builds the executable, prepares Wine and runs them with `--ignored
//! windows::`, printing their counts and each skip's reason. What Wine or
//! Windows cannot express is skipped with the reason printed
//! ([`wine::skip`]), never passed silently.

use std::fs;

use crate::util::{Fixture, Node, Prim, Snapshot, ino, merge_checked, node_at, wine};

/// One test per placement scenario of `util/scenarios.rs`, run by the
/// Windows binary under Wine; `name => REASON` skips it, saying why.
macro_rules! under_wine {
    ($($name:ident $(=> $reason:expr)?),* $(,)?) => {
        mod placement {
            use super::*;
            $(
                #[test]
                #[ignore = "Windows under Wine: tests/run-all.sh runs it"]
                fn $name() {
                    $(
                        return wine::skip(stringify!($name), $reason);
                    )?
                    #[allow(unreachable_code)]
                    crate::util::scenarios::$name(&Fixture::new(Prim::Wine))
                }
            )*
        }
    };
}

under_wine!(
    absent_file_is_placed,
    absent_dir_is_placed_whole_by_one_rename,
    dir_into_existing_dir_merges_children,
    dir_through_symlinks_inside_target => wine::NO_SYMLINKS,
    absolute_symlink_in_target_is_not_followed => wine::NO_SYMLINKS,
    dotdot_symlink_out_of_target_is_not_followed => wine::NO_SYMLINKS,
    dir_over_file_is_a_type_conflict,
    file_over_dir_is_a_type_conflict,
    symlink_over_real_dir_is_a_type_conflict => wine::NO_SYMLINKS,
    identical_file_and_symlink_are_no_ops => wine::NO_SYMLINKS,
    different_file_is_replaced_atomically_with_warning,
    different_symlink_is_replaced => wine::NO_SYMLINKS,
    mode_difference_counts_as_different => wine::NO_MODES,
    on_conflict_keep_keeps_target_and_stage,
    on_conflict_fail_is_a_conflict,
    stage_inside_target_like_sage,
    destination_that_is_stage_itself_is_a_conflict,
    empty_staged_dirs_are_removed_and_leftovers_kept,
    reinstall_through_an_alias_replaces_every_file => wine::NO_SYMLINKS,
    back_to_back_reinstalls_replace_not_concurrent,
);

/// The limit the symlink skips name: Wine shows a host symlink in TARGET
/// as the directory it points to, so the Windows program merges through it
/// (where the Linux one would check where it leads). Should a later Wine
/// show symlinks, this fails and the skipped scenarios are to run.
#[test]
#[ignore = "Windows under Wine: tests/run-all.sh runs it"]
fn wine_shows_host_symlinks_as_their_targets() {
    let f = Fixture::new(Prim::Wine);
    f.dir("target/usr/lib");
    f.symlink("usr/lib", "target/lib64");
    f.file("stage/lib64/libz.so", b"elf");
    let plan = f.plan(&[]);
    plan.assert_code(0);
    assert!(
        plan.stdout.contains("merge-dir  lib64"),
        "the link is seen as a directory to merge into: {}",
        plan.stdout
    );
}

/// The file half of `identical_file_and_symlink_are_no_ops` (skipped for
/// its symlink): a staged file equal to TARGET's is discarded, TARGET's
/// left untouched.
#[test]
#[ignore = "Windows under Wine: tests/run-all.sh runs it"]
fn identical_file_is_a_no_op() {
    let f = Fixture::new(Prim::Wine);
    f.file(
        "stage/lib/python3/backports/__init__.py",
        b"__path__ = []\n",
    );
    let kept = f.file(
        "target/lib/python3/backports/__init__.py",
        b"__path__ = []\n",
    );
    let inode = ino(&kept);
    merge_checked(&f, &[])
        .assert_code(0)
        .assert_stderr_has("1 identical, 0 replaced");
    assert_eq!(ino(&kept), inode, "identical file not touched");
    assert!(Snapshot::of(&f.stage).is_empty(), "staged copy discarded");
}

/// Names Windows can hold beyond ASCII (UTF-16 on Windows, UTF-8 on the
/// host), and a 255-character one. Bytes that are not UTF-8 cannot name a
/// Windows file at all: that half of the Linux test does not apply.
#[test]
#[ignore = "Windows under Wine: tests/run-all.sh runs it"]
fn non_ascii_and_255_character_names_are_merged() {
    let f = Fixture::new(Prim::Wine);
    let names = [
        "café-ünïcødé.txt",
        "日本語.py",
        "emoji-🦀.md",
        &"n".repeat(255),
    ];
    for n in &names {
        f.file(format!("stage/share/{n}"), n.as_bytes());
        f.file(format!("stage/share/ÄÖÜ-dir/{n}"), b"in a new dir");
    }
    f.file("target/share/日本語.py", b"older");
    merge_checked(&f, &[])
        .assert_code(0)
        .assert_stderr_has("1 replaced");
    for n in &names {
        assert_eq!(
            node_at(&f.target, format!("share/{n}").as_bytes()),
            Some(Node::File {
                mode: 0o644,
                data: n.as_bytes().to_vec()
            }),
            "{n}"
        );
    }
    assert!(Snapshot::of(&f.stage).is_empty());
}

#[test]
#[ignore = "Windows under Wine: tests/run-all.sh runs it"]
fn read_only_staged_files_and_dirs_are_moved() {
    crate::odd_trees::read_only_moved(&[Prim::Wine]);
}

#[test]
#[ignore = "Windows under Wine: tests/run-all.sh runs it"]
fn tree_deeper_than_path_max_is_walked_level_by_level() {
    wine::skip(
        "tree_deeper_than_path_max_is_walked_level_by_level",
        wine::SHORT_PATHS,
    );
}

/// A deep tree as far as Wine allows (see [`wine::SHORT_PATHS`]): 80
/// levels, TARGET already holding them, so the merge walks down level by
/// level and moves the one file at the bottom.
#[test]
#[ignore = "Windows under Wine: tests/run-all.sh runs it"]
fn deep_tree_within_wines_path_limit_is_walked_level_by_level() {
    let f = Fixture::new(Prim::Wine);
    let deep = "d/".repeat(80);
    f.file(format!("stage/{deep}leaf"), b"bottom");
    f.dir(format!("target/{deep}"));
    merge_checked(&f, &[])
        .assert_code(0)
        .assert_stderr_has("1 moved (0 whole directories)");
    assert_eq!(
        fs::read(f.target.join(format!("{deep}leaf"))).unwrap(),
        b"bottom"
    );
    assert!(Snapshot::of(&f.stage).is_empty());
}

/// 16 merges at once sharing namespace directories and identical files,
/// 20 rounds: none fails, none warns, nothing is lost.
#[test]
#[ignore = "Windows under Wine: tests/run-all.sh runs it"]
fn sixteen_merges_sharing_namespace_dirs_never_fail() {
    crate::concurrency::shared_namespace_rounds(Prim::Wine, crate::concurrency::rounds(20));
}

/// 16 merges at once whose shared file differs, 20 rounds: one whole
/// version left, every other announced.
#[test]
#[ignore = "Windows under Wine: tests/run-all.sh runs it"]
fn different_contents_leave_one_whole_version_and_every_other_is_announced() {
    crate::concurrency::different_contents_rounds(&[Prim::Wine], crate::concurrency::rounds(20));
}

/// 20 kills spread over a reinstall of real packages (the three jaraco.*
/// wheels, which share `jaraco/`), with a JSON record; each rerun leaves
/// TARGET and the record as an uninterrupted run does.
#[test]
#[ignore = "Windows under Wine: tests/run-all.sh runs it"]
fn killed_merges_rerun_to_the_record_an_uninterrupted_run_writes() {
    crate::journal::killed_merges_rerun(
        Prim::Wine,
        &[crate::journal::Format::Json],
        crate::util::kill_trials(20),
        &crate::util::corpus::JARACO,
    );
}

#[test]
#[ignore = "Windows under Wine: tests/run-all.sh runs it"]
fn merge_then_uninstall_leaves_target_as_it_was() {
    crate::records::merge_then_uninstall(Prim::Wine);
}

#[test]
#[ignore = "Windows under Wine: tests/run-all.sh runs it"]
fn shared_namespace_file_stays_until_the_last_package_goes() {
    crate::records::shared_namespace_file_stays(Prim::Wine);
}

/// `verify` of a JSON record finds a missing, a modified, a resized and a
/// type-changed file, and passes the intact one. (Modes and symlinks, which
/// the Linux test also changes, do not exist here.)
#[test]
#[ignore = "Windows under Wine: tests/run-all.sh runs it"]
fn verify_lists_missing_modified_and_type_changed_files() {
    let f = Fixture::new(Prim::Wine);
    for n in ["gone", "content", "size", "became_dir", "intact"] {
        f.file(format!("stage/share/{n}"), b"abc");
    }
    let record = f.root().join("m.json");
    let mut c = f.command();
    c.arg("merge")
        .args(["--manifest-format", "json", "--manifest"])
        .arg(&record)
        .arg(&f.stage)
        .arg(&f.target);
    crate::util::Run::of(c).assert_code(0);
    let text = fs::read_to_string(&record).unwrap();
    assert!(
        text.contains("\"share/became_dir\""),
        "record paths use '/': {text}"
    );
    let t = f.target.join("share");
    fs::remove_file(t.join("gone")).unwrap();
    fs::write(t.join("content"), b"abd").unwrap();
    fs::write(t.join("size"), b"abcd").unwrap();
    fs::remove_file(t.join("became_dir")).unwrap();
    fs::create_dir(t.join("became_dir")).unwrap();
    let mut c = f.command();
    c.arg("verify")
        .arg("--manifest")
        .arg(&record)
        .arg(&f.target);
    let r = crate::util::Run::of(c);
    r.assert_code(1)
        .assert_stderr_has("5 files checked: 5 by size, mode and SHA-256; 4 problems");
    let words: Vec<&str> = r
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        words,
        ["type-changed", "modified", "missing", "modified"],
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("share/size (size)"), "{}", r.stdout);
}

/// `--sandbox` on Windows compiles the guest once and then loads it from
/// `%LOCALAPPDATA%\stagemerge` (Windows sets no `HOME`, and Wine cannot
/// make a mapped artifact read-only: both made every run compile again).
#[test]
#[ignore = "Windows under Wine: tests/run-all.sh runs it"]
fn sandbox_guest_is_compiled_once_then_loaded_from_the_cache() {
    let f = Fixture::new(Prim::Wine);
    let cache = f.root().join("cache");
    let plan = || {
        let mut c = f.command();
        c.env("RUST_LOG", "stagemerge_wasm_host=debug")
            .env("STAGEMERGE_CACHE_DIR", &cache)
            .args(["plan", "--sandbox"])
            .arg(&f.stage)
            .arg(&f.target);
        crate::util::Run::of(c)
    };
    plan()
        .assert_code(0)
        .assert_stderr_has("sandbox guest compiled and cached");
    plan()
        .assert_code(0)
        .assert_stderr_has("sandbox guest loaded precompiled");
}
