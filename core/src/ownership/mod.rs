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

use std::path::Path;

use crate::options::OnConflict;

/// The suffix of the name a protected file's new version is placed under.
pub const NEW_SUFFIX: &str = ".stagemerge-new";

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
}

/// Whose file a staged entry meets in TARGET, for messages and plans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Whose {
    /// No record lists the path.
    Unowned,
    /// These packages' records list it (the merge's own left out).
    Owned(Vec<String>),
}

impl Whose {
    /// `owned by foo-1.2, bar-2.0` or `unowned`.
    pub fn describe(&self) -> String {
        match self {
            Whose::Unowned => "unowned".into(),
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
}

impl Ownership {
    /// Judges a collision at `path` under the merge's `policy`.
    /// `target_version` is asked only for a protected path (the digest of
    /// TARGET's file; `None` when it is not a regular file).
    pub(crate) fn collision<E>(
        &self,
        path: &Path,
        policy: OnConflict,
        target_version: impl FnOnce() -> Result<Option<Version>, E>,
    ) -> Result<Collision, E> {
        let claims = self.owners.claims(path);
        let whose = if claims.others.is_empty() {
            Whose::Unowned
        } else {
            Whose::Owned(claims.others.clone())
        };
        let allowed = !claims.others.is_empty() && self.allow_overwrite.matches(path);
        let policy = match self.on_owned {
            Some(p) if !claims.others.is_empty() && !allowed => p,
            _ => policy,
        };
        let edited = self.protect.matches(path)
            && target_version()?.is_some_and(|v| !claims.versions.contains(&v));
        Ok(Collision {
            seen: Collided {
                whose,
                allowed,
                edited,
            },
            policy,
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
}
