//! The host's imports (see `stagemerge_core::abi`), wrapped
//! in safe functions. This is the guest's only `unsafe`.

use std::ffi::OsString;
use std::io;
use std::os::wasi::ffi::OsStringExt;

use stagemerge_core::abi::{self, META_LEN};
use stagemerge_core::{Entry, Meta};

#[link(wasm_import_module = "stagemerge")]
unsafe extern "C" {
    #[link_name = "request"]
    fn host_request(out: *mut u8, cap: usize) -> i64;
    #[link_name = "list"]
    fn host_list(root: u32, dir: *const u8, dir_len: usize, out: *mut u8, cap: usize) -> i64;
    #[link_name = "lstat"]
    fn host_lstat(
        root: u32,
        dir: *const u8,
        dir_len: usize,
        name: *const u8,
        name_len: usize,
        out: *mut u8,
    ) -> i32;
    #[link_name = "set_mode"]
    fn host_set_mode(
        root: u32,
        dir: *const u8,
        dir_len: usize,
        name: *const u8,
        name_len: usize,
        mode: u32,
    ) -> i32;
    #[link_name = "sync_dir"]
    fn host_sync_dir(root: u32, dir: *const u8, dir_len: usize) -> i32;
    #[link_name = "readlink"]
    fn host_readlink(
        root: u32,
        dir: *const u8,
        dir_len: usize,
        name: *const u8,
        name_len: usize,
        out: *mut u8,
        cap: usize,
    ) -> i64;
}

/// Calls `f` with a buffer of growing size until what it reports needing
/// fits; a listing is relisted at most a few times, never once per entry.
fn with_growing_buffer(mut f: impl FnMut(&mut [u8]) -> i64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f(&mut buf);
        if n < 0 {
            return Err(abi::error_from_code(n));
        }
        let n = n as usize;
        if n <= buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        buf = vec![0u8; n];
    }
}

/// What the host asks this run to do.
pub(crate) fn request() -> io::Result<abi::Request> {
    // SAFETY: the host writes at most `buf.len()` bytes into `buf`.
    let bytes = with_growing_buffer(|buf| unsafe { host_request(buf.as_mut_ptr(), buf.len()) })?;
    abi::Request::decode(&bytes)
}

/// The entries of the directory `dir` (a path below preopen `root`).
pub(crate) fn list(root: u32, dir: &[u8]) -> io::Result<Vec<Entry>> {
    let bytes = with_growing_buffer(|buf| {
        // SAFETY: both pointers name live slices of the stated lengths; the
        // host writes at most `buf.len()` bytes into `buf`.
        unsafe { host_list(root, dir.as_ptr(), dir.len(), buf.as_mut_ptr(), buf.len()) }
    })?;
    abi::decode_entries(&bytes, |b| OsString::from_vec(b.to_vec()))
}

/// `lstat` of `dir/name` below preopen `root`; an empty `name` is `dir`.
pub(crate) fn lstat(root: u32, dir: &[u8], name: &[u8]) -> io::Result<Meta> {
    let mut out = [0u8; META_LEN];
    // SAFETY: the input slices are live for the call; the host writes
    // exactly META_LEN bytes into `out`, which has that size.
    let r = unsafe {
        host_lstat(
            root,
            dir.as_ptr(),
            dir.len(),
            name.as_ptr(),
            name.len(),
            out.as_mut_ptr(),
        )
    };
    if r < 0 {
        return Err(abi::error_from_code(i64::from(r)));
    }
    Ok(abi::decode_meta(&out))
}

/// The text of the symlink `dir/name` below preopen `root`, absolute or not.
pub(crate) fn readlink(root: u32, dir: &[u8], name: &[u8]) -> io::Result<OsString> {
    let bytes = with_growing_buffer(|buf| {
        // SAFETY: as in `list`.
        unsafe {
            host_readlink(
                root,
                dir.as_ptr(),
                dir.len(),
                name.as_ptr(),
                name.len(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        }
    })?;
    Ok(OsString::from_vec(bytes))
}

/// Sets the permission bits of the directory `dir/name` below preopen `root`
/// (refused by the host in a read-only run).
pub(crate) fn set_mode(root: u32, dir: &[u8], name: &[u8], mode: u32) -> io::Result<()> {
    // SAFETY: the slices are live for the call and only read by the host.
    let r = unsafe {
        host_set_mode(
            root,
            dir.as_ptr(),
            dir.len(),
            name.as_ptr(),
            name.len(),
            mode,
        )
    };
    if r < 0 {
        return Err(abi::error_from_code(i64::from(r)));
    }
    Ok(())
}

/// Makes the directory `dir` below preopen `root` durable (its renames and
/// unlinks): WASI preview 1 cannot sync a directory itself.
pub(crate) fn sync_dir(root: u32, dir: &[u8]) -> io::Result<()> {
    // SAFETY: the slice is live for the call and only read by the host.
    let r = unsafe { host_sync_dir(root, dir.as_ptr(), dir.len()) };
    if r < 0 {
        return Err(abi::error_from_code(i64::from(r)));
    }
    Ok(())
}
