//! [`MemFs`]: the `Fs` contract on an in-memory tree of inodes, with a
//! switch that makes it refuse the no-replace rename as FUSE and WASI do.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::{self, Cursor};
use std::sync::{Mutex, MutexGuard};

use crate::fs::{Entry, Fs, Kind, Meta, Stamp};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    Dir(BTreeMap<OsString, usize>),
    File { data: Vec<u8>, mode: u32 },
    Link(OsString),
}

/// An in-memory filesystem. A directory handle is its inode number; inode
/// 0 is the root, under which tests make `stage` and `target`.
#[derive(Debug)]
pub(crate) struct MemFs {
    nodes: Mutex<Vec<Node>>,
    /// Answer the no-replace rename with `Unsupported`.
    pub(crate) refuse_noreplace: bool,
    /// Give every entry a change time after [`Fs::clock`]'s: as if the
    /// clock ticked between a merge's start and each of its renames.
    pub(crate) changed_after_start: bool,
    /// What [`Fs::in_flight`] answers (1: one placement at a time).
    pub(crate) lanes: usize,
    /// A directory (path from the root) that another client removes just
    /// before the first link or no-replace rename into anything: the
    /// walk holds a handle of it by then.
    pub(crate) prune_before_placing: Mutex<Option<String>>,
    /// Removed directories: nothing can be made in them (`ENOENT`), as in
    /// a kernel's directory whose last name is gone.
    removed: Mutex<Vec<usize>>,
    /// Held through each call that changes a directory, so that a call's
    /// look (is the name free, is the directory alive) and its change are
    /// one step, as a kernel's are: placements in flight (`lanes` > 1)
    /// otherwise interleave between the two in ways no real filesystem
    /// allows (a link into a directory removed after its check).
    changing: Mutex<()>,
    /// How many of the next opens of a file answer `ESTALE`, as a network
    /// client's stale handle does.
    pub(crate) stale_opens: std::sync::atomic::AtomicUsize,
}

fn err(kind: io::ErrorKind) -> io::Error {
    io::Error::from(kind)
}

