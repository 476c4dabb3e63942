//! The walk's own rules, on the in-memory filesystem (natively and under
//! WASI).

use std::path::Path;

use crate::merge;
use crate::options::Options;
use crate::report::Report;
use crate::step::Action;
use crate::testing::memfs::MemFs;

/// Merges `stage` into `target` (made by `setup`) on a filesystem where
/// everything changed after the merge started; returns the filesystem, the
/// STAGE handle, the report and the actions.
fn merge_changed(setup: impl Fn(&MemFs)) -> (MemFs, usize, Report, Vec<(String, Action)>) {
    let mut fs = MemFs::new();
    fs.changed_after_start = true;
    setup(&fs);
    let (stage, target) = (fs.mkdirs("stage"), fs.mkdirs("target"));
    let mut actions = Vec::new();
    let mut on_action = |p: &Path, a| actions.push((p.to_string_lossy().into_owned(), a));
    let report = merge(&fs, &stage, &target, &Options::default(), &mut on_action).unwrap();
    (fs, stage, report, actions)
}

/// Regression: a directory this merge moved in whole, reached again through
/// a TARGET symlink (`c -> b`), changed after the merge started, by this
/// merge. A different staged file arriving through the alias was taken for
/// a peer's concurrent write and left in STAGE whenever the clock ticked
/// between the start and the move (the property test met it one run in a
/// few hundred); it is this merge's own later write, which replaces.
#[test]
fn regression_own_dir_moved_in_whole_and_met_through_an_alias_is_not_a_peers() {
    let (fs, stage, report, actions) = merge_changed(|fs| {
        fs.file("stage/b/c", b"from b");
        fs.file("stage/c/c", b"from c");
        fs.link_text("target/c", "b");
    });
    assert_eq!(
        actions,
        [
            ("b".into(), Action::MovedDir),
            ("c".into(), Action::MergedDir),
            ("c/c".into(), Action::Replaced),
        ]
    );
    assert_eq!(report.counts.concurrent, 0);
    assert!(fs.tree(stage).is_empty(), "nothing left in STAGE");
}

/// A directory another merge made meanwhile is still theirs: a different
/// file in a TARGET directory that changed after the start, not by this
/// merge, is a concurrent write (the rule the regression above must not
/// weaken).
#[test]
fn a_different_file_in_a_directory_changed_by_someone_else_is_a_concurrent_write() {
    let (fs, stage, report, actions) = merge_changed(|fs| {
        fs.file("stage/d/f", b"mine");
        fs.file("target/d/f", b"theirs");
    });
    assert_eq!(
        actions.last().map(|(_, a)| *a),
        Some(Action::ConcurrentWrite)
    );
    assert_eq!(report.counts.concurrent, 1);
    assert!(
        fs.tree(stage).contains_key("d/f"),
        "the loser keeps its copy"
    );
}
