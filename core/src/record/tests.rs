//! Scan and settle on the in-memory filesystem: what a record lists after a
//! merge, natively and under WASI.

use std::path::PathBuf;

use super::{Content, Owned, Record, State, scan, settle};
use crate::fs::Kind;
use crate::options::{OnConflict, Options};
use crate::testing::memfs::MemFs;

/// A stage with a placed file, a kept (different) file, a type conflict, a
/// directory through `lib64 -> lib`, and a directory behind a symlink out
/// of TARGET.
fn fixture() -> (MemFs, usize, usize) {
    let fs = MemFs::new();
    fs.file("stage/bin/new", b"#!");
    fs.file("stage/doc", b"a file");
    fs.file("stage/etc/conf", b"new");
    fs.link_text("stage/etc/alias", "conf");
    fs.file("stage/lib64/libz.so", b"z");
    fs.file("stage/share/x", b"x");
    fs.mkdirs("target/doc");
    fs.file("target/etc/conf", b"old");
    fs.mkdirs("target/lib");
    fs.link_text("target/lib64", "lib");
    fs.link_text("target/share", "/usr/share");
    let (stage, target) = (fs.mkdirs("stage"), fs.mkdirs("target"));
    (fs, stage, target)
}

fn paths(list: &[Owned]) -> Vec<(String, State)> {
    list.iter()
        .map(|o| (o.path.to_string_lossy().into_owned(), o.state))
        .collect()
}

#[test]
fn scan_lists_files_and_symlinks_sorted_with_digests_when_full() {
    let (fs, stage, _) = fixture();
    let before = fs.tree(0);
    let scanned = scan(&fs, Record::Full, stage).unwrap();
    let mut list = scanned.owned;
    assert!(
        list.iter()
            .all(|o| (o.kind == Kind::File) == o.detail.is_none()),
        "files are left to be hashed on every core, links are described"
    );
    scanned.digests.unwrap().fill(&fs, &mut list).unwrap();
    assert_eq!(fs.tree(0), before, "a scan changes nothing");
    let names: Vec<_> = paths(&list).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        names,
        [
            "bin/new",
            "doc",
            "etc/alias",
            "etc/conf",
            "lib64/libz.so",
            "share/x"
        ]
    );
    let alias = &list[2];
    assert_eq!(alias.kind, Kind::Symlink);
    let detail = alias.detail.as_ref().unwrap();
    assert_eq!(
        detail.content,
        Content::Link {
            text: "conf".into()
        }
    );
    assert!(matches!(
        list[0].detail.as_ref().unwrap().content,
        Content::File { .. }
    ));
    let bare = scan(&fs, Record::Paths, stage).unwrap().owned;
    assert!(bare.iter().all(|o| o.detail.is_none()));
    assert_eq!(bare.len(), list.len());
    assert!(scan(&fs, Record::Off, stage).unwrap().owned.is_empty());
}

#[test]
fn settle_lists_kept_paths_as_lost_and_leaves_out_what_stays_in_stage() {
    let (fs, stage, target) = fixture();
    let scanned = scan(&fs, Record::Paths, stage).unwrap();
    let staged = scanned.owned;
    let opts = Options {
        on_conflict: OnConflict::Keep,
        ..Options::default()
    };
    let report = crate::merge_listed(
        &fs,
        &stage,
        &target,
        &opts,
        scanned.listings,
        &mut |_, _| {},
    )
    .unwrap();
    let got = settle(&fs, &target, staged, Vec::new(), &report);
    assert_eq!(
        paths(&got),
        [
            ("bin/new".into(), State::Placed),
            ("etc/alias".into(), State::Placed),
            ("etc/conf".into(), State::Lost),
            ("lib64/libz.so".into(), State::Placed),
        ],
        "doc (a type conflict) and share/x (behind a symlink out of TARGET) stay in STAGE"
    );
}

#[test]
fn settle_keeps_carried_entries_that_target_still_has() {
    let (fs, stage, target) = fixture();
    fs.file("target/lib/old.so", b"from an earlier run");
    let carried = |p: &str| Owned {
        path: PathBuf::from(p),
        kind: Kind::File,
        detail: None,
        state: State::Placed,
    };
    let staged = scan(&fs, Record::Paths, stage).unwrap().owned;
    let report = crate::merge(&fs, &stage, &target, &Options::default(), &mut |_, _| {}).unwrap();
    let got = settle(
        &fs,
        &target,
        staged,
        vec![
            // Through TARGET's lib64 -> lib, as staged.
            carried("lib64/old.so"),
            carried("lib/gone.so"),
            carried("doc"),
            carried("share/x"),
        ],
        &report,
    );
    let names: Vec<_> = paths(&got).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        names,
        [
            "bin/new",
            "etc/alias",
            "etc/conf",
            "lib64/libz.so",
            "lib64/old.so"
        ],
        "a carried path is kept while TARGET has a non-directory there, never through a link out"
    );
}

#[test]
fn merge_with_the_scans_listings_ends_where_a_plain_merge_does() {
    let run = |listed: bool| {
        let (fs, stage, target) = fixture();
        let mut actions = Vec::new();
        let mut on = |p: &std::path::Path, a| actions.push((p.to_path_buf(), a));
        let opts = Options::default();
        let report = if listed {
            let listings = scan(&fs, Record::Paths, stage).unwrap().listings;
            crate::merge_listed(&fs, &stage, &target, &opts, listings, &mut on)
        } else {
            crate::merge(&fs, &stage, &target, &opts, &mut on)
        }
        .unwrap();
        (fs.tree(0), actions, report.left, report.counts)
    };
    assert_eq!(run(true), run(false));
}
