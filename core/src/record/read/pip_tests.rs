//! pip's RECORD: rows as pip writes them, paths resolved against the site
//! directory, and everything else refused or read as the path alone.

use std::ffi::OsString;
use std::path::Path;

use proptest::prelude::*;

use super::site_of;
use crate::fs::Kind;
use crate::record::Content;
use crate::record::read::tests::cases;
use crate::record::read::{Format, Invalid, Parsed, Reserved, Rules, What, parse_pip};

fn name(b: Vec<u8>) -> Option<OsString> {
    String::from_utf8(b).ok().map(OsString::from)
}

const SITE: &[u8] = b"lib/python3.11/site-packages";

fn read(doc: &str) -> Result<Parsed, Invalid> {
    let mut reserved = Reserved::default();
    reserved.tree("var/lib/sage/installed".into(), What::RecordsDir);
    parse_pip(
        doc.as_bytes(),
        SITE,
        &Rules {
            name,
            reserved: &reserved,
        },
    )
}

fn refused(doc: &str, says: &str) {
    match read(doc) {
        Ok(p) => panic!("accepted {doc:?}: {p:?}"),
        Err(e) => assert!(e.0.contains(says), "{doc:?}: {e} (wanted {says:?})"),
    }
}

/// What `pip install` wrote for backports.tarfile 1.2.0 (part), plus a
/// console script and a quoted name holding a comma.
const REAL: &str = "\
backports.tarfile-1.2.0.dist-info/INSTALLER,sha256=zuuue4knoyJ-UwPPXg8fezS7VCrXJQrAP7zeNuwvFQg,4
backports.tarfile-1.2.0.dist-info/RECORD,,
backports/__init__.py,sha256=iOEMwnlORWezdO8-2vxBIPSR37D7JGjluZ8f55vzxls,81
backports/__pycache__/__init__.cpython-311.pyc,,
../../../bin/tarfile,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0
\"backports/a,b.txt\",sha384=AAAA,3
";

#[test]
fn a_record_as_pip_writes_it_is_read_relative_to_its_site() {
    let p = read(REAL).unwrap();
    assert_eq!(p.format, Format::Pip);
    let paths: Vec<_> = p.entries.iter().map(|e| e.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "lib/python3.11/site-packages/backports.tarfile-1.2.0.dist-info/INSTALLER",
            "lib/python3.11/site-packages/backports.tarfile-1.2.0.dist-info/RECORD",
            "lib/python3.11/site-packages/backports/__init__.py",
            "lib/python3.11/site-packages/backports/__pycache__/__init__.cpython-311.pyc",
            "bin/tarfile",
            "lib/python3.11/site-packages/backports/a,b.txt",
        ]
        .map(std::path::PathBuf::from)
    );
    // A SHA-256 with a size is a detail; the digest is pip's urlsafe
    // base64 of the bytes (the empty file's here).
    let empty = &p.entries[4];
    assert_eq!(empty.kind, Some(Kind::File));
    let d = empty.detail.as_ref().unwrap();
    assert_eq!(d.size, 0);
    assert_eq!(d.mode, None);
    let Content::File { sha256 } = d.content else {
        panic!("a file's digest")
    };
    assert_eq!(
        hex::encode(sha256),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    // No hash, or one that cannot be compared: the path alone.
    for i in [1, 3, 5] {
        assert!(
            p.entries[i].detail.is_none() && p.entries[i].kind.is_none(),
            "{i}"
        );
    }
}

#[test]
fn rows_a_package_cannot_own_make_the_record_invalid() {
    refused("../../../../etc/passwd,,\n", "leaves TARGET");
    refused("/etc/passwd,,\n", "absolute path");
    refused(
        "../../../var/lib/sage/installed/six-1.0,,\n",
        "directory of records",
    );
    refused("a//b,,\n", "not a canonical");
    refused("a/,,\n", "not a canonical");
    refused("a,sha256=x\n", "fields");
    refused("a,sha256=AAAA,3,x\n", "fields");
    refused("a,nohash,3\n", "no algorithm");
    refused("a,sha256=!!!!,3\n", "the hash");
    refused("a,sha256=AAAA,3\n", "not 32 bytes");
    refused("a,,-1\n", "not a number");
    refused("\"a,,\n", "row 1");
    assert_eq!(read("").unwrap().entries.len(), 0);
}

#[test]
fn the_site_of_a_record_is_the_directory_of_its_dist_info() {
    let site = |p: &str| site_of(Path::new(p)).map(|s| s.to_path_buf());
    assert_eq!(
        site("lib/python3.11/site-packages/six-1.17.0.dist-info/RECORD"),
        Some("lib/python3.11/site-packages".into())
    );
    assert_eq!(site("x.dist-info/RECORD"), Some("".into()));
    assert_eq!(site("lib/six-1.17.0.egg-info/RECORD"), None);
    assert_eq!(site("lib/six-1.17.0.dist-info/RECORD.bak"), None);
    assert_eq!(site("RECORD"), None);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_read_or_refused_never_leave_target(
        bytes in proptest::collection::vec(any::<u8>(), 0..512)
    ) {
        let reserved = Reserved::default();
        if let Ok(p) = parse_pip(&bytes, SITE, &Rules { name, reserved: &reserved }) {
            for e in &p.entries {
                let b = e.path.as_os_str().as_encoded_bytes();
                prop_assert!(!b.is_empty() && !b.starts_with(b"/"));
                prop_assert!(b.split(|c| *c == b'/').all(|c| !c.is_empty() && c != b"." && c != b".."));
            }
        }
    }

    #[test]
    fn written_rows_are_read_back(
        rows in proptest::collection::vec(("[a-z ,\"]{1,8}(/[a-z.]{1,8}){0,3}", proptest::option::of(any::<[u8; 32]>()), 0u64..1 << 40), 0..20)
    ) {
        use base64::Engine as _;
        let mut w = csv::Writer::from_writer(Vec::new());
        for (path, digest, size) in &rows {
            let hash = digest.map(|d| format!("sha256={}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d))).unwrap_or_default();
            w.write_record([path.as_str(), hash.as_str(), &size.to_string()]).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let reserved = Reserved::default();
        let p = parse_pip(&bytes, SITE, &Rules { name, reserved: &reserved });
        let ok = rows.iter().all(|(path, _, _)| !path.split('/').any(|c| c == "." || c == ".."));
        if ok {
            let p = p.unwrap();
            prop_assert_eq!(p.entries.len(), rows.len());
            for (e, (path, digest, size)) in p.entries.iter().zip(&rows) {
                prop_assert_eq!(e.path.clone(), Path::new("lib/python3.11/site-packages").join(path));
                match digest {
                    Some(d) => {
                        let detail = e.detail.as_ref().unwrap();
                        prop_assert_eq!(detail.size, *size);
                        prop_assert_eq!(&detail.content, &Content::File { sha256: *d });
                    }
                    None => prop_assert!(e.detail.is_none()),
                }
            }
        }
    }
}
