//! Many merges into one TARGET at once, as `make -j` runs them: shared
//! directories and identical files never fail a merge; different contents
//! leave exactly one whole version, and every merge that lost says so.

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::parallel::{MERGES, SITE, namespace_stage, run_parallel, shared_namespace_round};
use crate::util::{BOTH, Fixture, Prim};

/// Rounds per test; `STAGEMERGE_ROUNDS` raises it for a long run.
pub(crate) fn rounds(default: usize) -> usize {
    std::env::var("STAGEMERGE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn sixteen_merges_sharing_namespace_dirs_never_fail() {
    for prim in BOTH {
        shared_namespace_rounds(prim, rounds(100));
    }
}

/// `n` rounds of [`shared_namespace_round`] with the binary `prim` selects.
pub(crate) fn shared_namespace_rounds(prim: Prim, n: usize) {
    for round in 0..n {
        shared_namespace_round(&Fixture::new_fast(prim), round);
    }
}

/// Makes a merge of stage `i` take long enough that all merges of a round
/// overlap: 500 files of its own, merged before `lib/` (the walk is
/// sorted), in a directory every stage shares.
fn slow_down(stage: &Path, i: usize) {
    let d = stage.join(format!("aaa/pkg{i}"));
    fs::create_dir_all(&d).unwrap();
    for k in 0..500 {
        fs::write(d.join(format!("f{k}")), b"x").unwrap();
    }
}

/// With different contents, exactly one whole version remains and no
/// version disappears unannounced: each of the other versions is accounted
/// for by one warning, either "concurrent write" from the merge that lost
/// (its copy stays in STAGE) or "replaced" from the merge that came after a
/// finished one (sequential order: SPEC's replace rule).
#[test]
fn different_contents_leave_one_whole_version_and_every_other_is_announced() {
    different_contents_rounds(&BOTH, rounds(20));
}

/// `n` rounds per binary of 16 merges at once whose shared file differs:
/// one whole version left, every other announced.
pub(crate) fn different_contents_rounds(prims: &[Prim], n: usize) {
    let mut concurrent_total = 0;
    let mut replaced_total = 0;
    for &prim in prims {
        for round in 0..n {
            let f = Fixture::new_fast(prim);
            f.dir("target/aaa");
            if round % 2 == 1 {
                f.dir(format!("target/{SITE}"));
            }
            let rel = format!("{SITE}/backports/__init__.py");
            let version = |i: usize| format!("version {i}\n").repeat(4096);
            let stages: Vec<PathBuf> = (0..MERGES)
                .map(|i| {
                    let s = namespace_stage(f.root(), i);
                    // Large enough that a torn write would show.
                    fs::write(s.join(&rel), version(i)).unwrap();
                    slow_down(&s, i);
                    s
                })
                .collect();
            let runs = run_parallel(prim, &stages, &f.target);
            let placed = fs::read_to_string(f.target.join(&rel)).unwrap();
            let winners: Vec<usize> = (0..MERGES).filter(|&i| placed == version(i)).collect();
            assert_eq!(
                winners.len(),
                1,
                "{prim:?} round {round}: one whole version"
            );
            let target_file = f.target.join(&rel).display().to_string();
            let (mut concurrent, mut replaced, mut vanished) = (0, 0, 0);
            for (i, r) in runs.iter().enumerate() {
                assert_eq!(
                    r.code, 0,
                    "round {round} merge {i}:\n{}\n--- stdout:\n{}",
                    r.stderr, r.stdout
                );
                let warned_concurrent = r.stderr.contains("concurrent write");
                if warned_concurrent {
                    r.assert_stderr_has(&target_file);
                    assert_eq!(
                        fs::read_to_string(stages[i].join(&rel)).unwrap(),
                        version(i),
                        "a loser's copy stays in STAGE"
                    );
                    concurrent += 1;
                } else {
                    assert!(!stages[i].join(&rel).exists(), "merge {i} placed its copy");
                    if i != winners[0] {
                        vanished += 1;
                    }
                }
                if r.stderr
                    .contains(&format!("warning: replaced {target_file}"))
                {
                    replaced += 1;
                }
            }
            assert_eq!(
                concurrent + replaced,
                MERGES - 1,
                "{prim:?} round {round}: every other version announced"
            );
            assert_eq!(
                vanished, replaced,
                "a version left TARGET only by an announced replace"
            );
            concurrent_total += concurrent;
            replaced_total += replaced;
        }
    }
    eprintln!(
        "losers: {concurrent_total} concurrent writes kept, {replaced_total} replaced after a finished merge"
    );
}
