//! The platform trait: every filesystem primitive the merge rules need, on
//! directory handles.
//!
//! The core never names a path outside the two handles it is given. Every
//! operation here takes a directory handle plus one *name* inside it (never a
//! path with separators), so an implementation can perform it with the `*at`
//! family of calls and nothing can be redirected by a symlink.

use std::ffi::{OsStr, OsString};
use std::io;

/// What kind of filesystem object an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (never followed by the primitives).
    Symlink,
    /// A named pipe.
    Fifo,
    /// A Unix domain socket.
    Socket,
    /// A character device node.
    CharDevice,
    /// A block device node.
    BlockDevice,
    /// The directory listing did not say; ask [`Fs::stat_at`].
    Unknown,
}

impl Kind {
    /// Every kind an entry can be found to have (all but [`Kind::Unknown`]),
    /// in a fixed order (the sandbox's wire format numbers them by it).
    pub const KNOWN: [Kind; 7] = [
        Kind::File,
        Kind::Dir,
        Kind::Symlink,
        Kind::Fifo,
        Kind::Socket,
        Kind::CharDevice,
        Kind::BlockDevice,
    ];

    /// A short human name ("directory", "regular file", ...), used in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::File => "regular file",
            Kind::Dir => "directory",
            Kind::Symlink => "symlink",
            Kind::Fifo => "fifo",
            Kind::Socket => "socket",
            Kind::CharDevice => "character device",
            Kind::BlockDevice => "block device",
            Kind::Unknown => "entry of unknown type",
        }
    }
}

/// A time as the filesystem records it: seconds and nanoseconds since the Unix
/// epoch. Ordered, so change times can be compared with a [`Fs::clock`] stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    /// Whole seconds since the epoch (negative before it).
    pub secs: i64,
    /// Nanoseconds within the second, below 1e9.
    pub nanos: u32,
}

impl Stamp {
    /// A system time as a stamp; `None` before the epoch or past `i64`
    /// seconds.
    pub fn from_system_time(t: std::time::SystemTime) -> Option<Stamp> {
        let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
        Some(Stamp {
            secs: i64::try_from(d.as_secs()).ok()?,
            nanos: d.subsec_nanos(),
        })
    }

    /// The system clock now (the epoch if it is set before it), for
    /// platforms without a filesystem clock to read.
    pub fn now() -> Stamp {
        Stamp::from_system_time(std::time::SystemTime::now()).unwrap_or(Stamp { secs: 0, nanos: 0 })
    }
}

/// What `lstat` says of an entry, reduced to what the rules need.
///
/// Fields a platform cannot see (mode bits under WASI, for example) are `None`;
/// the core then treats them as equal on both sides and never tries to change
/// permissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    /// The type of the entry itself (a symlink is `Symlink`, not its target).
    pub kind: Kind,
    /// Permission bits including setuid/setgid/sticky (`0o7777` mask).
    pub mode: Option<u32>,
    /// Owner's user id.
    pub uid: Option<u32>,
    /// Size in bytes (for a symlink: length of its text).
    pub size: u64,
    /// Device the entry lives on; with `ino` it identifies the inode.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Device number of a device node, 0 otherwise.
    pub rdev: u64,
    /// Number of hard links.
    pub nlink: u64,
    /// Status change time, when the platform reports it.
    pub ctime: Option<Stamp>,
    /// Modification time, when the platform reports it.
    pub mtime: Option<Stamp>,
    /// Access time, when the platform reports it.
    pub atime: Option<Stamp>,
}

impl Meta {
    /// `(dev, ino)`: equal for two names of one inode.
    pub fn id(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }
}

/// One name in a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The name, exactly as the directory holds it (any bytes but `/` and NUL).
    pub name: OsString,
    /// The type from the listing, or [`Kind::Unknown`] where it does not say.
    pub kind: Kind,
}

/// The filesystem primitives of one platform, on directory handles.
///
/// Contract shared by every method:
/// - `name` arguments are single path components (never `.`/`..`, never
///   containing a separator); implementations must not follow a symlink in
///   the final component unless the method says so.
/// - Errors are returned as [`io::Error`] whose [`io::ErrorKind`] is what the
///   core matches on: `NotFound`, `AlreadyExists`, `PermissionDenied`,
///   `Unsupported` (the no-replace flag is refused by this filesystem),
///   `CrossesDevices`, `IsADirectory`, `NotADirectory`, `DirectoryNotEmpty`.
///
/// An `Fs` and its directories are shared by threads: where a placement is
/// a round trip to a server, a merge keeps several in flight
/// ([`Fs::in_flight`]).
pub trait Fs: Sync {
    /// An open directory; dropping it closes it.
    type Dir: Sync;
    /// A file opened for reading.
    type File: io::Read;

