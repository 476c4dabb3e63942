//! Directories opened along physical paths below TARGET's root, keeping the
//! handles of the last path so that the next one opens only what it does
//! not share with it.
//!
//! Uninstall and pruning visit directories deepest first and siblings
//! together: with the chain, a 2,000-deep path costs 2,000 opens in all,
//! not 2,000 for each of its directories, and 200,000 files of one
//! directory one open.

use std::ffi::OsString;
use std::io;

use crate::fs::Fs;

/// The handles of one path of directories below a root (no symlinks
/// among its components).
pub(crate) struct Chain<'a, F: Fs> {
    fs: &'a F,
    root: &'a F::Dir,
    names: Vec<OsString>,
    dirs: Vec<F::Dir>,
}

impl<'a, F: Fs> Chain<'a, F> {
    /// An empty chain at `root`.
    pub(crate) fn new(fs: &'a F, root: &'a F::Dir) -> Self {
        Chain {
            fs,
            root,
            names: Vec::new(),
            dirs: Vec::new(),
        }
    }

    /// The directory at `phys` (components below the root), opened one
    /// component at a time without following links, reusing the handles
    /// the previous call's path shares with it. On an error the chain
    /// holds the part it could open.
    pub(crate) fn to(&mut self, phys: &[OsString]) -> io::Result<&F::Dir> {
        let shared = self
            .names
            .iter()
            .zip(phys)
            .take_while(|(a, b)| a == b)
            .count();
        self.names.truncate(shared);
        self.dirs.truncate(shared);
        for c in &phys[shared..] {
            let d = self.fs.open_dir(self.dirs.last().unwrap_or(self.root), c)?;
            self.dirs.push(d);
            self.names.push(c.clone());
        }
        Ok(self.dirs.last().unwrap_or(self.root))
    }

    /// Forgets the handles from depth `depth` down (a directory there was
    /// removed).
    pub(crate) fn cut(&mut self, depth: usize) {
        self.names.truncate(depth);
        self.dirs.truncate(depth);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memfs::MemFs;

    fn comps(p: &str) -> Vec<OsString> {
        p.split('/').map(OsString::from).collect()
    }

    #[test]
    fn a_chain_reopens_only_what_the_next_path_does_not_share() {
        let fs = MemFs::new();
        fs.file("t/a/b/c/f", b"x");
        fs.file("t/a/d/f", b"x");
        let t = fs.mkdirs("t");
        let mut chain = Chain::new(&fs, &t);
        let c = chain.to(&comps("a/b/c")).unwrap();
        assert!(fs.read_dir(c).unwrap().iter().any(|e| e.name == "f"));
        let d = chain.to(&comps("a/d")).unwrap();
        assert!(fs.read_dir(d).unwrap().iter().any(|e| e.name == "f"));
        assert_eq!(chain.names, comps("a/d"));
        assert!(chain.to(&comps("a/nope")).is_err());
        assert_eq!(chain.names, comps("a"), "the part it could open");
        chain.cut(0);
        assert!(chain.to(&[]).is_ok(), "the root itself");
    }
}
