//! Ownership: what the records of the installed packages say about the
//! paths a merge touches, and what a merge does with it.
//!
//! - Which packages own a path TARGET already holds ([`Owners`]), so that a
//!   replacement names them and `--on-owned` decides for them;
//! - which paths are exempt (`--allow-overwrite`) or protected
//!   (`--protect`: a file the user edited stays, the staged one goes
//!   beside it as `NAME.stagemerge-new`);
//! - the clobber store ([`store`]): every version a merge makes invisible
//!   that a package still lists is kept, so that uninstalling the package
//!   whose version is visible restores another owner's instead of
//!   breaking it.

mod owners;
mod patterns;
pub mod store;

pub use owners::{Claims, Owner, Owners, Version, version, version_of};
pub use patterns::Patterns;

use std::ffi::OsStr;
use std::io;
use std::path::Path;

use crate::fs::{Fs, Kind, Meta};
use crate::options::OnConflict;
use crate::record::detail;

/// The suffix of the name a protected file's new version is placed under.
pub const NEW_SUFFIX: &str = ".stagemerge-new";

/// The merges that began after the records were read: their journals (or
/// records) are new. A merge asks about a different file whose version no
/// record it read lists; if such a late merge lists the path, the file is
/// that merge's concurrent write (its directory may have been moved in
/// whole, keeping the older change times of what is below it).
pub trait LateOwners: std::fmt::Debug + Send + Sync {
    /// Whether a record or journal that was not there when the records
    /// were read lists `path`.
    fn lists(&self, path: &Path) -> bool;

    /// Whether a record or journal that was not there when the records
    /// were read lists version `v` of `path` (or the path without a
    /// digest).
    fn lists_version(&self, path: &Path, v: &Version) -> bool;

    /// Whether the record named `owner` (read when the merge started)
    /// lists version `v` of `path` (or the path without a digest) now, by
    /// its record and journal, where they changed since they were read;
    /// `None` where they did not (what was read holds). Where it cannot
    /// tell, `Some(true)`.
    fn lists_now(&self, owner: &str, path: &Path, v: &Version) -> Option<bool>;
}

/// How a merge (or a plan) treats owned and protected paths.
#[derive(Clone, Debug, Default)]
pub struct Ownership {
    /// The installed packages' records.
    pub owners: Owners,
    /// The policy for a different file another package owns; `None`: the
    /// merge's `--on-conflict` policy.
    pub on_owned: Option<OnConflict>,
    /// Paths another package's file may be replaced at without `on_owned`
    /// applying (portage's COLLISION_IGNORE).
    pub allow_overwrite: Patterns,
    /// Paths whose edited files are kept (`--protect`).
    pub protect: Patterns,
    /// Where to look for merges that began after `owners` was read (a
    /// merge; `None` for a plan, which concurrency does not enter).
    pub late: Option<std::sync::Arc<dyn LateOwners>>,
}

/// Whose file a staged entry meets in TARGET, for messages and plans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Whose {
    /// No record lists the path.
    Unowned,
    /// Only the package's own record lists it (an upgrade or reinstall).
    Own,
    /// These packages' records list it (the merge's own left out).
    Owned(Vec<String>),
}

impl Whose {
    /// `owned by foo-1.2, bar-2.0` or `unowned`.
    pub fn describe(&self) -> String {
        match self {
            Whose::Unowned => "unowned".into(),
            Whose::Own => "the package's own earlier version".into(),
            Whose::Owned(names) => format!("owned by {}", names.join(", ")),
        }
    }
}

/// What the records say of a different file a staged entry met in TARGET:
/// what plans and reports show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collided {
    /// Whose TARGET's file is.
    pub whose: Whose,
    /// `--allow-overwrite` exempts the path from `--on-owned`.
    pub allowed: bool,
    /// A protected file whose content no record lists: the user's edit.
    pub edited: bool,
}

/// What ownership decides of a staged file that differs from TARGET's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Collision {
    /// What the records say.
    pub(crate) seen: Collided,
    /// The policy that applies.
    pub(crate) policy: OnConflict,
    /// TARGET's file is a merge's that began after the records were read.
    pub(crate) late: bool,
}

impl Ownership {
    /// Judges a collision at `path` under the merge's `policy`.
    /// `target_version` (the version of TARGET's file; `None` for one that
    /// is not a file or symlink) is asked only for a protected path, or
    /// where a late merge lists the path.
    pub(crate) fn collision<E>(
        &self,
        path: &Path,
        policy: OnConflict,
        target_version: impl FnOnce() -> Result<Option<Version>, E>,
    ) -> Result<Collision, E> {
        let claims = self.owners.claims(path);
        let mut version = None;
        let mut target_version = Some(target_version);
        let mut version_of_target = || -> Result<Option<Version>, E> {
            if let Some(f) = target_version.take() {
                version = f()?;
            }
            Ok(version)
        };
        let whose = if !claims.others.is_empty() {
            Whose::Owned(claims.others.clone())
        } else if self.owners.lists(path) {
            Whose::Own
        } else {
            Whose::Unowned
        };
        let allowed = !claims.others.is_empty() && self.allow_overwrite.matches(path);
        let policy = match self.on_owned {
            Some(p) if !claims.others.is_empty() && !allowed => p,
            _ => policy,
        };
        let late = match &self.late {
            Some(l) if l.lists(path) => {
                version_of_target()?.is_some_and(|v| !claims.versions.contains(&v))
            }
            _ => false,
        };
        let edited = !late
            && self.protect.matches(path)
            && version_of_target()?.is_some_and(|v| !claims.versions.contains(&v));
        Ok(Collision {
            seen: Collided {
                whose,
                allowed,
                edited,
            },
            policy,
            late,
        })
    }

    /// Whether the version `v` of `path` (TARGET's, about to be replaced)
    /// may be needed again: a package other than the merge's own lists it,
    /// or lists the path without a digest.
    pub(crate) fn worth_keeping(&self, path: &Path, v: &Version) -> bool {
        self.owners
            .others_versions(path)
            .any(|recorded| recorded.is_none_or(|r| &r == v))
    }

    /// [`Self::worth_keeping`], asked again of the records as they are now
    /// (just before a version is kept, under the path's store lock): a
    /// package whose record listed `v` when the merge started may have
    /// been upgraded since, and a version kept for it would stay in the
    /// store with no owner.
    pub(crate) fn worth_keeping_now(&self, path: &Path, v: &Version) -> bool {
        let Some(late) = &self.late else {
            return self.worth_keeping(path, v);
        };
        // Any other record listing the path counts: one that listed
        // another version may have been rewritten since to list this one
        // (a downgrade running beside this merge), and a merge that began
        // later may list it.
        self.owners.of(path).filter(|(o, _)| !o.own).any(|(o, e)| {
            let listed = version_of(e).is_none_or(|r| &r == v);
            late.lists_now(&o.name, path, v).unwrap_or(listed)
        }) || late.lists_version(path, v)
    }
}

/// The version of the non-directory `dir/name` (whose `lstat` is
/// `meta`): the digest of a regular file or of a symlink's text; `None`
/// for anything else.
pub(crate) fn version_at<F: Fs>(
    fs: &F,
    dir: &F::Dir,
    name: &OsStr,
    meta: &Meta,
) -> io::Result<Option<Version>> {
    if !matches!(meta.kind, Kind::File | Kind::Symlink) {
        return Ok(None);
    }
    Ok(Some(version(&detail(fs, dir, name, meta)?.content)))
}
