//! The host side of the guest's imports: `request` (what the guest is to
//! do), three that read (`list`, `lstat`, `readlink`) and two that write
//! only when the run may (`set_mode`, the permission bits of a directory a
//! merge created; `sync_dir`, a directory's renames made durable), answered
//! by the native platform's own [`Fs`] (wire format in
//! `stagemerge_core::abi`).
//!
//! A directory is named by a preopen index and a `/`-separated path below
//! it; each component is opened with [`Fs::open_dir`] (never following a
//! symlink) from the preopen's handle, exactly as the guest opened it, so
//! nothing outside the preopens can be named. Names are single
//! components. Opened directories are cached by path: the guest walks
//! depth-first, so most calls find their directory open already. A merge
//! never revisits a path after moving or removing what it named, so a cached
//! handle is never asked about a directory that has gone.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io;

use stagemerge_core::Fs;
use stagemerge_core::abi::{self, MODULE};
use wasmtime::{Caller, Linker, Memory};

/// How many opened directories the cache keeps before it starts over.
const CACHE_LIMIT: usize = 256;

/// A directory as the guest names it: preopen index and path below it.
type DirKey = (u32, Vec<u8>);

/// What the imports read from: the preopened roots and the cache of directories
/// opened below them.
pub(crate) struct HostFs<F: Fs> {
    fs: F,
    /// The encoded [`abi::Request`] the guest asks for first.
    request: Vec<u8>,
    dirs: Dirs<F::Dir>,
    writable: bool,
    /// The last listing, until the guest has taken it whole.
    pending: Option<(DirKey, Vec<u8>)>,
}

struct Dirs<D> {
    /// STAGE, TARGET, then the directories of records, by preopen index.
    roots: Vec<D>,
    cache: HashMap<DirKey, D>,
}

impl<D> Dirs<D> {
    fn get(&self, root: usize, path: &[u8]) -> Option<&D> {
        if path.is_empty() {
            return Some(&self.roots[root]);
        }
        self.cache.get(&(root as u32, path.to_vec()))
    }

    /// The directory `path` below root `root`, opened one component at a
    /// time from the longest prefix already open.
    fn open<F: Fs<Dir = D>>(&mut self, fs: &F, root: u32, path: &[u8]) -> io::Result<&D> {
        let r = usize::try_from(root)
            .ok()
            .filter(|r| *r < self.roots.len())
            .ok_or_else(|| invalid("no such preopen"))?;
        let ends: Vec<usize> = path
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'/')
            .map(|(i, _)| i)
            .chain((!path.is_empty()).then_some(path.len()))
            .collect();
        // The longest prefix already open (the root always is).
        let mut open = ends.len();
        while open > 0 && self.get(r, &path[..ends[open - 1]]).is_none() {
            open -= 1;
        }
        for i in open..ends.len() {
            let parent_end = if i == 0 { 0 } else { ends[i - 1] };
            let start = if i == 0 { 0 } else { parent_end + 1 };
            let name = component(&path[start..ends[i]])?;
            let parent = self.get(r, &path[..parent_end]).expect("opened above");
            let dir = fs.open_dir(parent, name)?;
            if self.cache.len() >= CACHE_LIMIT {
                self.cache.clear();
            }
            self.cache.insert((root, path[..ends[i]].to_vec()), dir);
        }
        let end = ends.last().copied().unwrap_or(0);
        Ok(self.get(r, &path[..end]).expect("opened above"))
    }
}

impl<F: Fs> HostFs<F> {
    pub(crate) fn new(fs: F, request: Vec<u8>, roots: Vec<F::Dir>, writable: bool) -> Self {
        HostFs {
            fs,
            request,
            writable,
            pending: None,
            dirs: Dirs {
                roots,
                cache: HashMap::new(),
            },
        }
    }

    /// The encoded listing of `path`. [`Fs::read_dir`] may be called once
    /// per handle, so a listing gets a handle of its own (for a root, a
    /// second handle to it: a merge with records lists STAGE's root twice,
    /// and the directory of records is listed again when it changes), and a
    /// listing too big for the guest's buffer is kept for the call that
    /// brings a bigger one.
    fn list(&mut self, root: u32, path: &[u8], cap: usize) -> io::Result<Vec<u8>> {
        let key = (root, path.to_vec());
        if let Some((k, bytes)) = self.pending.take()
            && k == key
        {
            return Ok(bytes);
        }
        let entries = match path.iter().rposition(|b| *b == b'/') {
            _ if path.is_empty() => {
                let dir = self.dirs.open(&self.fs, root, path)?;
                let dir = self.fs.reopen_dir(dir)?;
                self.fs.read_dir(&dir)?
            }
            split => {
                let (parent, name) = match split {
                    Some(i) => (&path[..i], &path[i + 1..]),
                    None => (&path[..0], path),
                };
                let name = component(name)?;
                let parent = self.dirs.open(&self.fs, root, parent)?;
                let dir = self.fs.open_dir(parent, name)?;
                self.fs.read_dir(&dir)?
            }
        };
        let bytes =
            abi::encode_entries(entries.iter().map(|e| (e.kind, e.name.as_encoded_bytes())));
        if bytes.len() > cap {
            self.pending = Some((key, bytes.clone()));
        }
        Ok(bytes)
    }

