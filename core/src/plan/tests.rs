//! The plan against the merge, on the in-memory filesystem: what a plan
//! says is what the merge then does, and a plan changes nothing. These run
//! natively and, compiled for `wasm32-wasip1`, under Wasmtime.

use std::path::{Path, PathBuf};

use super::{Step, plan};
use crate::fs::Kind;
use crate::options::{OnConflict, Options};
use crate::report::ConflictReason;
use crate::testing::memfs::MemFs;
use crate::{Action, merge};

/// STAGE and TARGET with one of each case: a new directory, a type
/// conflict, a changed file, an identical file in shared directories, a
/// directory through `lib64 -> lib`, and a symlink out of TARGET.
fn fixture(refuse_noreplace: bool) -> (MemFs, usize, usize) {
    let mut fs = MemFs::new();
    fs.refuse_noreplace = refuse_noreplace;
    fs.file("stage/bin/new", b"#!");
    fs.file("stage/doc", b"a file");
    fs.file("stage/etc/conf", b"new");
    fs.file("stage/lib/py/backports/__init__.py", b"");
    fs.file("stage/lib/py/backports/tarfile/x.py", b"x");
    fs.file("stage/lib64/libz.so", b"z");
    fs.file("stage/share/x", b"x");
    fs.mkdirs("target/doc");
    fs.file("target/etc/conf", b"old");
    fs.file("target/lib/py/backports/__init__.py", b"");
    fs.link_text("target/lib64", "lib");
    fs.link_text("target/share", "/usr/share");
    let (stage, target) = (fs.mkdirs("stage"), fs.mkdirs("target"));
    (fs, stage, target)
}

fn steps(opts: &Options) -> Vec<(String, Step)> {
    let (fs, stage, target) = fixture(false);
    let before = fs.tree(0);
    let p = plan(&fs, &stage, &target, opts).unwrap();
    assert_eq!(fs.tree(0), before, "a plan changes nothing");
    p.steps
        .into_iter()
        .map(|s| (s.path.to_string_lossy().into_owned(), s.step))
        .collect()
}

#[test]
fn plan_names_each_case() {
    let got = steps(&Options::default());
    let want = vec![
        ("bin", Step::PlaceDir),
        (
            "doc",
            Step::Conflict(ConflictReason::Type {
                stage: Kind::File,
                target: Kind::Dir,
            }),
        ),
        ("etc", Step::MergeDir),
        ("etc/conf", Step::Replace),
        ("lib", Step::MergeDir),
        ("lib/py", Step::MergeDir),
        ("lib/py/backports", Step::MergeDir),
        ("lib/py/backports/__init__.py", Step::Identical),
        ("lib/py/backports/tarfile", Step::PlaceDir),
        (
            "lib64",
            Step::Follow {
                link: PathBuf::from("lib"),
            },
        ),
        ("lib64/libz.so", Step::Place { kind: Kind::File }),
        (
            "share",
            Step::Conflict(ConflictReason::SymlinkEscapes {
                link: PathBuf::from("/usr/share"),
            }),
        ),
    ];
    let want: Vec<(String, Step)> = want.into_iter().map(|(p, s)| (p.to_owned(), s)).collect();
    assert_eq!(got, want);
}

#[test]
fn conflict_policy_changes_only_the_different_file() {
    let keep = steps(&Options {
        on_conflict: OnConflict::Keep,
        ..Options::default()
    });
    assert!(keep.contains(&("etc/conf".into(), Step::Keep)));
    let fail = steps(&Options {
        on_conflict: OnConflict::Fail,
        ..Options::default()
    });
    assert!(fail.contains(&("etc/conf".into(), Step::Conflict(ConflictReason::Different))));
    assert_eq!(keep.len(), fail.len());
}

/// The merge's actions are the plan's, and its end state is what the plan
/// promised: with the no-replace rename, with the fallback (forced, on a
/// filesystem that refuses the flag) and in copy mode.
#[test]
fn the_merge_does_what_the_plan_said() {
    for (refuse, copy) in [(false, false), (true, false), (false, true)] {
        let (fs, stage, target) = fixture(refuse);
        let opts = Options {
            force_fallback: refuse,
            copy,
            ..Options::default()
        };
        let p = plan(&fs, &stage, &target, &opts).unwrap();
        let mut actions = Vec::new();
        let report = merge(&fs, &stage, &target, &opts, &mut |path: &Path, a| {
            actions.push((path.to_string_lossy().into_owned(), a));
        })
        .unwrap();
        assert_eq!(report.counts.conflicts, 2);
        assert_eq!(report.counts.replaced, 1);
        assert_eq!(report.counts.identical, 1);
        let predicted: Vec<(String, Action)> = p
            .steps
            .iter()
            .map(|s| (s.path.to_string_lossy().into_owned(), s.step.action()))
            .collect();
        assert_eq!(actions, predicted, "fallback {refuse}, copy {copy}");
        if copy {
            assert!(
                fs.tree(stage).contains_key("bin/new"),
                "a copy leaves STAGE"
            );
            continue;
        }
        let t = fs.tree(target);
        for placed in [
            "bin/new",
            "etc/conf",
            "lib/py/backports/tarfile/x.py",
            "lib/libz.so",
        ] {
            assert!(t.contains_key(placed), "{placed} (fallback {refuse})");
        }
        assert!(
            matches!(t["lib64"], crate::testing::memfs::Node::Link(_)),
            "lib64 stays a link"
        );
        let s: Vec<String> = fs.tree(stage).into_keys().collect();
        assert_eq!(
            s,
            ["doc", "share", "share/x"],
            "conflicts stay staged (fallback {refuse})"
        );
    }
}
