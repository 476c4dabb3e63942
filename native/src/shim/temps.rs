//! The names of copy mode's named temporaries, `.stagemerge-<pid>-<n>.tmp`,
//! shared by every platform: made by the copying process, recognised (with
//! the process that made them) by the cleanup of a later run.

use std::ffi::{OsStr, OsString};
use std::sync::atomic::{AtomicU64, Ordering};

const PREFIX: &str = ".stagemerge-";
const SUFFIX: &str = ".tmp";

/// A name no other temporary of any process has.
pub(crate) fn temp_name() -> OsString {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX}{}-{n}{SUFFIX}", std::process::id()).into()
}

/// The id of the process that made the temporary `name`, if it is one.
pub(crate) fn temp_pid(name: &OsStr) -> Option<u32> {
    let s = name.to_str()?.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let (pid, n) = s.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_name_is_recognised_with_its_process() {
        let name = temp_name();
        assert_eq!(temp_pid(&name), Some(std::process::id()));
        assert_eq!(temp_pid(OsStr::new(".stagemerge-123-0.tmp")), Some(123));
        for other in [
            ".stagemerge-12.tmp",
            ".stagemerge-x-1.tmp",
            "stagemerge-1-1.tmp",
            ".stagemerge-1-1.tmpx",
        ] {
            assert_eq!(temp_pid(OsStr::new(other)), None, "{other}");
        }
    }
}