    fn lstat(&mut self, root: u32, path: &[u8], name: &[u8]) -> io::Result<Vec<u8>> {
        let meta = if name.is_empty() {
            let dir = self.dirs.open(&self.fs, root, path)?;
            self.fs.stat_dir(dir)?
        } else {
            let name = component(name)?;
            let dir = self.dirs.open(&self.fs, root, path)?;
            self.fs.stat_at(dir, name)?
        };
        Ok(abi::encode_meta(&meta).to_vec())
    }

    /// Sets the permission bits of the directory `path/name` (a merge's
    /// mkdir, which WASI cannot give a mode). Refused unless the run may
    /// write.
    fn set_mode(&mut self, root: u32, path: &[u8], name: &[u8], mode: u32) -> io::Result<()> {
        if !self.writable {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the sandbox is read-only",
            ));
        }
        let name = component(name)?;
        let parent = self.dirs.open(&self.fs, root, path)?;
        let dir = self.fs.open_dir(parent, name)?;
        self.fs.set_dir_mode(&dir, mode)
    }

    /// Makes the directory `path` durable (a record renamed into it).
    /// Refused unless the run may write: a read-only run changes nothing
    /// to sync.
    fn sync_dir(&mut self, root: u32, path: &[u8]) -> io::Result<()> {
        if !self.writable {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the sandbox is read-only",
            ));
        }
        let dir = self.dirs.open(&self.fs, root, path)?;
        self.fs.sync_dir(dir)
    }

    fn readlink(&mut self, root: u32, path: &[u8], name: &[u8]) -> io::Result<Vec<u8>> {
        let name = component(name)?;
        let dir = self.dirs.open(&self.fs, root, path)?;
        // Anything but a symlink is refused by the call itself (EINVAL).
        Ok(self.fs.read_link(dir, name)?.into_encoded_bytes())
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned())
}

/// `bytes` as one path component: not empty, `.` or `..`, no separator.
fn component(bytes: &[u8]) -> io::Result<&OsStr> {
    if bytes.is_empty()
        || bytes == b"."
        || bytes == b".."
        || bytes.contains(&b'/')
        || bytes.contains(&0)
    {
        return Err(invalid("not a single name"));
    }
    os_str(bytes)
}

/// On Unix a name is any bytes.
#[cfg(unix)]
fn os_str(bytes: &[u8]) -> io::Result<&OsStr> {
    Ok(std::os::unix::ffi::OsStrExt::from_bytes(bytes))
}

/// Elsewhere only names that are UTF-8 can be named from the guest.
#[cfg(not(unix))]
fn os_str(bytes: &[u8]) -> io::Result<&OsStr> {
    std::str::from_utf8(bytes)
        .map(OsStr::new)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidFilename, "name is not UTF-8"))
}

/// The guest's linear memory, for reading arguments and writing answers.
fn memory<T>(caller: &mut Caller<'_, T>) -> Option<Memory> {
    caller.get_export("memory")?.into_memory()
}

/// Reads `len` bytes at `ptr` from the guest; `None` if out of bounds.
fn read<T>(caller: &mut Caller<'_, T>, mem: Memory, ptr: u32, len: u32) -> Option<Vec<u8>> {
    let start = usize::try_from(ptr).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    mem.data(caller).get(start..end).map(<[u8]>::to_vec)
}

/// The guest's memory, and the directory path and the name a call passed
/// (each a pointer and a length); `None` if either lies outside the memory.
fn args<T>(
    c: &mut Caller<'_, T>,
    (dp, dl): (u32, u32),
    (np, nl): (u32, u32),
) -> Option<(Memory, Vec<u8>, Vec<u8>)> {
    let mem = memory(c)?;
    Some((mem, read(c, mem, dp, dl)?, read(c, mem, np, nl)?))
}

/// Writes `bytes` at `ptr` if they fit in `cap`; returns the length (which,
/// when larger than `cap`, tells the guest how big a buffer to bring).
fn answer<T>(
    caller: &mut Caller<'_, T>,
    mem: Memory,
    ptr: u32,
    cap: u32,
    r: io::Result<Vec<u8>>,
) -> i64 {
    let bytes = match r {
        Ok(b) => b,
        Err(e) => return i64::from(abi::error_code(e.kind())),
    };
    if bytes.len() > cap as usize {
        return bytes.len() as i64;
    }
    match mem.write(caller, ptr as usize, &bytes) {
        Ok(()) => bytes.len() as i64,
        Err(_) => i64::from(abi::error_code(io::ErrorKind::InvalidInput)),
    }
}

