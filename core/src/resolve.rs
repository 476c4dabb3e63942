//! Following a symlink found in TARGET, without ever leaving TARGET.
//!
//! Resolution is lexical over directory handles opened one component at a
//! time from TARGET's root: `..` pops a component, an absolute link or a `..`
//! above the root is refused, and every intermediate symlink is expanded the
//! same way. No path is handed to the system for resolution, so nothing a
//! concurrent writer swaps in can send the merge outside TARGET.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Component, Path};

use crate::fs::{Fs, Kind};
use crate::handle::Handle;

/// How many symlinks one resolution may expand, like Linux's `MAXSYMLINKS`.
const MAX_HOPS: usize = 40;

/// Why a symlink was not followed.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Absolute, or `..` above TARGET's root.
    Escapes,
    /// Dangling, a loop, or leads to a non-directory.
    NotDir(String),
    /// Leads to STAGE itself.
    IntoStage,
    /// A system call failed on the way.
    Io(io::Error),
}

impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Self {
        Refusal::Io(e)
    }
}

/// A directory reached inside TARGET and where it is, as components below
/// TARGET's root.
pub(crate) type Resolved<'a, D> = (Handle<'a, D>, Vec<OsString>);

/// Resolves the symlink text `link`, found in the directory `base` (components
/// below TARGET's root `root`), to a directory inside TARGET.
pub(crate) fn resolve_dir<'a, F: Fs>(
    fs: &F,
    root: &'a F::Dir,
    stage_root: (u64, u64),
    base: &[OsString],
    link: &OsStr,
) -> Result<Resolved<'a, F::Dir>, Refusal> {
    let mut queue = VecDeque::new();
    push_front(&mut queue, link)?;

    let mut comps: Vec<OsString> = Vec::with_capacity(base.len() + queue.len());
    let mut handles: Vec<F::Dir> = Vec::with_capacity(base.len() + queue.len());
    for c in base {
        let d = fs.open_dir(handles.last().unwrap_or(root), c)?;
        handles.push(d);
        comps.push(c.clone());
    }

    let mut hops = 0;
    while let Some(c) = queue.pop_front() {
        if c == ".." {
            if comps.pop().is_none() {
                return Err(Refusal::Escapes);
            }
            handles.pop();
            continue;
        }
        let here = handles.last().unwrap_or(root);
        let meta = match fs.stat_at(here, &c) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Refusal::NotDir("does not exist (dangling)".into()));
            }
            Err(e) => return Err(e.into()),
        };
        match meta.kind {
            Kind::Dir => {
                let d = fs.open_dir(here, &c)?;
                if fs.stat_dir(&d)?.id() == stage_root {
                    return Err(Refusal::IntoStage);
                }
                handles.push(d);
                comps.push(c);
            }
            Kind::Symlink => {
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(Refusal::NotDir("is a loop of symlinks".into()));
                }
                let text = fs.read_link(here, &c)?;
                push_front(&mut queue, &text)?;
            }
            other => {
                return Err(Refusal::NotDir(format!("leads to a {}", other.describe())));
            }
        }
    }
    let dir = match handles.pop() {
        Some(d) => Handle::Owned(d),
        None => Handle::Borrowed(root),
    };
    Ok((dir, comps))
}

/// Puts the components of `link` in front of what is left to resolve; `..`
/// is kept as a component, `.` and empty ones dropped.
fn push_front(queue: &mut VecDeque<OsString>, link: &OsStr) -> Result<(), Refusal> {
    let mut parts = Vec::new();
    for c in Path::new(link).components() {
        match c {
            Component::RootDir | Component::Prefix(_) => return Err(Refusal::Escapes),
            Component::CurDir => {}
            Component::ParentDir => parts.push(OsString::from("..")),
            Component::Normal(n) => parts.push(n.to_owned()),
        }
    }
    for p in parts.into_iter().rev() {
        queue.push_front(p);
    }
    Ok(())
}

/// Opens the directory at `phys` (components below TARGET's root `root`, no
/// symlinks among them), one component at a time without following links.
pub(crate) fn open_phys<'a, F: Fs>(
    fs: &F,
    root: &'a F::Dir,
    phys: &[OsString],
) -> io::Result<Handle<'a, F::Dir>> {
    let mut here: Option<F::Dir> = None;
    for c in phys {
        here = Some(fs.open_dir(here.as_ref().unwrap_or(root), c)?);
    }
    Ok(here.map_or(Handle::Borrowed(root), Handle::Owned))
}
