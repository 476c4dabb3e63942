//! "Same kind and identical": the test that lets a merge discard a staged
//! copy instead of replacing anything.

use std::ffi::OsStr;
use std::io::{self, Read};

use crate::fs::{Fs, Kind, Meta};

/// Reusable buffers, so comparing many files allocates once.
#[derive(Debug)]
pub(crate) struct Buffers {
    a: Vec<u8>,
    b: Vec<u8>,
}

/// Size of each comparison buffer.
const CHUNK: usize = 64 * 1024;

impl Buffers {
    /// Empty until the first comparison: most merges compare nothing, and
    /// zeroing 128 KiB up front was a tenth of an empty merge's start-up.
    pub(crate) fn new() -> Self {
        Buffers {
            a: Vec::new(),
            b: Vec::new(),
        }
    }

    fn ready(&mut self) -> (&mut [u8], &mut [u8]) {
        if self.a.is_empty() {
            self.a = vec![0; CHUNK];
            self.b = vec![0; CHUNK];
        }
        (&mut self.a, &mut self.b)
    }
}

/// Whether STAGE's `name` (`s`) and TARGET's (`t`) are identical: same kind,
/// same permission bits (not for symlinks, whose bits mean nothing), and the
/// same bytes, link text or device number.
pub(crate) fn identical<F: Fs>(
    fs: &F,
    bufs: &mut Buffers,
    stage: &F::Dir,
    s: &Meta,
    target: &F::Dir,
    t: &Meta,
    name: &OsStr,
) -> io::Result<bool> {
    if s.kind != t.kind {
        return Ok(false);
    }
    if s.id() == t.id() {
        return Ok(true);
    }
    if s.kind != Kind::Symlink && s.mode.is_some() && t.mode.is_some() && s.mode != t.mode {
        return Ok(false);
    }
    match s.kind {
        Kind::File => {
            if s.size != t.size {
                return Ok(false);
            }
            let a = fs.open_file(stage, name)?;
            let b = fs.open_file(target, name)?;
            same_bytes(a, b, bufs)
        }
        Kind::Symlink => Ok(fs.read_link(stage, name)? == fs.read_link(target, name)?),
        Kind::CharDevice | Kind::BlockDevice => Ok(s.rdev == t.rdev),
        Kind::Fifo | Kind::Socket => Ok(true),
        Kind::Dir | Kind::Unknown => Ok(false),
    }
}

fn same_bytes(mut a: impl Read, mut b: impl Read, bufs: &mut Buffers) -> io::Result<bool> {
    let (ba, bb) = bufs.ready();
    loop {
        let n = fill(&mut a, ba)?;
        let m = fill(&mut b, bb)?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n < ba.len() {
            return Ok(true);
        }
    }
}

/// Reads until `buf` is full or the end of the file, so that two files with
/// equal contents are cut into equal chunks whatever their read sizes.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per call.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn equal_bytes_read_in_different_chunk_sizes_compare_equal() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut bufs = Buffers::new();
        assert!(same_bytes(Trickle(&data, 7), Trickle(&data, 65_537), &mut bufs).unwrap());
    }

    #[test]
    fn one_differing_byte_at_the_end_is_found() {
        let a: Vec<u8> = vec![1; 150_000];
        let mut b = a.clone();
        *b.last_mut().unwrap() = 2;
        let mut bufs = Buffers::new();
        assert!(!same_bytes(&a[..], &b[..], &mut bufs).unwrap());
        assert!(!same_bytes(&a[..], &a[..149_999], &mut bufs).unwrap());
    }
}