const OUT_OF_BOUNDS: i64 = -5;

/// Defines `request`, `list`, `lstat`, `set_mode`, `sync_dir` and `readlink` in `linker`; `get` finds the
/// [`HostFs`] in the store's data.
pub(crate) fn add_to_linker<T: 'static, F: Fs + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut HostFs<F>,
) -> anyhow::Result<()> {
    debug_assert_eq!(
        OUT_OF_BOUNDS,
        i64::from(abi::error_code(io::ErrorKind::InvalidInput))
    );
    add_reads(linker, get)?;
    add_rest(linker, get)
}

/// `request`, `list` and `lstat`.
fn add_reads<T: 'static, F: Fs + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut HostFs<F>,
) -> anyhow::Result<()> {
    linker.func_wrap(
        MODULE,
        abi::REQUEST,
        move |mut c: Caller<'_, T>, out: u32, cap: u32| -> i64 {
            let Some(mem) = memory(&mut c) else {
                return OUT_OF_BOUNDS;
            };
            let r = Ok(get(c.data_mut()).request.clone());
            answer(&mut c, mem, out, cap, r)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "list",
        move |mut c: Caller<'_, T>, root: u32, dp: u32, dl: u32, out: u32, cap: u32| -> i64 {
            let Some((mem, dir, _)) = args(&mut c, (dp, dl), (0, 0)) else {
                return OUT_OF_BOUNDS;
            };
            let r = get(c.data_mut()).list(root, &dir, cap as usize);
            answer(&mut c, mem, out, cap, r)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "lstat",
        move |mut c: Caller<'_, T>,
              root: u32,
              dp: u32,
              dl: u32,
              np: u32,
              nl: u32,
              out: u32|
              -> i32 {
            let Some((mem, dir, name)) = args(&mut c, (dp, dl), (np, nl)) else {
                return OUT_OF_BOUNDS as i32;
            };
            let r = get(c.data_mut()).lstat(root, &dir, &name);
            let n = answer(&mut c, mem, out, abi::META_LEN as u32, r);
            if n < 0 { n as i32 } else { 0 }
        },
    )?;
    Ok(())
}

/// `set_mode` and `sync_dir` (refused in a read-only run) and `readlink`.
fn add_rest<T: 'static, F: Fs + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut HostFs<F>,
) -> anyhow::Result<()> {
    linker.func_wrap(
        MODULE,
        "set_mode",
        move |mut c: Caller<'_, T>,
              root: u32,
              dp: u32,
              dl: u32,
              np: u32,
              nl: u32,
              mode: u32|
              -> i32 {
            let Some((_, dir, name)) = args(&mut c, (dp, dl), (np, nl)) else {
                return OUT_OF_BOUNDS as i32;
            };
            match get(c.data_mut()).set_mode(root, &dir, &name, mode) {
                Ok(()) => 0,
                Err(e) => abi::error_code(e.kind()),
            }
        },
    )?;
    linker.func_wrap(
        MODULE,
        "sync_dir",
        move |mut c: Caller<'_, T>, root: u32, dp: u32, dl: u32| -> i32 {
            let Some((_, dir, _)) = args(&mut c, (dp, dl), (0, 0)) else {
                return OUT_OF_BOUNDS as i32;
            };
            match get(c.data_mut()).sync_dir(root, &dir) {
                Ok(()) => 0,
                Err(e) => abi::error_code(e.kind()),
            }
        },
    )?;
    linker.func_wrap(
        MODULE,
        "readlink",
        move |mut c: Caller<'_, T>,
              root: u32,
              dp: u32,
              dl: u32,
              np: u32,
              nl: u32,
              out: u32,
              cap: u32|
              -> i64 {
            let Some((mem, dir, name)) = args(&mut c, (dp, dl), (np, nl)) else {
                return OUT_OF_BOUNDS;
            };
            let r = get(c.data_mut()).readlink(root, &dir, &name);
            answer(&mut c, mem, out, cap, r)
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::component;

    #[test]
    fn only_single_names_cross_from_the_guest() {
        for bad in [&b""[..], b".", b"..", b"a/b", b"/etc", b"a\0b"] {
            assert!(component(bad).is_err(), "{bad:?} must be refused");
        }
        for good in [&b"a"[..], b"...", b".hidden", b"\xff"] {
            assert!(component(good).is_ok(), "{good:?} is a name");
        }
    }
}
