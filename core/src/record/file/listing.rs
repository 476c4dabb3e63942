//! Listing a directory whose entries decide ownership (the directory of
//! records, a site directory's `*.dist-info`) as the server holds it, not
//! as this client last saw it.
//!
//! A listing is a client's view. On a shared prefix that several machines
//! write, a caching client may answer from a listing it took earlier: sshfs
//! serves a directory's listing from its own cache for 20 s, so a record
//! another machine wrote meanwhile is missing from it, and an uninstall
//! that trusted it removed a file the unseen record's package needs (issue
//! 26). What every caching client does reflect at once is its own change of
//! the directory: sshfs drops its cached listing and attributes of a
//! directory it changes, and NFS revalidates a directory whose change
//! attribute moved. So before it lists, a command changes the directory
//! through an operation the server decides: it creates a probe directory
//! under a name no one else uses (an exclusive `mkdir`) and removes it.
//!
//! The probe's name ends in [`super::TEMP_SUFFIX`], which every reader of a
//! directory of records passes over, so a reader listing meanwhile, or a
//! probe left by a killed command, is never taken for a record.
//!
//! Only where the client may cache ([`Fs::caches_views`]: FUSE, NFS, SMB):
//! on a local filesystem the listing is current and nothing is created. A
//! probe left by a command killed between its `mkdir` and its `rmdir` is an
//! empty directory under a temporary's name, passed over by readers.
//!
//! Where the directory cannot be changed (a read-only mount, a reader
//! without write permission: `verify`, `owner`, a plan), the listing is
//! taken as it is; nothing this command does can act on a stale view there
//! beyond what it reports.

use std::ffi::OsString;
use std::hash::{BuildHasher, RandomState};
use std::io;

use super::TEMP_SUFFIX;
use crate::fs::{Entry, Fs};

/// How many probe names are tried before giving up (a name is taken only by
/// a probe of another command that chose the same random name).
const TRIES: usize = 4;

/// Lists `dir` through a handle of its own (a handle lists once), after
/// changing it where its filesystem's client may answer from what it saw
/// earlier ([`Fs::caches_views`]; see the module's text). A local
/// filesystem's listing is current: there nothing is created, so a command
/// killed at any instant leaves no probe behind (a site directory's
/// `*.dist-info` is in TARGET).
pub(crate) fn list_fresh<F: Fs>(fs: &F, dir: &F::Dir) -> io::Result<Vec<Entry>> {
    if fs.caches_views(dir) {
        probe(fs, dir)?;
    }
    fs.reopen_dir(dir).and_then(|d| fs.read_dir(&d))
}

/// Creates and removes a probe directory in `dir`. A directory that this
/// command may not change is no error (`Ok(false)`); any other failure is.
pub(crate) fn probe<F: Fs>(fs: &F, dir: &F::Dir) -> io::Result<bool> {
    for _ in 0..TRIES {
        let name = probe_name();
        match fs.create_dir(dir, &name, None) {
            Ok(()) => {
                return match fs.remove_dir(dir, &name) {
                    // Whoever removed it (nobody should) changed the
                    // directory too.
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
                    Err(e) => Err(e),
                };
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ReadOnlyFilesystem
                        | io::ErrorKind::PermissionDenied
                        | io::ErrorKind::Unsupported
                ) =>
            {
                log::debug!("listing a directory without a probe: {e}");
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{TRIES} probe names in a row were taken"),
    ))
}

/// A name no other command picks: random bits from the standard library's
/// per-process seed (no platform call, so the same under WASI).
fn probe_name() -> OsString {
    let bits = RandomState::new().hash_one(std::time::SystemTime::now());
    OsString::from(format!(".stagemerge-probe-{bits:016x}{TEMP_SUFFIX}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memfs::MemFs;

    #[test]
    fn a_probe_leaves_the_directory_as_it_was_and_is_never_a_record() {
        let fs = MemFs::new();
        fs.file("records/a-1", b"x");
        let dir = fs.mkdirs("records");
        assert!(probe(&fs, &dir).unwrap(), "MemFs can be changed");
        let listed = list_fresh(&fs, &dir).unwrap();
        let names: Vec<_> = listed.iter().map(|e| e.name.clone()).collect();
        assert_eq!(names, vec![OsString::from("a-1")]);
        let name = probe_name();
        assert!(super::super::is_temp(&name), "{name:?}");
        assert_ne!(name, probe_name(), "each probe has a name of its own");
    }
}