    /// Opens the directory `name` inside `parent` without following a symlink.
    /// A symlink or non-directory there is an error (`NotADirectory` or other).
    fn open_dir(&self, parent: &Self::Dir, name: &OsStr) -> io::Result<Self::Dir>;

    /// Lists `dir`, without `.` and `..`, in no particular order. Called at
    /// most once per handle, so an implementation may read the handle's own
    /// position.
    fn read_dir(&self, dir: &Self::Dir) -> io::Result<Vec<Entry>>;

    /// `lstat` of `name` inside `dir`.
    fn stat_at(&self, dir: &Self::Dir, name: &OsStr) -> io::Result<Meta>;

    /// `fstat` of an open directory.
    fn stat_dir(&self, dir: &Self::Dir) -> io::Result<Meta>;

    /// Renames `from/from_name` to `to/to_name` only if `to_name` does not
    /// exist, atomically. `AlreadyExists` if it does; `Unsupported` if this
    /// filesystem (or platform) has no such rename, in which case the core
    /// falls back to [`Fs::link`] or [`Fs::create_dir`].
    fn rename_noreplace(
        &self,
        from: &Self::Dir,
        from_name: &OsStr,
        to: &Self::Dir,
        to_name: &OsStr,
    ) -> io::Result<()>;

    /// Renames `from/from_name` over `to/to_name`, atomically replacing a
    /// non-directory that is there.
    fn rename_replace(
        &self,
        from: &Self::Dir,
        from_name: &OsStr,
        to: &Self::Dir,
        to_name: &OsStr,
    ) -> io::Result<()>;

    /// Creates a hard link `to/to_name` to the entry `from/from_name` (a
    /// symlink is linked as itself). `AlreadyExists` if the name is taken.
    fn link(
        &self,
        from: &Self::Dir,
        from_name: &OsStr,
        to: &Self::Dir,
        to_name: &OsStr,
    ) -> io::Result<()>;

    /// Creates the directory `name` with `mode` exactly (where modes
    /// exist), or with the platform's default (less the umask) for `None`.
    /// `AlreadyExists` if the name is taken.
    fn create_dir(&self, dir: &Self::Dir, name: &OsStr, mode: Option<u32>) -> io::Result<()>;

    /// Creates the symlink `name` with the text `text`, unchanged (an
    /// absolute or dangling text is created as it is). `AlreadyExists` if the
    /// name is taken.
    fn symlink(&self, text: &OsStr, dir: &Self::Dir, name: &OsStr) -> io::Result<()>;

    /// Writes, at `to/to_name`, a new entry equal to the staged
    /// `from/from_name` whose `lstat` is `meta`: a regular file's bytes, mode
    /// and times; a symlink's text; a fifo, socket or device node with its
    /// mode. The entry appears whole, by one link or rename of a temporary
    /// made in `to` (never a partly written file under `to_name`). Without
    /// `replace`, `AlreadyExists` if the name is taken; with it, a
    /// non-directory there is replaced atomically. STAGE is not changed.
    fn copy_in(
        &self,
        from: &Self::Dir,
        from_name: &OsStr,
        meta: &Meta,
        to: &Self::Dir,
        to_name: &OsStr,
        replace: bool,
    ) -> io::Result<()>;

    /// Removes the temporaries an interrupted [`Fs::copy_in`] left in `dir`
    /// (recognised by their names; never one whose process still runs).
    /// Returns how many it removed.
    fn clean_temps(&self, dir: &Self::Dir) -> io::Result<u64>;

    /// Sets the access and modification times of an open directory.
    fn set_dir_times(&self, dir: &Self::Dir, atime: Stamp, mtime: Stamp) -> io::Result<()>;

    /// Removes the non-directory `name`.
    fn remove_file(&self, dir: &Self::Dir, name: &OsStr) -> io::Result<()>;

    /// Removes the empty directory `name`.
    fn remove_dir(&self, dir: &Self::Dir, name: &OsStr) -> io::Result<()>;

