//! `floor [--fsync-each|--syncfs|--syncfs-both] [--replace|--fresh] STAGE TARGET`: the
//! least work a merge of STAGE into TARGET can do. By default TARGET already
//! has every directory: one `renameat2(RENAME_NOREPLACE)` per non-directory,
//! found by reading each staged directory once. `--replace`: a plain rename
//! over each file (a reinstall that replaces every file). `--fresh`: TARGET
//! is empty: one rename per top-level entry. No classification, no checks,
//! no report.
//!
//! `--link` places each file by `linkat` + `unlinkat` instead, one after
//! the other: the floor on a filesystem that refuses the no-replace flag
//! (a network filesystem's client, bench/netfs.py).
//!
//! `--spec` adds the calls SPEC.md's rules require and nothing else: an
//! `lstat` of TARGET's entry and of the staged one before a rename over (to
//! classify it and to compare), an `fstat` of each TARGET directory entered,
//! and the removal of each emptied staged directory.
//!
//! `--fsync-each` adds what a tool that makes each file durable on its own
//! pays: an fsync of every placed file, then of every touched directory.
//! `--syncfs` adds one `syncfs` of TARGET's filesystem at the end.
//! `--syncfs-both` also one of STAGE's before the first rename: what a
//! merge must pay so that no staged file gets a name in TARGET before its
//! data is on disk (`merge --sync`).
#![forbid(unsafe_code)]

use std::ffi::{CString, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStringExt;
use std::process::ExitCode;

use rustix::fs::{FileType, Mode, OFlags, RenameFlags};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Overlay,
    Replace,
    Fresh,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    None,
    FsyncEach,
    Syncfs,
    SyncfsBoth,
}

fn open_dir(at: Option<&OwnedFd>, name: &CString) -> rustix::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match at {
        Some(d) => rustix::fs::openat(d, name.as_c_str(), flags, Mode::empty()),
        None => rustix::fs::open(name.as_c_str(), flags, Mode::empty()),
    }
}

fn merge(
    stage: &OwnedFd,
    target: &OwnedFd,
    how: Durability,
    shape: Shape,
    spec: bool,
    link: bool,
) -> rustix::io::Result<u64> {
    let mut placed = 0;
    let mut names = Vec::new();
    // getdents64 on the handle itself, as stagemerge lists on Linux.
    let mut buf = vec![std::mem::MaybeUninit::<u8>::uninit(); 32 * 1024];
    let mut raw = rustix::fs::RawDir::new(stage, &mut buf);
    while let Some(e) = raw.next() {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push((CString::new(n).expect("no NUL in a name"), e.file_type()));
        }
    }
    for (name, ty) in names {
        if ty == FileType::Directory {
            let (s, t) = (
                open_dir(Some(stage), &name)?,
                open_dir(Some(target), &name)?,
            );
            if spec {
                rustix::fs::fstat(&t)?;
            }
            placed += merge(&s, &t, how, shape, spec, link)?;
            if spec {
                drop(s);
                rustix::fs::unlinkat(stage, &name, rustix::fs::AtFlags::REMOVEDIR)?;
            }
            if how == Durability::FsyncEach {
                rustix::fs::fsync(&t)?;
            }
        } else {
            let flags = if shape == Shape::Replace {
                RenameFlags::empty()
            } else {
                RenameFlags::NOREPLACE
            };
            if spec && shape == Shape::Replace {
                // Classify TARGET's entry and compare with the staged one.
                let nofollow = rustix::fs::AtFlags::SYMLINK_NOFOLLOW;
                rustix::fs::statat(target, &name, nofollow)?;
                rustix::fs::statat(stage, &name, nofollow)?;
            }
            if link && shape != Shape::Replace {
                // A name another package placed first stays: one attempt,
                // and the staged file is left.
                match rustix::fs::linkat(stage, &name, target, &name, rustix::fs::AtFlags::empty())
                {
                    Ok(()) => rustix::fs::unlinkat(stage, &name, rustix::fs::AtFlags::empty())?,
                    Err(rustix::io::Errno::EXIST) => continue,
                    Err(e) => return Err(e),
                }
            } else {
                rustix::fs::renameat_with(stage, &name, target, &name, flags)?;
            }
            if how == Durability::FsyncEach {
                let f = rustix::fs::openat(
                    target,
                    &name,
                    OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                    Mode::empty(),
                )?;
                rustix::fs::fsync(&f)?;
            }
            placed += 1;
        }
    }
    Ok(placed)
}

fn main() -> ExitCode {
    let mut how = Durability::None;
    let mut shape = Shape::Overlay;
    let mut spec = false;
    let mut link = false;
    let mut roots = Vec::new();
    for a in std::env::args_os().skip(1) {
        match a.to_str() {
            Some("--fsync-each") => how = Durability::FsyncEach,
            Some("--syncfs") => how = Durability::Syncfs,
            Some("--syncfs-both") => how = Durability::SyncfsBoth,
            Some("--replace") => shape = Shape::Replace,
            Some("--fresh") => shape = Shape::Fresh,
            Some("--spec") => spec = true,
            Some("--link") => link = true,
            _ => roots.push(a),
        }
    }
    let [stage, target]: [OsString; 2] = match roots.try_into() {
        Ok(r) => r,
        Err(_) => {
            eprintln!(
                "usage: floor [--fsync-each|--syncfs|--syncfs-both] [--replace|--fresh] [--spec] [--link] STAGE TARGET"
            );
            return ExitCode::from(2);
        }
    };
    let c = |p: OsString| CString::new(p.into_vec()).expect("no NUL in a path");
    let run = || -> rustix::io::Result<u64> {
        let (s, t) = (open_dir(None, &c(stage))?, open_dir(None, &c(target))?);
        if how == Durability::SyncfsBoth {
            rustix::fs::syncfs(&s)?;
        }
        let n = merge(&s, &t, how, shape, spec, link)?;
        match how {
            Durability::Syncfs | Durability::SyncfsBoth => rustix::fs::syncfs(&t)?,
            Durability::FsyncEach => rustix::fs::fsync(&t)?,
            Durability::None => {}
        }
        Ok(n)
    };
    match run() {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floor: {e}");
            ExitCode::FAILURE
        }
    }
}
