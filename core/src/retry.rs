//! Looking again after a network filesystem's passing answer: one rule for
//! the walk, `uninstall` and the store (issue 26, 4).
//!
//! A client of a shared filesystem may answer from a view another client
//! has since changed: `ESTALE` (this client's handle of a file another
//! replaced or removed), or `ENOENT` for a directory a look has just seen.
//! Such an answer is a reason to look the name up again, a bounded number
//! of times, with pauses that outlast a FUSE client's cached lookup (1 s by
//! default) but keep a real instability short.
//!
//! The predicates that read such an answer live here too, so the walk and
//! `uninstall` read each one alike: [`looked_at_again`], [`done_before`]
//! (a repeated call), [`vanished`] (the TARGET directory entered is gone)
//! and [`taken_if_there`] (sshfs's `EPERM` for a name another client took).

use std::io;
use std::path::Path;
use std::time::Duration;

/// How many times one operation is tried in all.
pub(crate) const TRIES: usize = 12;

/// The pause before try `n` (from 0): none for the first two (a local race
/// is settled by the next look), then doubling from 4 ms to at most 400 ms,
/// about 1.7 s in all.
pub(crate) fn pause(n: usize) -> Duration {
    let ms = match n {
        0 | 1 => 0,
        n => (4u64 << (n - 2).min(7)).min(400),
    };
    Duration::from_millis(ms)
}

/// Whether `err` says the name was there a moment ago and is not now, or
/// that this client's handle of it is stale.
pub(crate) fn looked_at_again(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::StaleNetworkFileHandle
    )
}

/// Whether a failed `link` or `rename` onto `dir/name` was this merge's
/// own, answered twice: a network filesystem's client that lost the
/// server's reply sends the call again, and the server, having carried it
/// out, answers the repeat with `EEXIST` (the link is there) or `ENOENT`
/// (the renamed source is gone). It was done where `dir/name` now holds
/// `ours`, the inode being placed; anything else is a real conflict or
/// failure. Looked at only for those two answers.
pub(crate) fn done_before<F: crate::fs::Fs>(
    fs: &F,
    dir: &F::Dir,
    name: &std::ffi::OsStr,
    ours: (u64, u64),
    err: &io::Error,
) -> bool {
    let repeated = matches!(
        err.kind(),
        io::ErrorKind::AlreadyExists | io::ErrorKind::NotFound
    ) && fs.stat_at(dir, name).is_ok_and(|m| m.id() == ours);
    if repeated {
        log::debug!("{name:?}: {err} from a call already carried out (TARGET holds our inode)");
    }
    repeated
}

/// Whether `err`, from a call that creates `name` in the TARGET directory
/// the walk entered, says that directory is gone: `ENOENT` while the
/// staged `name` is still there (the one other thing that answer can mean;
/// an `ENOENT` from removing the staged name after a link is the stage's).
pub(crate) fn vanished<F: crate::fs::Fs>(
    fs: &F,
    stage: &F::Dir,
    name: &std::ffi::OsStr,
    err: &io::Error,
) -> bool {
    err.kind() == io::ErrorKind::NotFound && fs.stat_at(stage, name).is_ok()
}

/// A network filesystem may answer a `link` or `mkdir` onto a name another
/// client took meanwhile with `EPERM` instead of `EEXIST` (sshfs: SFTP's
/// generic failure): where the name is there now, the error is read as the
/// name taken, so the walk looks again (and compares) instead of failing
/// the entry. A real `EPERM` on a free name stays one.
pub(crate) fn taken_if_there<F: crate::fs::Fs>(
    fs: &F,
    dir: &F::Dir,
    name: &std::ffi::OsStr,
    e: io::Error,
) -> io::Error {
    if e.kind() == io::ErrorKind::PermissionDenied && fs.stat_at(dir, name).is_ok() {
        log::debug!("{name:?}: {e} from a name that is there now: taken, looked at again");
        return io::Error::new(io::ErrorKind::AlreadyExists, e);
    }
    e
}

/// Runs `look` again while its answer is `doubtful` (one a client's cached
/// view could give although the server holds otherwise), at most
/// [`TRIES`] times with [`pause`] between: the last answer stands. Each
/// look must ask afresh (an `open` refreshes what a client caches of a
/// file; the pauses outlast a kernel's cached attributes, 1 s on FUSE).
pub(crate) fn until_settled<T>(
    path: &Path,
    mut look: impl FnMut() -> T,
    doubtful: impl Fn(&T) -> bool,
) -> T {
    let mut answer = look();
    for n in 1..TRIES {
        if !doubtful(&answer) {
            break;
        }
        log::debug!("{}: looked at again (try {})", path.display(), n + 1);
        std::thread::sleep(pause(n));
        answer = look();
    }
    answer
}

