//! The wire format between the sandboxed guest and its host.
//!
//! WASI preview 1 cannot tell a guest an entry's permission bits or owner,
//! refuses to read a symlink whose text is absolute, and relists a directory
//! from its start on every `fd_readdir` call. The host therefore offers three
//! read-only imports, `list`, `lstat` and `readlink`, each naming an entry by
//! a preopen index, a directory path below it and a single name. This module
//! is the one definition of what crosses that boundary, so host and guest
//! cannot disagree: both sides encode and decode with these functions.

mod request;

pub use request::{Access, BookRequest, Command, DirRequest, RecordsRequest, Request};

use std::io;

use crate::fs::{Entry, Kind, Meta, Stamp};

/// The import module name the guest links against.
pub const MODULE: &str = "stagemerge";

/// The import that hands the guest its [`Request`]: `request(out, cap)`
/// returns the encoded request's length, having written it to `out` if it
/// fits in `cap` bytes.
pub const REQUEST: &str = "request";

/// Where the guest finds STAGE (the first preopen).
pub const STAGE_PATH: &str = "/stage";
/// Where the guest finds TARGET (the second preopen).
pub const TARGET_PATH: &str = "/target";

/// Index of the STAGE preopen in host calls.
pub const STAGE: u32 = 0;
/// Index of the TARGET preopen in host calls.
pub const TARGET: u32 = 1;

/// The preopen index and guest path of the `i`th directory handed to the
/// guest after STAGE and TARGET (a record's directory, the directory of
/// records): `/dir0` is root 2, and so on.
pub fn extra_root(i: usize) -> (u32, String) {
    (TARGET + 1 + i as u32, format!("/dir{i}"))
}

/// Length of an encoded [`Meta`].
pub const META_LEN: usize = 86;

/// The error kinds that cross the boundary; anything else is `Other`.
/// A host call returns `-(index + 1)` for the kind at `index`.
const KINDS: [io::ErrorKind; 13] = [
    io::ErrorKind::NotFound,
    io::ErrorKind::PermissionDenied,
    io::ErrorKind::NotADirectory,
    io::ErrorKind::IsADirectory,
    io::ErrorKind::InvalidInput,
    io::ErrorKind::AlreadyExists,
    io::ErrorKind::DirectoryNotEmpty,
    io::ErrorKind::CrossesDevices,
    io::ErrorKind::Unsupported,
    io::ErrorKind::InvalidFilename,
    io::ErrorKind::ReadOnlyFilesystem,
    io::ErrorKind::StorageFull,
    io::ErrorKind::Other,
];

/// The negative return code that carries `kind`.
pub fn error_code(kind: io::ErrorKind) -> i32 {
    let i = KINDS
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KINDS.len() - 1);
    -(i as i32 + 1)
}

/// The error a negative return code carries (a code out of range is `Other`).
pub fn error_from_code(code: i64) -> io::Error {
    let i = usize::try_from(-code - 1).unwrap_or(usize::MAX);
    let kind = KINDS.get(i).copied().unwrap_or(io::ErrorKind::Other);
    io::Error::new(kind, format!("{kind} (reported by the sandbox host)"))
}

/// A kind's code: its index in [`Kind::KNOWN`]; `Unknown` is the next one.
fn kind_code(kind: Kind) -> u8 {
    let unknown = Kind::KNOWN.len();
    Kind::KNOWN
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(unknown) as u8
}

fn kind_from(code: u8) -> Kind {
    Kind::KNOWN
        .get(usize::from(code))
        .copied()
        .unwrap_or(Kind::Unknown)
}

/// Encodes `meta` into exactly [`META_LEN`] bytes (little-endian).
pub fn encode_meta(meta: &Meta) -> [u8; META_LEN] {
    let mut out = [0u8; META_LEN];
    let mut w = Writer(&mut out, 0);
    w.put(&[kind_code(meta.kind)]);
    let flags = u8::from(meta.mode.is_some())
        | u8::from(meta.uid.is_some()) << 1
        | u8::from(meta.ctime.is_some()) << 2
        | u8::from(meta.mtime.is_some()) << 3
        | u8::from(meta.atime.is_some()) << 4;
    w.put(&[flags]);
    w.put(&meta.mode.unwrap_or(0).to_le_bytes());
    w.put(&meta.uid.unwrap_or(0).to_le_bytes());
    for v in [meta.size, meta.dev, meta.ino, meta.rdev, meta.nlink] {
        w.put(&v.to_le_bytes());
    }
    for t in [meta.ctime, meta.mtime, meta.atime] {
        let t = t.unwrap_or(Stamp { secs: 0, nanos: 0 });
        w.put(&t.secs.to_le_bytes());
        w.put(&t.nanos.to_le_bytes());
    }
    debug_assert_eq!(w.1, META_LEN);
    out
}