impl MemFs {
    pub(crate) fn new() -> Self {
        MemFs {
            nodes: Mutex::new(vec![Node::Dir(BTreeMap::new())]),
            refuse_noreplace: false,
            changed_after_start: false,
            lanes: 1,
            prune_before_placing: Mutex::new(None),
            removed: Mutex::new(Vec::new()),
            changing: Mutex::new(()),
            stale_opens: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// `ENOENT` where `dir` was removed: a new name cannot go there.
    fn alive(&self, dir: usize) -> io::Result<()> {
        let removed = self.removed.lock().unwrap_or_else(|e| e.into_inner());
        match removed.contains(&dir) {
            true => Err(err(io::ErrorKind::NotFound)),
            false => Ok(()),
        }
    }

    /// Carries out [`MemFs::prune_before_placing`], once, before any
    /// placement goes on: the request stays locked until the directory is
    /// gone, so every other lane's placement waits for it.
    fn prune_if_asked(&self) {
        let mut asked = self
            .prune_before_placing
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(path) = asked.take() {
            let (dir, name) = Self::split(&path);
            let parent = self.mkdirs(dir);
            self.remove_dir(&parent, OsStr::new(name))
                .expect("the directory to prune is there and empty");
        }
    }

    /// The lock of one call that changes a directory ([`MemFs::changing`]).
    fn change(&self) -> MutexGuard<'_, ()> {
        self.changing.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add(&self, parent: usize, name: &str, node: Node) -> usize {
        let mut nodes = self.nodes();
        let id = nodes.len();
        nodes.push(node);
        match &mut nodes[parent] {
            Node::Dir(children) => {
                assert!(children.insert(name.into(), id).is_none(), "{name} exists");
            }
            _ => panic!("not a directory"),
        }
        id
    }

    /// The inode at `path` (components separated by `/`), making the
    /// directories on the way.
    pub(crate) fn mkdirs(&self, path: &str) -> usize {
        let mut at = 0;
        for c in path.split('/').filter(|c| !c.is_empty()) {
            let next = self.child(at, OsStr::new(c)).ok();
            at = match next {
                Some(id) => id,
                None => self.add(at, c, Node::Dir(BTreeMap::new())),
            };
        }
        at
    }

    fn split(path: &str) -> (&str, &str) {
        path.rsplit_once('/').unwrap_or(("", path))
    }

    pub(crate) fn file(&self, path: &str, data: &[u8]) {
        let (dir, name) = Self::split(path);
        let parent = self.mkdirs(dir);
        let node = Node::File {
            data: data.to_vec(),
            mode: 0o644,
        };
        self.add(parent, name, node);
    }

    pub(crate) fn link_text(&self, path: &str, text: &str) {
        let (dir, name) = Self::split(path);
        let parent = self.mkdirs(dir);
        self.add(parent, name, Node::Link(text.into()));
    }

    /// Every entry below `dir` as `path` → node, paths joined with `/`.
    pub(crate) fn tree(&self, dir: usize) -> BTreeMap<String, Node> {
        let mut out = BTreeMap::new();
        self.walk(dir, "", &mut out);
        out
    }

    fn walk(&self, dir: usize, prefix: &str, out: &mut BTreeMap<String, Node>) {
        let children = match &self.nodes()[dir] {
            Node::Dir(c) => c.clone(),
            _ => return,
        };
        for (name, id) in children {
            let path = format!("{prefix}{}", name.to_string_lossy());
            let node = self.nodes()[id].clone();
            if let Node::Dir(_) = node {
                out.insert(path.clone(), Node::Dir(BTreeMap::new()));
                self.walk(id, &format!("{path}/"), out);
            } else {
                out.insert(path, node);
            }
        }
    }

    /// The nodes, locked (never held across another call that locks).
    fn nodes(&self) -> MutexGuard<'_, Vec<Node>> {
        self.nodes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A copy of the node `id`.
    fn node(&self, id: usize) -> Node {
        self.nodes()[id].clone()
    }

    fn child(&self, dir: usize, name: &OsStr) -> io::Result<usize> {
        match &self.nodes()[dir] {
            Node::Dir(c) => c
                .get(name)
                .copied()
                .ok_or_else(|| err(io::ErrorKind::NotFound)),
            _ => Err(err(io::ErrorKind::NotADirectory)),
        }
    }

    fn children(&self, dir: usize) -> io::Result<BTreeMap<OsString, usize>> {
        match &self.nodes()[dir] {
            Node::Dir(c) => Ok(c.clone()),
            _ => Err(err(io::ErrorKind::NotADirectory)),
        }
    }

    fn set_child(&self, dir: usize, name: &OsStr, id: Option<usize>) {
        if let Node::Dir(c) = &mut self.nodes()[dir] {
            match id {
                Some(id) => c.insert(name.to_owned(), id),
                None => c.remove(name),
            };
        }
    }

    fn meta(&self, id: usize) -> Meta {
        let nodes = self.nodes();
        let (kind, mode, size) = match &nodes[id] {
            Node::Dir(_) => (Kind::Dir, 0o755, 0),
            Node::File { data, mode } => (Kind::File, *mode, data.len() as u64),
            Node::Link(t) => (Kind::Symlink, 0o777, t.len() as u64),
        };
        Meta {
            kind,
            mode: Some(mode),
            uid: None,
            size,
            dev: 1,
            ino: id as u64,
            rdev: 0,
            nlink: 1,
            ctime: self
                .changed_after_start
                .then_some(Stamp { secs: 1, nanos: 0 }),
            mtime: None,
            atime: None,
        }
    }
}

impl Fs for MemFs {
    type Dir = usize;
    type File = Cursor<Vec<u8>>;

    fn open_dir(&self, parent: &usize, name: &OsStr) -> io::Result<usize> {
        let id = self.child(*parent, name)?;
        match self.nodes()[id] {
            Node::Dir(_) => Ok(id),
            _ => Err(err(io::ErrorKind::NotADirectory)),
        }
    }

    fn read_dir(&self, dir: &usize) -> io::Result<Vec<Entry>> {
        Ok(self
            .children(*dir)?
            .into_iter()
            .map(|(name, id)| Entry {
                name,
                kind: self.meta(id).kind,
            })
            .collect())
    }

    fn stat_at(&self, dir: &usize, name: &OsStr) -> io::Result<Meta> {
        Ok(self.meta(self.child(*dir, name)?))
    }

    fn stat_dir(&self, dir: &usize) -> io::Result<Meta> {
        Ok(self.meta(*dir))
    }

    fn rename_noreplace(
        &self,
        from: &usize,
        fname: &OsStr,
        to: &usize,
        tname: &OsStr,
    ) -> io::Result<()> {
        if self.refuse_noreplace {
            return Err(err(io::ErrorKind::Unsupported));
        }
        self.prune_if_asked();
        let _change = self.change();
        self.alive(*to)?;
        let id = self.child(*from, fname)?;
        if self.child(*to, tname).is_ok() {
            return Err(err(io::ErrorKind::AlreadyExists));
        }
        self.set_child(*from, fname, None);
        self.set_child(*to, tname, Some(id));
        Ok(())
    }

    fn rename_replace(
        &self,
        from: &usize,
        fname: &OsStr,
        to: &usize,
        tname: &OsStr,
    ) -> io::Result<()> {
        let _change = self.change();
        self.alive(*to)?;
        let id = self.child(*from, fname)?;
        if self
            .child(*to, tname)
            .is_ok_and(|old| self.meta(old).kind == Kind::Dir)
        {
            return Err(err(io::ErrorKind::IsADirectory));
        }
        self.set_child(*from, fname, None);
        self.set_child(*to, tname, Some(id));
        Ok(())
    }

    fn link(&self, from: &usize, fname: &OsStr, to: &usize, tname: &OsStr) -> io::Result<()> {
        self.prune_if_asked();
        let _change = self.change();
        self.alive(*to)?;
        let id = self.child(*from, fname)?;
        if self.child(*to, tname).is_ok() {
            return Err(err(io::ErrorKind::AlreadyExists));
        }
        self.set_child(*to, tname, Some(id));
        Ok(())
    }

    fn create_dir(&self, dir: &usize, name: &OsStr, _mode: Option<u32>) -> io::Result<()> {
        let _change = self.change();
        self.alive(*dir)?;
        if self.child(*dir, name).is_ok() {
            return Err(err(io::ErrorKind::AlreadyExists));
        }
        let id = {
            let mut nodes = self.nodes();
            nodes.push(Node::Dir(BTreeMap::new()));
            nodes.len() - 1
        };
        self.set_child(*dir, name, Some(id));
        Ok(())
    }

    fn symlink(&self, text: &OsStr, dir: &usize, name: &OsStr) -> io::Result<()> {
        let _change = self.change();
        self.alive(*dir)?;
        if self.child(*dir, name).is_ok() {
            return Err(err(io::ErrorKind::AlreadyExists));
        }
        let id = {
            let mut nodes = self.nodes();
            nodes.push(Node::Link(text.to_owned()));
            nodes.len() - 1
        };
        self.set_child(*dir, name, Some(id));
        Ok(())
    }

    fn copy_in(
        &self,
        from: &usize,
        fname: &OsStr,
        _: &Meta,
        to: &usize,
        tname: &OsStr,
        replace: bool,
    ) -> io::Result<()> {
        let _change = self.change();
        self.alive(*to)?;
        let node = self.node(self.child(*from, fname)?);
        if let Ok(old) = self.child(*to, tname) {
            if !replace {
                return Err(err(io::ErrorKind::AlreadyExists));
            }
            if self.meta(old).kind == Kind::Dir {
                return Err(err(io::ErrorKind::IsADirectory));
            }
        }
        let id = {
            let mut nodes = self.nodes();
            nodes.push(node);
            nodes.len() - 1
        };
        self.set_child(*to, tname, Some(id));
        Ok(())
    }

    fn clean_temps(&self, _: &usize) -> io::Result<u64> {
        Ok(0)
    }

    fn set_dir_times(&self, _: &usize, _: Stamp, _: Stamp) -> io::Result<()> {
        Ok(())
    }

    fn remove_file(&self, dir: &usize, name: &OsStr) -> io::Result<()> {
        let _change = self.change();
        let id = self.child(*dir, name)?;
        if self.meta(id).kind == Kind::Dir {
            return Err(err(io::ErrorKind::IsADirectory));
        }
        self.set_child(*dir, name, None);
        Ok(())
    }

    fn remove_dir(&self, dir: &usize, name: &OsStr) -> io::Result<()> {
        let _change = self.change();
        let id = self.child(*dir, name)?;
        if !self.children(id)?.is_empty() {
            return Err(err(io::ErrorKind::DirectoryNotEmpty));
        }
        self.set_child(*dir, name, None);
        self.removed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id);
        Ok(())
    }

    fn read_link(&self, dir: &usize, name: &OsStr) -> io::Result<OsString> {
        match &self.node(self.child(*dir, name)?) {
            Node::Link(t) => Ok(t.clone()),
            _ => Err(err(io::ErrorKind::InvalidInput)),
        }
    }

    fn open_file(&self, dir: &usize, name: &OsStr) -> io::Result<Cursor<Vec<u8>>> {
        use std::sync::atomic::Ordering;
        let stale = self
            .stale_opens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        if stale.is_ok() {
            return Err(err(io::ErrorKind::StaleNetworkFileHandle));
        }
        match &self.node(self.child(*dir, name)?) {
            Node::File { data, .. } => Ok(Cursor::new(data.clone())),
            _ => Err(err(io::ErrorKind::InvalidInput)),
        }
    }

    fn stat_file(&self, file: &Cursor<Vec<u8>>) -> io::Result<Meta> {
        let mut m = self.meta(0);
        m.kind = Kind::File;
        m.size = file.get_ref().len() as u64;
        Ok(m)
    }

    fn write_synced(&self, dir: &usize, name: &OsStr, bytes: &[u8]) -> io::Result<()> {
        let data = bytes.to_vec();
        match self.child(*dir, name) {
            Ok(id) => match &mut self.nodes()[id] {
                Node::File { data: d, .. } => {
                    *d = data;
                    Ok(())
                }
                _ => Err(err(io::ErrorKind::InvalidInput)),
            },
            Err(_) => {
                let name = name
                    .to_str()
                    .ok_or_else(|| err(io::ErrorKind::InvalidInput))?;
                self.add(*dir, name, Node::File { data, mode: 0o644 });
                Ok(())
            }
        }
    }

    fn sync_dir(&self, _: &usize) -> io::Result<()> {
        Ok(())
    }

    fn reopen_dir(&self, dir: &usize) -> io::Result<usize> {
        Ok(*dir)
    }

    fn set_dir_mode(&self, _: &usize, _: u32) -> io::Result<()> {
        Err(err(io::ErrorKind::Unsupported))
    }

    fn euid(&self) -> Option<u32> {
        None
    }

    fn in_flight(&self, _: &usize) -> usize {
        self.lanes
    }

    fn clock(&self, _: &usize) -> Stamp {
        // A clock finer than seconds that never moves: a merge without
        // records does not wait for it (`merge::start`).
        Stamp { secs: 0, nanos: 1 }
    }
}
