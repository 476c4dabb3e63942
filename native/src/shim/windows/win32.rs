//! The Win32 calls std and cap-std do not offer: a move that refuses to
//! replace (`MoveFileExW` without `MOVEFILE_REPLACE_EXISTING`), an entry's
//! change time, and asking whether a process still runs. The binary's only
//! `unsafe`.
#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::io;
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::io::AsRawHandle;
use std::path::PathBuf;

use cap_std::fs::Dir;
use stagemerge_core::Stamp;
use windows_sys::Win32::Foundation::{CloseHandle, STILL_ACTIVE};
use windows_sys::Win32::Storage::FileSystem::{
    FILE_BASIC_INFO, FileBasicInfo, GetFileInformationByHandleEx, GetFinalPathNameByHandleW,
    MoveFileExW,
};
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

/// When the entry open as `handle` last changed: its data, name, links or
/// attributes (NTFS's ChangeTime, which Unix calls ctime; a rename sets
/// it, a copy of times does not). The concurrency rule and the clobber
/// store's stale-lock test read it. None when Windows does not say.
pub(super) fn change_time(handle: &impl AsRawHandle) -> Option<Stamp> {
    let mut info = FILE_BASIC_INFO {
        CreationTime: 0,
        LastAccessTime: 0,
        LastWriteTime: 0,
        ChangeTime: 0,
        FileAttributes: 0,
    };
    // SAFETY: the handle is live for the call; `info` is a writable
    // FILE_BASIC_INFO of the stated size, the class FileBasicInfo asks for.
    let ok = unsafe {
        GetFileInformationByHandleEx(
            handle.as_raw_handle(),
            FileBasicInfo,
            (&raw mut info).cast(),
            std::mem::size_of::<FILE_BASIC_INFO>() as u32,
        )
    };
    if ok == 0 || info.ChangeTime <= 0 {
        return None;
    }
    // 100-nanosecond ticks since 1601-01-01.
    const TICKS: i64 = 10_000_000;
    const FROM_1601: i64 = 11_644_473_600;
    Some(Stamp {
        secs: info.ChangeTime / TICKS - FROM_1601,
        nanos: (info.ChangeTime % TICKS) as u32 * 100,
    })
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
