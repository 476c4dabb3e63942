//! The front end's side of `--sandbox`: finds `stagemerge-sandbox` beside
//! the running binary, writes the request to its stdin and passes its exit
//! status on.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use anyhow::{Context, Result, bail};
use stagemerge_core::Options;
use stagemerge_core::abi::{Command, RecordsRequest, Request};
use stagemerge_core::outcome::Printing;

use super::Access;
use crate::exit::Exit;

/// The helper's file name (with the platform's executable suffix).
const HELPER: &str = "stagemerge-sandbox";

/// Runs `command` in the sandbox on the two roots (already opened and
/// checked by the caller), with the options and printing the front end
/// validated; the guest's exit status is ours.
pub(crate) fn run(
    command: Command,
    options: &Options,
    printing: Printing,
    (stage, target): (&Path, &Path),
    access: Access,
) -> Result<Exit> {
    run_with(
        command,
        options,
        printing,
        (stage, target),
        access,
        None,
        &[],
    )
}

/// [`run`] for a merge with records: `records` names each directory by its
/// index in `dirs`, preopened after the two roots.
pub(crate) fn run_with(
    command: Command,
    options: &Options,
    printing: Printing,
    (stage, target): (&Path, &Path),
    access: Access,
    records: Option<RecordsRequest>,
    dirs: &[PathBuf],
) -> Result<Exit> {
    let request = Request {
        command,
        options: options.clone(),
        printing,
        stage: stage.to_owned(),
        target: target.to_owned(),
        records,
    };
    let code = spawn(access, (stage, target), dirs, &request)?;
    Ok(match code {
        0 => Exit::Ok,
        1 => Exit::Problems,
        _ => Exit::NothingDone,
    })
}

/// A command on records (`verify`, `uninstall`, `owner`) to run in the
/// sandbox: TARGET, and the record's directory and the directory of
/// records as preopens.
pub(crate) struct RecordsCommand<'a> {
    /// The command, with its flags.
    pub(crate) command: Command,
    /// TARGET as the user named it.
    pub(crate) target: &'a Path,
    /// The record the command reads (verify, uninstall).
    pub(crate) record: Option<&'a Path>,
    /// The directory of records (uninstall, owner).
    pub(crate) dir: Option<&'a Path>,
    /// The rules records are read by.
    pub(crate) reader: &'a crate::records::Reader,
    /// What the guest may do to the preopens.
    pub(crate) access: Access,
}

/// Runs `c` in the sandbox: the guest runs the same core command as the
/// native binary and prints the same bytes. TARGET is preopened as both
/// roots (there is no STAGE).
pub(crate) fn run_records(c: RecordsCommand<'_>) -> Result<Exit> {
    use stagemerge_core::abi::{BookRequest, DirRequest, extra_root};
    use stagemerge_core::record::Record;
    use stagemerge_core::record::file::WriteFormat;
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut root = |dir: PathBuf| {
        dirs.push(dir);
        extra_root(dirs.len() - 1).0
    };
    let mut books = Vec::new();
    if let Some(record) = c.record {
        let (dir, name) = crate::records::located(record)?;
        books.push(BookRequest {
            root: root(dir),
            name: name.into_encoded_bytes(),
            shown: record.to_owned(),
            // Only read: the format is told by the bytes.
            format: WriteFormat::Json,
        });
    }
    let dir = match c.dir {
        Some(d) => {
            let real = d
                .canonicalize()
                .with_context(|| format!("resolve the directory of records {}", d.display()))?;
            let skip = c.record.map(|r| crate::records::names_in(d, &[r]));
            Some(DirRequest {
                root: root(real),
                shown: d.to_owned(),
                own: skip
                    .unwrap_or_default()
                    .into_iter()
                    .map(|n| n.into_encoded_bytes())
                    .collect(),
            })
        }
        None => None,
    };
    let records = RecordsRequest {
        level: Record::Off,
        reserved: c.reader.reserved().clone(),
        books,
        dir,
    };
    run_with(
        c.command,
        &Options::default(),
        Printing::default(),
        (c.target, c.target),
        c.access,
        Some(records),
        &dirs,
    )
}

/// `stagemerge sandbox-probe`: the guest's write probe on the two roots;
/// success only if every write was refused.
pub(crate) fn probe(a: &crate::cli::ProbeArgs) -> Result<Exit> {
    crate::shim::open_root(&a.stage, "STAGE")?;
    crate::shim::open_root(&a.target, "TARGET")?;
    let access = if a.writable {
        Access::ReadWrite
    } else {
        Access::ReadOnly
    };
    let command = Command::ProbeWrites {
        file: a.file.clone(),
        dir: a.dir.clone(),
    };
    let request = Request {
        command,
        options: Options::default(),
        printing: Printing::default(),
        stage: a.stage.clone(),
        target: a.target.clone(),
        records: None,
    };
    let code = spawn(access, (&a.stage, &a.target), &[], &request)?;
    Ok(if code == 0 { Exit::Ok } else { Exit::Problems })
}

/// The helper installed with this binary: same directory, so that
/// `cargo install`, the wheel and a checkout's `target/` all find theirs,
/// and never another version from PATH.
fn helper() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("find the running stagemerge binary")?;
    let path = exe.with_file_name(format!("{HELPER}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        bail!(
            "--sandbox needs {}, installed with stagemerge (built with the cargo feature \
             \"sandbox\"); it is not there",
            path.display()
        );
    }
    Ok(path)
}

/// Starts the helper with the encoded request on its stdin and waits. The
/// roots travel as arguments too: the request carries their names for
/// messages only (lossily where they are not UTF-8), the helper opens these.
fn spawn(
    access: Access,
    (stage, target): (&Path, &Path),
    dirs: &[PathBuf],
    request: &Request,
) -> Result<i32> {
    let path = helper()?;
    let mut child = Process::new(&path)
        .arg(access.as_arg())
        .arg(stage)
        .arg(target)
        .args(dirs)
        .stdin(Stdio::piped())
        .spawn()
        .with_context(|| format!("start {}", path.display()))?;
    let mut stdin = child.stdin.take().expect("stdin was piped");
    // A helper that died early closes the pipe: its status says why.
    let wrote = stdin.write_all(&request.encode());
    drop(stdin);
    let status = child
        .wait()
        .with_context(|| format!("wait for {}", path.display()))?;
    match status.code() {
        Some(code) => Ok(code),
        None => {
            wrote.with_context(|| format!("hand the request to {}", path.display()))?;
            bail!("{} ended without an exit status ({status})", path.display())
        }
    }
}
