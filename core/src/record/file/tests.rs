//! The record's files through handles, on the in-memory filesystem.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use super::{FileError, Place, Reader, durable, index, load};
use crate::Fs;
use crate::record::read::Reserved;
use crate::testing::memfs::MemFs;

fn reader() -> Reader {
    Reader {
        name: |b| String::from_utf8(b).ok().map(OsString::from),
        reserved: Reserved::default(),
    }
}

fn place(fs: &MemFs, dir: &str, name: &str) -> Place<usize> {
    Place {
        dir: fs.mkdirs(dir),
        name: name.into(),
        shown: Path::new(dir).join(name),
    }
}

#[test]
fn a_durable_write_replaces_the_record_and_leaves_no_temporary() {
    let fs = MemFs::new();
    let p = place(&fs, "inst", "a");
    durable::write(&fs, &p, &p.name, &p.shown, b"x\n").unwrap();
    durable::write(&fs, &p, &p.name, &p.shown, b"y\n").unwrap();
    let names: Vec<OsString> = fs
        .read_dir(&p.dir)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, vec![OsString::from("a")]);
    let got = load::bytes(&fs, &p.dir, OsStr::new("a"), &p.shown, "record").unwrap();
    assert_eq!(got.as_deref(), Some(&b"y\n"[..]));
    durable::remove(&fs, &p, &p.name, &p.shown).unwrap();
    assert!(
        load::bytes(&fs, &p.dir, OsStr::new("a"), &p.shown, "record")
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_symlink_is_not_read_as_a_record() {
    let fs = MemFs::new();
    let p = place(&fs, "inst", "a");
    fs.symlink(OsStr::new("elsewhere"), &p.dir, OsStr::new("a"))
        .unwrap();
    let e = reader()
        .record(&fs, &p.dir, OsStr::new("a"), &p.shown)
        .unwrap_err();
    assert!(matches!(e, FileError::NotRegular { .. }), "{e}");
    // Shown as the platform joins paths (`inst\a` on Windows).
    let says = format!("{} is not a regular file (a symlink)", p.shown.display());
    assert!(e.to_string().contains(&says), "{e}");
}

#[test]
fn a_journal_given_as_a_record_is_refused_and_the_other_way_round() {
    let fs = MemFs::new();
    let p = place(&fs, "inst", "a");
    let journal = crate::record::write::journal(&[]);
    fs.write_synced(&p.dir, OsStr::new("a"), &journal).unwrap();
    let e = reader()
        .record(&fs, &p.dir, OsStr::new("a"), &p.shown)
        .unwrap_err();
    assert!(
        e.to_string().contains("a journal of a merge, not a record"),
        "{e}"
    );
    fs.write_synced(&p.dir, OsStr::new("j"), b"f\n").unwrap();
    let e = reader()
        .journal(&fs, &p.dir, OsStr::new("j"), &p.shown)
        .unwrap_err();
    assert!(e.to_string().contains("not a journal"), "{e}");
    assert!(e.to_string().contains("written whole or not at all"), "{e}");
}

#[test]
fn the_index_reads_each_record_with_its_journal_and_refuses_a_stray_entry() {
    let fs = MemFs::new();
    let p = place(&fs, "inst", "a");
    fs.write_synced(&p.dir, OsStr::new("a"), b"lib/x\n")
        .unwrap();
    fs.write_synced(&p.dir, OsStr::new("b"), b"lib/y\n")
        .unwrap();
    let owned = [crate::Owned {
        path: "lib/z".into(),
        kind: crate::Kind::File,
        detail: None,
        state: crate::record::State::Placed,
    }];
    let j = crate::record::write::journal(&owned);
    fs.write_synced(&p.dir, OsStr::new("b.stagemerge-journal"), &j)
        .unwrap();
    // A temporary of a write in progress is not an owner.
    fs.write_synced(&p.dir, OsStr::new(".c.stagemerge-tmp"), b"{")
        .unwrap();
    let owners = index::read(
        &fs,
        &p.dir,
        Path::new("inst"),
        Some(OsStr::new("a")),
        &[],
        &reader(),
    )
    .unwrap();
    let names: Vec<&str> = owners.owners().iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["b"]);
    let b = &owners.owners()[0];
    assert!(b.incomplete);
    let paths: Vec<&Path> = b.entries.iter().map(|e| e.path.as_path()).collect();
    assert_eq!(paths, [Path::new("lib/z"), Path::new("lib/y")]);
    fs.create_dir(&p.dir, OsStr::new("sub"), None).unwrap();
    let e = index::read(&fs, &p.dir, Path::new("inst"), None, &[], &reader()).unwrap_err();
    let sub = Path::new("inst").join("sub");
    let says = format!(
        "{} in the directory of records is a directory",
        sub.display()
    );
    assert!(e.to_string().contains(&says), "{e}");
}

#[test]
fn a_record_too_big_is_refused_before_it_is_parsed() {
    let fs = MemFs::new();
    let p = place(&fs, "inst", "a");
    let big = vec![b'a'; (crate::record::read::MAX_RECORD_BYTES + 1) as usize];
    fs.write_synced(&p.dir, OsStr::new("a"), &big).unwrap();
    let e = reader()
        .record(&fs, &p.dir, OsStr::new("a"), &p.shown)
        .unwrap_err();
    assert!(matches!(e, FileError::TooBig { .. }), "{e}");
}

/// A network client's stale handle (a journal the other client's rerun
/// replaced) is looked up again from the name, a bounded number of times.
#[test]
fn a_record_read_through_a_stale_handle_is_read_again_until_the_bound() {
    use std::sync::atomic::Ordering;
    let fs = MemFs::new();
    let p = place(&fs, "inst", "a");
    fs.write_synced(&p.dir, OsStr::new("a"), b"lib/x\n")
        .unwrap();
    fs.stale_opens.store(3, Ordering::Relaxed);
    let bytes = load::bytes(&fs, &p.dir, OsStr::new("a"), &p.shown, "record").unwrap();
    assert_eq!(bytes.as_deref(), Some(&b"lib/x\n"[..]));
    assert_eq!(
        fs.stale_opens.load(Ordering::Relaxed),
        0,
        "every stale open was tried"
    );
    fs.stale_opens.store(crate::retry::TRIES, Ordering::Relaxed);
    let e = load::bytes(&fs, &p.dir, OsStr::new("a"), &p.shown, "record").unwrap_err();
    assert!(
        matches!(&e, FileError::Io { cause, .. }
            if cause.kind() == std::io::ErrorKind::StaleNetworkFileHandle),
        "{e}"
    );
    assert_eq!(
        fs.stale_opens.load(Ordering::Relaxed),
        0,
        "tried {} times, no more",
        crate::retry::TRIES
    );
}