/// Runs `op` until it answers anything but `ESTALE`, at most [`TRIES`]
/// times with [`pause`] between; `path` names it in the log. Each try must
/// look the name up again (it is called afresh, never with a handle kept
/// from the failed try).
pub(crate) fn on_stale<T>(path: &Path, mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut n = 0;
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::StaleNetworkFileHandle && n + 1 < TRIES => {
                n += 1;
                log::debug!("{}: {e}; looked up again (try {})", path.display(), n + 1);
                std::thread::sleep(pause(n));
            }
            r => return r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_start_at_the_third_try_and_stay_under_two_seconds() {
        assert!(pause(0).is_zero() && pause(1).is_zero());
        assert_eq!(pause(2).as_millis(), 4);
        assert_eq!(pause(3).as_millis(), 8);
        let total: u128 = (0..TRIES).map(|n| pause(n).as_millis()).sum();
        assert!(
            (1000..2000).contains(&total),
            "long enough for a 1 s cached lookup, and bounded: {total} ms"
        );
    }

    #[test]
    fn an_exists_or_not_found_with_our_inode_in_place_was_done_before() {
        use crate::fs::Fs;
        use crate::testing::memfs::MemFs;
        use std::ffi::OsStr;
        let fs = MemFs::new();
        fs.file("s/f", b"x");
        fs.file("t/other", b"x");
        let (s, t) = (fs.mkdirs("s"), fs.mkdirs("t"));
        let f = OsStr::new("f");
        let ours = fs.stat_at(&s, f).unwrap().id();
        fs.link(&s, f, &t, f).unwrap();
        let e = |k| io::Error::from(k);
        assert!(done_before(
            &fs,
            &t,
            f,
            ours,
            &e(io::ErrorKind::AlreadyExists)
        ));
        assert!(done_before(&fs, &t, f, ours, &e(io::ErrorKind::NotFound)));
        assert!(
            !done_before(&fs, &t, f, ours, &e(io::ErrorKind::PermissionDenied)),
            "only the two answers a repeat gives"
        );
        let other = OsStr::new("other");
        assert!(
            !done_before(&fs, &t, other, ours, &e(io::ErrorKind::AlreadyExists)),
            "another inode there is a conflict"
        );
        assert!(!done_before(
            &fs,
            &t,
            OsStr::new("none"),
            ours,
            &e(io::ErrorKind::NotFound)
        ));
    }

    #[test]
    fn a_doubtful_answer_is_asked_again_until_it_settles_or_the_tries_run_out() {
        // The answer is the number of the look.
        let looks = |doubtful: fn(&usize) -> bool| {
            let mut n = 0;
            until_settled(
                Path::new("x"),
                || {
                    n += 1;
                    n
                },
                doubtful,
            )
        };
        assert_eq!(
            looks(|&n| n < 3),
            3,
            "asked until the answer was not doubtful"
        );
        assert_eq!(looks(|_| true), TRIES, "bounded: the last answer stands");
    }

    #[test]
    fn only_a_vanished_name_or_a_stale_handle_is_looked_at_again() {
        assert!(looked_at_again(&io::Error::from(io::ErrorKind::NotFound)));
        let stale = || io::Error::from(io::ErrorKind::StaleNetworkFileHandle);
        assert!(looked_at_again(&stale()));
        assert!(!looked_at_again(&io::Error::from(
            io::ErrorKind::PermissionDenied
        )));
        let mut calls = 0;
        let r = on_stale(Path::new("x"), || {
            calls += 1;
            if calls < 3 { Err(stale()) } else { Ok(calls) }
        });
        assert_eq!(r.unwrap(), 3, "retried until it answered");
        let mut calls = 0;
        let r: io::Result<()> = on_stale(Path::new("x"), || {
            calls += 1;
            Err(io::Error::from(io::ErrorKind::PermissionDenied))
        });
        assert!(r.is_err() && calls == 1, "any other error is final");
    }

    #[test]
    fn eperm_onto_a_name_that_is_there_is_the_name_taken() {
        use crate::testing::memfs::MemFs;
        use std::ffi::OsStr;
        let fs = MemFs::new();
        fs.file("t/f", b"x");
        let t = fs.mkdirs("t");
        let denied = || io::Error::from(io::ErrorKind::PermissionDenied);
        let e = taken_if_there(&fs, &t, OsStr::new("f"), denied());
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        let e = taken_if_there(&fs, &t, OsStr::new("g"), denied());
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "a free name");
        let e = taken_if_there(
            &fs,
            &t,
            OsStr::new("f"),
            io::Error::from(io::ErrorKind::Other),
        );
        assert_eq!(e.kind(), io::ErrorKind::Other, "only EPERM is read again");
    }

    #[test]
    fn enoent_while_the_staged_name_is_there_says_the_target_dir_vanished() {
        use crate::testing::memfs::MemFs;
        use std::ffi::OsStr;
        let fs = MemFs::new();
        fs.file("s/f", b"x");
        let s = fs.mkdirs("s");
        let gone = || io::Error::from(io::ErrorKind::NotFound);
        assert!(vanished(&fs, &s, OsStr::new("f"), &gone()));
        assert!(
            !vanished(&fs, &s, OsStr::new("g"), &gone()),
            "ENOENT for a staged name gone is the stage's answer"
        );
        assert!(
            !vanished(
                &fs,
                &s,
                OsStr::new("f"),
                &io::Error::from(io::ErrorKind::PermissionDenied)
            ),
            "only ENOENT"
        );
    }
}
