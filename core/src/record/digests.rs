//! The SHA-256 of every staged file a JSON record lists, on every core.
//!
//! The scan of STAGE lists the files; [`Digests::hash_on_every_core`]
//! hashes them, each job taken by exactly one thread of the one pool
//! (`crate::cores`); then
//! [`Digests::fill`] gives each listed file its size, mode and digest. All of
//! it happens before the journal is written and before anything moves, so
//! the journal holds the package's digests (a rerun after a kill needs them
//! for the files the killed run moved) and every digest is of the bytes in
//! STAGE. Where no thread can be started (WASI) the caller's thread does
//! every job: the same digests on one core.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::fs::{Fs, Kind};

use super::{Content, Detail, Owned, sha256};

/// One staged file to hash.
#[derive(Debug)]
struct Job<D> {
    /// Relative to STAGE.
    path: PathBuf,
    /// The staged directory holding it (the scan's handle) and its name.
    dir: Arc<D>,
    name: OsString,
    /// What was read, or why it could not be.
    result: OnceLock<io::Result<Hashed>>,
}

/// A staged file as hashed: its size and mode by `fstat` of the file read
/// (the mode by `lstat` of its name where `fstat` has none), and the digest
/// of its bytes.
#[derive(Clone, Copy, Debug)]
struct Hashed {
    size: u64,
    mode: Option<u32>,
    sha256: [u8; 32],
}

/// The staged files of one scan to hash.
#[derive(Debug)]
pub struct Digests<D> {
    jobs: Vec<Job<D>>,
}

/// A file for [`Digests::new`]: its path relative to STAGE, the staged
/// directory holding it, and its name there.
pub(crate) struct Pending<D> {
    pub(crate) path: PathBuf,
    pub(crate) dir: Arc<D>,
    pub(crate) name: OsString,
}

impl<D> Digests<D> {
    /// The files to hash.
    pub(crate) fn new(files: Vec<Pending<D>>) -> Self {
        let jobs = files
            .into_iter()
            .map(|p| Job {
                path: p.path,
                dir: p.dir,
                name: p.name,
                result: OnceLock::new(),
            })
            .collect();
        Digests { jobs }
    }

    /// How many files there are to hash.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Whether there is nothing to hash.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Hashes every file on every core (worker threads and this one; this
    /// one alone where no thread can be started, as under WASI). When it
    /// returns every job is done.
    pub fn hash_on_every_core<F>(&self, fs: &F)
    where
        F: Fs<Dir = D> + Sync,
        D: Send + Sync,
    {
        crate::cores::map_on_every_core("digest", &self.jobs, |job| {
            let _ = job.result.set(hash(fs, job));
        });
    }

    /// Gives each regular file of `owned` without detail that is one of the
    /// jobs its size, mode and digest (hashing here any job not done: call
    /// after [`Self::hash_on_every_core`]). `owned` and the jobs are
    /// both in path-byte order, as the scan lists them. Returns the first
    /// file that could not be read, with its error.
    pub fn fill<F: Fs<Dir = D>>(
        &self,
        fs: &F,
        owned: &mut [Owned],
    ) -> Result<(), (PathBuf, io::Error)> {
        let mut jobs: Vec<&Job<D>> = self.jobs.iter().collect();
        jobs.sort_unstable_by(|a, b| bytes(&a.path).cmp(bytes(&b.path)));
        let mut jobs = jobs.into_iter().peekable();
        for o in owned.iter_mut().filter(|o| o.detail.is_none()) {
            while jobs.next_if(|j| bytes(&j.path) < bytes(&o.path)).is_some() {}
            let Some(job) = jobs.next_if(|j| j.path == o.path) else {
                continue;
            };
            match job.result.get_or_init(|| hash(fs, job)) {
                Ok(h) => {
                    o.detail = Some(Detail {
                        size: h.size,
                        mode: h.mode,
                        content: Content::File { sha256: h.sha256 },
                    });
                }
                Err(e) => {
                    return Err((job.path.clone(), io::Error::new(e.kind(), e.to_string())));
                }
            }
        }
        Ok(())
    }
}

fn bytes(p: &std::path::Path) -> &[u8] {
    p.as_os_str().as_encoded_bytes()
}

/// Reads the staged file of `job`: its size and mode from the file opened,
/// and the digest of its bytes.
fn hash<F: Fs>(fs: &F, job: &Job<F::Dir>) -> io::Result<Hashed> {
    let open = || fs.open_file(&job.dir, &job.name);
    let file = match open() {
        // The scan listed it: a client's filesystem (sshfs) may still
        // answer from a lookup it cached before the file was staged.
        Err(e) if crate::retry::looked_at_again(&e) && fs.caches_views(&job.dir) => {
            crate::retry::until_settled(&job.path, open, |r| {
                r.as_ref().is_err_and(crate::retry::looked_at_again)
            })?
        }
        r => r?,
    };
    let mut meta = fs.stat_file(&file)?;
    if meta.mode.is_none() {
        // Where an open file tells no mode (WASI's `fstat`; the sandbox's
        // host answers for names), the name's `lstat` may: the record must
        // be the one a native merge writes.
        meta.mode = fs.stat_at(&job.dir, &job.name)?.mode;
    }
    if meta.kind != Kind::File {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no longer a regular file",
        ));
    }
    Ok(Hashed {
        size: meta.size,
        mode: meta.mode,
        sha256: sha256(file)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::State;
    use crate::testing::memfs::MemFs;
    use sha2::Digest;

    #[test]
    fn every_listed_file_gets_its_digest_and_an_unreadable_one_is_named() {
        let fs = MemFs::new();
        fs.file("s/x", b"one");
        fs.file("s/y", b"two");
        let dir = Arc::new(fs.mkdirs("s"));
        let job = |p: &str, name: &str| Pending {
            path: p.into(),
            dir: dir.clone(),
            name: name.into(),
        };
        let owned = |p: &str| Owned {
            path: p.into(),
            kind: Kind::File,
            detail: None,
            state: State::Placed,
        };
        // Out of order, as threads may finish them; one left for `fill`.
        let d = Digests::new(vec![job("b/y", "y"), job("a/x", "x")]);
        let _ = d.jobs[0].result.set(hash(&fs, &d.jobs[0]));
        let mut list = vec![owned("a/x"), owned("b/y"), owned("c/link")];
        d.fill(&fs, &mut list).unwrap();
        let digest = |b: &[u8]| -> [u8; 32] { sha2::Sha256::digest(b).into() };
        let got: Vec<Option<([u8; 32], u64)>> = list
            .iter()
            .map(|o| match &o.detail {
                Some(Detail {
                    content: Content::File { sha256 },
                    size,
                    ..
                }) => Some((*sha256, *size)),
                _ => None,
            })
            .collect();
        assert_eq!(
            got,
            [Some((digest(b"one"), 3)), Some((digest(b"two"), 3)), None]
        );

        let d = Digests::new(vec![job("a/x", "x"), job("a/gone", "gone")]);
        d.hash_on_every_core(&fs);
        let mut list = vec![owned("a/gone"), owned("a/x")];
        let (path, err) = d.fill(&fs, &mut list).unwrap_err();
        assert_eq!(
            (path, err.kind()),
            (PathBuf::from("a/gone"), io::ErrorKind::NotFound)
        );
    }
}
