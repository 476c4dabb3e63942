use std::ffi::OsString;
use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::fs::Kind;
use crate::record::{Content, State};

fn unix_name(b: Vec<u8>) -> Option<OsString> {
    // The tests' platform names: UTF-8 only, like Windows, so that they run
    // the same everywhere; raw bytes are the native shims' business.
    String::from_utf8(b).ok().map(OsString::from)
}

fn read(doc: &str) -> Result<Parsed, Invalid> {
    let mut reserved = Reserved::default();
    reserved.tree("var/lib/installed".into(), What::RecordsDir);
    parse(
        doc.as_bytes(),
        &Rules {
            name: unix_name,
            reserved: &reserved,
        },
    )
}

fn refused(doc: &str, says: &str) {
    match read(doc) {
        Ok(p) => panic!("accepted {doc}: {p:?}"),
        Err(e) => assert!(e.0.contains(says), "{doc}: {e} (wanted {says:?})"),
    }
}

const SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn manifest(entry: &str) -> String {
    format!(r#"{{"format": "stagemerge-manifest", "version": 1, "files": [{entry}]}}"#)
}

#[test]
fn a_manifest_as_written_is_read_with_every_field() {
    let p = read(&manifest(&format!(
        r#"{{"path": "lib/a b", "kind": "file", "size": 0, "mode": "0644", "sha256": "{SHA}"}},
           {{"path_hex": "6c69622f6c", "kind": "symlink", "size": 3, "target": "a b", "state": "lost"}},
           {{"path": "lib/c", "kind": "file"}}"#
    )))
    .unwrap();
    assert_eq!(p.format, Format::Manifest);
    assert_eq!(p.entries.len(), 3);
    assert_eq!(p.entries[0].path, Path::new("lib/a b"));
    assert_eq!(p.entries[0].detail.as_ref().unwrap().mode, Some(0o644));
    assert_eq!(p.entries[1].path, Path::new("lib/l"));
    assert_eq!(p.entries[1].kind, Some(Kind::Symlink));
    assert_eq!(p.entries[1].state, State::Lost);
    assert!(matches!(
        &p.entries[1].detail.as_ref().unwrap().content,
        Content::Link { text } if text == "a b"
    ));
    assert!(p.entries[2].detail.is_none());
}

#[test]
fn sage_and_text_records_list_names() {
    let p =
        read(r#"{"package_name": "x", "install_date": "now", "files": ["a b", "c/d"]}"#).unwrap();
    assert_eq!(p.format, Format::Sage);
    assert_eq!(p.entries[0].path, Path::new("a b"));
    assert_eq!(p.entries[1].kind, None);
    let t = read("a b\nc/d").unwrap();
    assert_eq!(t.format, Format::Text);
    assert_eq!(t.entries.len(), 2);
    assert!(read("").unwrap().entries.is_empty());
}

#[test]
fn a_journal_says_it_is_one() {
    let p = read(r#"{"format": "stagemerge-journal", "version": 1, "files": []}"#).unwrap();
    assert_eq!(p.format, Format::Journal);
}

#[test]
fn paths_a_package_cannot_own_make_the_record_invalid() {
    for (path, says) in [
        ("", "empty path"),
        ("/etc/passwd", "canonical"),
        ("a//b", "canonical"),
        ("a/", "canonical"),
        ("../x", ". or .."),
        ("a/./b", ". or .."),
        ("a\\u0000b", "NUL"),
        (".stagemerge/v/x", "clobber store"),
        (".STAGEMERGE", "clobber store"),
        ("var/lib/installed/p", "directory of records"),
    ] {
        refused(
            &manifest(&format!(r#"{{"path": "{path}", "kind": "file"}}"#)),
            says,
        );
        refused(&format!(r#"{{"files": ["{path}"]}}"#), says);
    }
    refused("a\n\nb\n", "line 2: an empty path");
    refused("a\n.stagemerge/x\n", "line 2");
}

#[test]
fn fields_of_the_wrong_type_or_range_make_the_record_invalid() {
    for (entry, says) in [
        (
            r#"{"path": "a", "kind": "file", "size": "5", "sha256": "SHA"}"#,
            "invalid type",
        ),
        (
            r#"{"path": "a", "kind": "file", "size": -1, "sha256": "SHA"}"#,
            "invalid value",
        ),
        (
            r#"{"path": "a", "kind": "file", "size": 5, "sha256": 0}"#,
            "invalid type",
        ),
        (
            r#"{"path": "a", "kind": "file", "size": 5, "sha256": "abc"}"#,
            "64 hex",
        ),
        (
            r#"{"path": "a", "kind": "file", "size": 5}"#,
            "no \"sha256\"",
        ),
        (
            r#"{"path": "a", "kind": "file", "sha256": "SHA"}"#,
            "without \"size\"",
        ),
        (
            r#"{"path": "a", "kind": "file", "size": 5, "sha256": "SHA", "mode": "+644"}"#,
            "octal",
        ),
        (
            r#"{"path": "a", "kind": "file", "size": 5, "sha256": "SHA", "mode": "17777"}"#,
            "octal",
        ),
        (
            r#"{"path": "a", "path_hex": "61", "kind": "file"}"#,
            "both \"path\" and \"path_hex\"",
        ),
        (r#"{"path": "a", "kind": "dir"}"#, "unknown variant"),
        (r#"{"path": "a"}"#, "missing field `kind`"),
        (r#"{"kind": "file"}"#, "no \"path\""),
        (
            r#"{"path": "a", "kind": "file", "owner": "x"}"#,
            "unknown field",
        ),
        (
            r#"{"path": "a", "kind": "file", "state": "gone"}"#,
            "unknown variant",
        ),
        (
            r#"{"path": "a", "kind": "symlink", "size": 4, "target": "abc"}"#,
            "length",
        ),
        (
            r#"{"path": "a", "kind": "file", "kind": "file"}"#,
            "duplicate field",
        ),
        (r#""a""#, "bare name"),
    ] {
        let entry = entry.replace("SHA", SHA);
        refused(&manifest(&entry), says);
        refused(&manifest(&entry), "files[0]");
    }
}

#[test]
fn unknown_formats_and_versions_make_the_record_invalid() {
    refused(
        r#"{"format": "stagemerge-manifest", "version": 99, "files": []}"#,
        "unknown \"version\" 99",
    );
    refused(
        r#"{"format": "stagemerge-manifest", "version": "1", "files": []}"#,
        "invalid type",
    );
    refused(
        r#"{"format": "stagemerge-manifest", "files": []}"#,
        "no \"version\"",
    );
    refused(
        r#"{"format": "other", "version": 1, "files": []}"#,
        "unknown \"format\"",
    );
    refused(
        r#"{"format": "stagemerge-manifest", "version": 1, "files": [], "x": 1}"#,
        "unknown field",
    );
    refused(
        r#"{"format": "stagemerge-manifest", "version": 1}"#,
        "no \"files\"",
    );
    refused(r#"{"files": "a"}"#, "invalid type");
    refused(
        r#"{"files": [{"path": "a", "kind": "file"}]}"#,
        "Sage's lists names",
    );
    refused(r#"{"files": []} x"#, "trailing");
    refused(r#"{"files": [], "files": []}"#, "given twice");
}

#[test]
fn long_paths_are_refused_and_cut_in_the_message() {
    let long = "a".repeat(MAX_PATH_BYTES + 1);
    let e = read(&format!("{long}\n")).unwrap_err().0;
    assert!(e.contains("over the limit"), "{e}");
    assert!(e.len() < 400, "{} bytes of message", e.len());
    assert!(read("a/".repeat(2000).trim_end_matches('/')).is_ok());
}

/// A real record of a few entries, to mutate.
fn sample() -> String {
    manifest(&format!(
        r#"{{"path": "lib/python3/site-packages/backports/__init__.py", "kind": "file", "size": 0, "mode": "0644", "sha256": "{SHA}"}},
  {{"path": "lib/libz.so.1", "kind": "symlink", "size": 11, "target": "libz.so.1.3"}},
  {{"path_hex": "6e2f61ff62", "kind": "file", "size": 3, "mode": "0755", "sha256": "{SHA}", "state": "lost"}}"#
    ))
}

/// Records the merge wrote for the corpus's jaraco.text wheel (which has a
/// name with a space), in the three formats.
const REAL: [&[u8]; 3] = [
    include_bytes!("testdata/jaraco.text.json"),
    include_bytes!("testdata/jaraco.text.txt"),
    include_bytes!("testdata/jaraco.text-4.3.0"),
];

#[test]
fn real_records_of_the_corpus_are_read_in_each_format() {
    let reserved = Reserved::default();
    let rules = Rules {
        name: unix_name,
        reserved: &reserved,
    };
    let formats: Vec<(Format, usize)> = REAL
        .iter()
        .map(|r| {
            let p = parse(r, &rules).unwrap();
            (p.format, p.entries.len())
        })
        .collect();
    let n = formats[0].1;
    assert!(n > 20, "{formats:?}");
    assert_eq!(
        formats,
        [(Format::Manifest, n), (Format::Text, n), (Format::Sage, n)]
    );
}

/// Every accepted entry satisfies the path rule on its own.
fn check_accepted(p: &Parsed) {
    for e in &p.entries {
        let b = e.path.as_os_str().as_encoded_bytes();
        assert!(!b.is_empty() && !b.starts_with(b"/") && !b.contains(&0));
        assert!(
            b.split(|c| *c == b'/')
                .all(|c| !c.is_empty() && c != b"." && c != b"..")
        );
        assert!(!e.path.starts_with(".stagemerge"));
    }
}

/// Property cases: 4,000, or 100,000 in the soak mode (also for pip's
/// RECORD reader).
pub(super) fn cases() -> u32 {
    if std::env::var_os("STAGEMERGE_SOAK").is_some_and(|v| v != "0") {
        100_000
    } else {
        4_000
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let reserved = Reserved::default();
        if let Ok(p) = parse(&bytes, &Rules { name: unix_name, reserved: &reserved }) {
            check_accepted(&p);
            // Memory grows with the entries: no entry without bytes to
            // show for it.
            prop_assert!(p.entries.len() <= bytes.len() / 2 + 1);
        }
    }

    #[test]
    fn mutated_records_are_read_or_refused_never_misread(
        which in 0..4usize,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..6)
    ) {
        let mut bytes = match which {
            0 => sample().into_bytes(),
            i => REAL[i - 1].to_vec(),
        };
        for (at, how, b) in edits {
            let i = at.index(bytes.len() + 1);
            match how {
                0 => bytes.insert(i, b),
                1 if i < bytes.len() => { bytes.remove(i); }
                2 if i < bytes.len() => bytes[i] = b,
                _ => bytes.truncate(i),
            }
        }
        let reserved = Reserved::default();
        if let Ok(p) = parse(&bytes, &Rules { name: unix_name, reserved: &reserved }) {
            check_accepted(&p);
        }
    }
}
