//! The write probe behind the "read-only is proven" test: every mutation
//! WASI preview 1 can express, tried on a preopen and on an entry in it.
//! Preview 1 has no call that changes permission bits; changing times is
//! the only metadata write it has, and the host's `set_mode` import is
//! tried as the chmod.

use std::io::{self, Write};

use rustix::fs::{AtFlags, Mode, OFlags, Timespec, Timestamps};

use crate::fs::Dir;

/// Tries each write in each of `dirs` (on the file `name` and the
/// directory `dir_name` in each where one is needed); prints one line per attempt and
/// returns whether all were refused.
pub(crate) fn all_refused(dirs: &[&Dir], name: &str, dir_name: &str) -> bool {
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let times = Timestamps {
        last_access: zero,
        last_modification: zero,
    };
    let mut out = io::stdout().lock();
    let mut refused = true;
    for (i, d) in dirs.iter().enumerate() {
        let fd = d.fd();
        let attempts: [(&str, rustix::io::Result<()>); 9] = [
            (
                "create file",
                rustix::fs::openat(
                    fd,
                    "probe-new",
                    OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
                    Mode::from_bits_truncate(0o644),
                )
                .map(drop),
            ),
            (
                "mkdir",
                rustix::fs::mkdirat(fd, "probe-dir", Mode::from_bits_truncate(0o755)),
            ),
            ("symlink", rustix::fs::symlinkat("x", fd, "probe-link")),
            (
                "link",
                rustix::fs::linkat(fd, name, fd, "probe-hardlink", AtFlags::empty()),
            ),
            (
                "rename",
                rustix::fs::renameat(fd, name, fd, "probe-renamed"),
            ),
            ("unlink", rustix::fs::unlinkat(fd, name, AtFlags::empty())),
            (
                "open for writing",
                rustix::fs::openat(fd, name, OFlags::WRONLY | OFlags::TRUNC, Mode::empty())
                    .map(drop),
            ),
            (
                "set times of entry",
                rustix::fs::utimensat(fd, name, &times, AtFlags::SYMLINK_NOFOLLOW),
            ),
            ("set times of directory", rustix::fs::futimens(fd, &times)),
        ];
        let side = if i == 0 { "STAGE" } else { "TARGET" };
        // The one import that writes: a read-only run must refuse it too.
        let chmod = crate::host::set_mode(i as u32, b"", dir_name.as_bytes(), 0o777);
        let attempts = attempts
            .into_iter()
            .map(|(w, r)| (w, r.map_err(io::Error::from)))
            .chain([("chmod through the host", chmod)]);
        for (what, r) in attempts {
            match r {
                Ok(()) => {
                    refused = false;
                    let _ = writeln!(out, "{side}: {what}: ALLOWED");
                }
                Err(e) => {
                    let _ = writeln!(out, "{side}: {what}: refused ({})", e.kind());
                }
            }
        }
    }
    refused
}
