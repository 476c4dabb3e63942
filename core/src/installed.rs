//! An installed file as a record lists it, how to find it inside TARGET, and
//! how it compares with what was recorded.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::fs::{Fs, Kind, Meta};
use crate::handle::Handle;
use crate::record::{Content, Detail, State, detail};
use crate::resolve::{Refusal, resolve_dir};

/// One file a record says the package installed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// Relative to TARGET, as recorded (may pass through TARGET's symlinks).
    pub path: PathBuf,
    /// The recorded kind, when the record says (plain-text manifests do not).
    pub kind: Option<Kind>,
    /// Recorded size, mode and content, when the record has them: the
    /// package's own version, also where it is [`State::Lost`].
    pub detail: Option<Detail>,
    /// Whose version the record saw in TARGET. A lost entry holds another
    /// package's version, so only its presence is checked.
    pub state: State,
}

impl Installed {
    /// Whether checking this entry compares contents (a record with digests,
    /// and the package's own version visible).
    pub fn contents_checked(&self) -> bool {
        self.detail.is_some() && self.state == State::Placed
    }
}

/// How an installed file compares with its record.
#[derive(Debug)]
pub enum Status {
    /// As recorded (or, without details, present and not a directory).
    Intact,
    /// Not there.
    Missing,
    /// Something of another kind is there.
    TypeChanged {
        /// What was recorded (a file when the record does not say).
        recorded: Kind,
        /// What is there now.
        found: Kind,
    },
    /// Another version is visible, and the recorded one is kept in the
    /// clobber store (a later package replaced it; uninstalling that
    /// package puts it back). Not a problem.
    Shadowed,
    /// Same kind, but not as recorded.
    Modified {
        /// What differs: any of "size", "mode", "content", "link text".
        what: Vec<&'static str>,
    },
    /// The path cannot be followed inside TARGET (absolute, `..` out of
    /// TARGET, or through a symlink that leaves it): never touched.
    Refused(String),
    /// A system call failed while looking.
    Error(io::Error),
}

/// The directory holding `path` inside TARGET, where that directory is (as
/// components below TARGET's root), and the file's name.
pub(crate) type Located<'a, D> = (Handle<'a, D>, Vec<OsString>, OsString);

/// Finds the directory that holds `path`, following TARGET's symlinks only
/// while they stay inside TARGET.
pub(crate) fn locate<'a, F: Fs>(
    fs: &F,
    root: &'a F::Dir,
    path: &Path,
) -> Result<Located<'a, F::Dir>, Status> {
    let Some(Component::Normal(name)) = path.components().next_back() else {
        return Err(Status::Refused("not a relative path to a file".into()));
    };
    let parent = path.parent().unwrap_or(Path::new(""));
    // No staged directory to protect here: an id no directory has.
    let none = (u64::MAX, u64::MAX);
    let resolved = crate::retry::on_stale(path, || {
        match resolve_dir(fs, root, none, &[], parent.as_os_str()) {
            Err(Refusal::Io(e)) => Err(e),
            r => Ok(r),
        }
    });
    match resolved {
        Ok(Ok((dir, phys))) => Ok((dir, phys, name.to_owned())),
        Ok(Err(Refusal::Escapes)) => Err(Status::Refused("leads out of TARGET".into())),
        Ok(Err(Refusal::NotDir(_))) => Err(Status::Missing),
        Ok(Err(Refusal::IntoStage)) => Err(Status::Refused("unexpected".into())),
        // A directory this client still lists that the server no longer
        // has (another machine's uninstall removed it): the open, which
        // the server answers, says it is gone.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Status::Missing),
        Ok(Err(Refusal::Io(e))) | Err(e) => Err(Status::Error(e)),
    }
}

/// Compares `dir/name` with the record `want`. Where a client may answer
/// from its cache ([`Fs::caches_views`]: sshfs keeps a file's attributes
/// 20 s), a file that looks modified or of another type is looked at
/// again, opened each time (which refreshes what the client
/// holds of it), until the answer is the package's file, for at most
/// about 1.7 s (`retry`): another machine may have just put the package's
/// version back.
pub(crate) fn check<F: Fs>(fs: &F, dir: &F::Dir, name: &OsStr, want: &Installed) -> Status {
    let status = check_once(fs, dir, name, want);
    // Not `Missing`: an uninstall leaves a file it finds missing where it
    // is (no loss), and a rerun after a kill finds many, each of which
    // would wait out the retries.
    let doubtful = |s: &Status| matches!(s, Status::Modified { .. } | Status::TypeChanged { .. });
    if !doubtful(&status) || !fs.caches_views(dir) {
        return status;
    }
    crate::retry::until_settled(
        &want.path,
        || {
            // A regular file's size and mode from the `fstat` of a fresh
            // open, which the server answers: the name's `lstat` may still
            // come from what the client cached of it (sshfs: an uninstall
            // through B kept a file A had just restored as "modified
            // (size)", 2 in about 14 runs of netfs::sixteen_merges_...).
            match fs.open_file(dir, name).and_then(|f| fs.stat_file(&f)) {
                Ok(meta) if meta.kind == Kind::File => compare(fs, dir, name, want, meta),
                _ => check_once(fs, dir, name, want),
            }
        },
        doubtful,
    )
}

fn check_once<F: Fs>(fs: &F, dir: &F::Dir, name: &OsStr, want: &Installed) -> Status {
    match fs.stat_at(dir, name) {
        Ok(meta) => compare(fs, dir, name, want, meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Status::Missing,
        Err(e) => Status::Error(e),
    }
}

/// Compares `dir/name`, whose metadata is `meta`, with the record `want`.
fn compare<F: Fs>(fs: &F, dir: &F::Dir, name: &OsStr, want: &Installed, meta: Meta) -> Status {
    let recorded = want.kind.unwrap_or(Kind::File);
    let kind_ok = match want.kind {
        Some(k) => k == meta.kind,
        None => meta.kind != Kind::Dir,
    };
    if !kind_ok {
        return Status::TypeChanged {
            recorded,
            found: meta.kind,
        };
    }
    match want.detail.as_ref().filter(|_| want.contents_checked()) {
        None => Status::Intact,
        Some(d) => match differences(fs, dir, name, &meta, d) {
            Ok(what) if what.is_empty() => Status::Intact,
            Ok(what) => Status::Modified { what },
            // Listed a moment ago, gone when opened (a client's cached
            // view of a file another machine removed): the open, which
            // the server answers, says it is gone.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Status::Missing,
            Err(e) => Status::Error(e),
        },
    }
}

fn differences<F: Fs>(
    fs: &F,
    dir: &F::Dir,
    name: &OsStr,
    meta: &Meta,
    want: &Detail,
) -> io::Result<Vec<&'static str>> {
    let mut what = Vec::new();
    if meta.kind == Kind::File && meta.size != want.size {
        what.push("size");
    }
    if meta.kind != Kind::Symlink
        && want.mode.is_some()
        && meta.mode.is_some()
        && meta.mode != want.mode
    {
        what.push("mode");
    }
    // A different size already says the bytes differ: do not read them.
    if what.first() != Some(&"size") {
        let now = detail(fs, dir, name, meta)?;
        match (&now.content, &want.content) {
            (Content::File { sha256: a }, Content::File { sha256: b }) if a != b => {
                what.push("content")
            }
            (Content::Link { text: a }, Content::Link { text: b }) if a != b => {
                what.push("link text")
            }
            _ => {}
        }
    }
    Ok(what)
}