    /// The text of the symlink `name`, unchanged.
    fn read_link(&self, dir: &Self::Dir, name: &OsStr) -> io::Result<OsString>;

    /// Opens the regular file `name` for reading, without following a symlink.
    fn open_file(&self, dir: &Self::Dir, name: &OsStr) -> io::Result<Self::File>;

    /// `fstat` of a file [`Fs::open_file`] opened: what it is and its size
    /// on the handle, so a reader can refuse what is not a regular file
    /// without a second lookup of its name.
    fn stat_file(&self, file: &Self::File) -> io::Result<Meta>;

    /// Writes `bytes` as the regular file `name` in `dir`, created or
    /// truncated (a symlink at `name` is not followed), and makes them
    /// durable before returning. Records and journals are written so to a
    /// temporary name that a rename then gives its real one.
    fn write_synced(&self, dir: &Self::Dir, name: &OsStr, bytes: &[u8]) -> io::Result<()>;

    /// Makes `dir`'s entries durable: a rename or an unlink in it survives
    /// a power cut once this returns.
    fn sync_dir(&self, dir: &Self::Dir) -> io::Result<()>;

    /// A second handle to the directory `dir`, which [`Fs::read_dir`] lists
    /// from its start (to list a directory again after it changed).
    fn reopen_dir(&self, dir: &Self::Dir) -> io::Result<Self::Dir>;

    /// Sets the permission bits of an open directory. Only called where
    /// [`Meta::mode`] is `Some`.
    fn set_dir_mode(&self, dir: &Self::Dir, mode: u32) -> io::Result<()>;

    /// The user id the operations run as, if the platform has users. The core
    /// only makes a read-only directory writable when this user owns it.
    fn euid(&self) -> Option<u32>;

    /// "Now" on the filesystem's own clock, the one that stamps change times
    /// of entries in `dir`. Entries changed after this stamp were changed by
    /// someone else while the merge ran.
    fn clock(&self, dir: &Self::Dir) -> Stamp;

    /// How many more directory handles a merge may hold open at once for
    /// later use (the scan of STAGE keeps one per staged directory, so
    /// the merge need not open it again), within the process's limit on
    /// open files. Beyond it the scan closes each directory once listed.
    /// 0 where an open handle would stop the merge from renaming that
    /// directory (Windows).
    fn spare_handles(&self) -> usize {
        256
    }

    /// Whether `dir` is on a filesystem whose client may answer `stat` and
    /// listings from what it saw earlier (sshfs, other FUSE filesystems,
    /// NFS, SMB): there a directory's modification time or a file's
    /// attributes cannot say that another machine changed it, and the
    /// records are listed and read afresh each time they are asked about.
    /// Default: `false` (a local filesystem, whose answers are current).
    fn caches_views(&self, dir: &Self::Dir) -> bool {
        let _ = dir;
        false
    }

    /// How many placements into `dir` a merge keeps in flight at once: 1
    /// where each is a system call on a local filesystem (the kernel
    /// serializes a directory's changes; threads would only add their own
    /// cost), more where each is a round trip to a server that answers
    /// several at a time (a network filesystem's client). Default: 1.
    fn in_flight(&self, dir: &Self::Dir) -> usize {
        let _ = dir;
        1
    }

    /// Checks, before a merge moves anything into `dir`'s filesystem, that
    /// it can place an entry without replacing one: the no-replace rename,
    /// or (where that is refused) a hard link. `Unsupported`, saying what
    /// each answered, where it can do neither (rclone's mount): there every
    /// placement would have to be a replacing rename, which can hide a
    /// version another merge placed. `Ok` where it cannot be told (no
    /// right to create a probe in `dir`, or a local filesystem, which has
    /// one or the other): the merge's own placements then find out.
    /// Default: `Ok`, for platforms whose no-replace primitive is never
    /// refused (Windows' `MoveFileExW` without `REPLACE_EXISTING`).
    fn check_placement(&self, dir: &Self::Dir) -> io::Result<()> {
        let _ = dir;
        Ok(())
    }

    /// Locks the directory `dir` exclusively, waiting for another holder,
    /// until this handle is closed (a killed holder's lock goes with it).
    /// `Unsupported` where the platform has no such lock (WASI, Windows):
    /// the caller then locks by making a directory.
    fn lock_dir(&self, dir: &Self::Dir) -> io::Result<()> {
        let _ = dir;
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}
