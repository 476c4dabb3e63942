//! Looking again after a network filesystem's passing answer: one rule for
//! the walk, `uninstall` and the store (issue 26, 4).
//!
//! A client of a shared filesystem may answer from a view another client
//! has since changed: `ESTALE` (this client's handle of a file another
//! replaced or removed), or `ENOENT` for a directory a look has just seen.
//! Such an answer is a reason to look the name up again, a bounded number
//! of times, with pauses that outlast a FUSE client's cached lookup (1 s by
//! default) but keep a real instability short.

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
}