/// Decodes what [`encode_meta`] wrote.
pub fn decode_meta(b: &[u8; META_LEN]) -> Meta {
    let mut r = Reader(b, 0);
    let kind = kind_from(r.u8());
    let flags = r.u8();
    let mode = r.u32();
    let uid = r.u32();
    let [size, dev, ino, rdev, nlink] = [r.u64(), r.u64(), r.u64(), r.u64(), r.u64()];
    let mut stamp = |bit: u8| {
        let secs = r.u64() as i64;
        let nanos = r.u32();
        (flags & bit != 0).then_some(Stamp { secs, nanos })
    };
    let (ctime, mtime, atime) = (stamp(4), stamp(8), stamp(16));
    Meta {
        kind,
        mode: (flags & 1 != 0).then_some(mode),
        uid: (flags & 2 != 0).then_some(uid),
        size,
        dev,
        ino,
        rdev,
        nlink,
        ctime,
        mtime,
        atime,
    }
}

/// Encodes a directory listing: per entry its kind byte, the name's length
/// (u32, little-endian) and the name's bytes.
pub fn encode_entries<'a>(entries: impl IntoIterator<Item = (Kind, &'a [u8])>) -> Vec<u8> {
    let mut out = Vec::new();
    for (kind, name) in entries {
        out.push(kind_code(kind));
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(name);
    }
    out
}

/// Decodes what [`encode_entries`] wrote; `make_name` turns bytes into the
/// platform's name type. A truncated record is an `InvalidData` error.
pub fn decode_entries(
    mut b: &[u8],
    make_name: impl Fn(&[u8]) -> std::ffi::OsString,
) -> io::Result<Vec<Entry>> {
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "malformed listing from the host",
        )
    };
    let mut out = Vec::new();
    while let Some((&k, rest)) = b.split_first() {
        let (len, rest) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
        let len = u32::from_le_bytes(*len) as usize;
        let name = rest.get(..len).ok_or_else(bad)?;
        out.push(Entry {
            name: make_name(name),
            kind: kind_from(k),
        });
        b = &rest[len..];
    }
    Ok(out)
}

struct Writer<'a>(&'a mut [u8], usize);

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.0[self.1..self.1 + bytes.len()].copy_from_slice(bytes);
        self.1 += bytes.len();
    }
}

struct Reader<'a>(&'a [u8], usize);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0; N];
        a.copy_from_slice(&self.0[self.1..self.1 + N]);
        self.1 += N;
        a
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips_with_and_without_optional_fields() {
        let full = Meta {
            kind: Kind::Symlink,
            mode: Some(0o4755),
            uid: Some(1000),
            size: 17,
            dev: u64::MAX,
            ino: 42,
            rdev: 7,
            nlink: 3,
            ctime: Some(Stamp {
                secs: -5,
                nanos: 999_999_999,
            }),
            mtime: Some(Stamp {
                secs: 1_700_000_000,
                nanos: 1,
            }),
            atime: None,
        };
        assert_eq!(decode_meta(&encode_meta(&full)), full);
        let bare = Meta {
            mode: None,
            uid: None,
            ctime: None,
            mtime: None,
            ..full.clone()
        };
        assert_eq!(decode_meta(&encode_meta(&bare)), bare);
    }

    #[test]
    fn listing_round_trips_and_truncation_is_an_error() {
        let names: [(Kind, &[u8]); 3] = [
            (Kind::Dir, b"a"),
            (Kind::File, b"\xff\n"),
            (Kind::Unknown, b""),
        ];
        let enc = encode_entries(names);
        let dec = decode_entries(&enc, |b| String::from_utf8_lossy(b).into_owned().into()).unwrap();
        assert_eq!(dec.len(), 3);
        assert_eq!(dec[0].kind, Kind::Dir);
        assert_eq!(dec[1].kind, Kind::File);
        assert!(
            decode_entries(&enc[..enc.len() - 5], |b| String::from_utf8_lossy(b)
                .into_owned()
                .into())
            .is_ok_and(|d| d.len() == 2)
        );
        assert!(decode_entries(&enc[..7], |_| Default::default()).is_err());
    }

    #[test]
    fn every_error_kind_survives_the_code() {
        for k in KINDS {
            assert_eq!(error_from_code(i64::from(error_code(k))).kind(), k);
        }
        assert_eq!(
            error_from_code(i64::from(error_code(io::ErrorKind::TimedOut))).kind(),
            io::ErrorKind::Other
        );
        assert_eq!(error_from_code(-1000).kind(), io::ErrorKind::Other);
    }
}
