//! The two Win32 calls std and cap-std do not offer: a move that refuses to
//! replace (`MoveFileExW` without `MOVEFILE_REPLACE_EXISTING`), and asking
//! whether a process still runs. The binary's only `unsafe`.
#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::io;
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::io::AsRawHandle;
use std::path::PathBuf;

use cap_std::fs::Dir;
use windows_sys::Win32::Foundation::{CloseHandle, STILL_ACTIVE};
use windows_sys::Win32::Storage::FileSystem::{GetFinalPathNameByHandleW, MoveFileExW};
use windows_sys::Win32::System::Threading::{
    GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
};

/// The full path of an open directory (`\\?\C:\...`).
fn path_of(dir: &Dir) -> io::Result<PathBuf> {
    let mut buf = vec![0u16; 512];
    loop {
        // SAFETY: the handle is the live handle of `dir`; the buffer is
        // writable for its stated length.
        let n = unsafe {
            GetFinalPathNameByHandleW(dir.as_raw_handle(), buf.as_mut_ptr(), buf.len() as u32, 0)
        } as usize;
        if n == 0 {
            return Err(io::Error::last_os_error());
        }
        if n < buf.len() {
            return Ok(std::ffi::OsString::from_wide(&buf[..n]).into());
        }
        buf.resize(n + 1, 0);
    }
}

fn wide(p: &std::path::Path) -> Vec<u16> {
    p.as_os_str().encode_wide().chain([0]).collect()
}

/// Moves `from/from_name` to `to/to_name` unless `to_name` exists
/// (`AlreadyExists`). The directories are named by their full paths, so a
/// directory renamed meanwhile makes this fail rather than move elsewhere.
pub(super) fn move_noreplace(
    from: &Dir,
    from_name: &OsStr,
    to: &Dir,
    to_name: &OsStr,
) -> io::Result<()> {
    let src = wide(&path_of(from)?.join(from_name));
    let dst = wide(&path_of(to)?.join(to_name));
    // SAFETY: both are NUL-terminated wide strings that outlive the call.
    let ok = unsafe { MoveFileExW(src.as_ptr(), dst.as_ptr(), 0) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether the process `pid` still runs (unknown counts as running).
pub(super) fn process_alive(pid: u32) -> bool {
    // SAFETY: OpenProcess takes plain values; a null handle means failure.
    let h = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if h.is_null() {
        // No such process, or not ours to ask: only the first is "gone".
        return io::Error::last_os_error().raw_os_error() != Some(87);
    }
    let mut code = 0u32;
    // SAFETY: `h` is the handle just opened; `code` is a valid out pointer.
    let ok = unsafe { GetExitCodeProcess(h, &mut code) };
    // SAFETY: `h` is open and closed exactly once.
    unsafe { CloseHandle(h) };
    ok == 0 || code == STILL_ACTIVE as u32
}
