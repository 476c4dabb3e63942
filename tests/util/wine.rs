//! Running the Windows build of `stagemerge` under Wine ([`Prim::Wine`]).
//!
//! `tests/run-all.sh` builds `stagemerge.exe` for `x86_64-pc-windows-gnu`,
//! prepares a Wine prefix and runs the `windows::` tests with
//! `STAGEMERGE_WINDOWS_EXE` naming the executable (and `WINEPREFIX`, and
//! `STAGEMERGE_WINE` the loader, when not `wine`). Wine maps the host's `/`
//! to drive `Z:`, so the fixtures' host paths name the same directories to
//! the Windows program.
//!
//! [`Prim::Wine`]: super::Prim::Wine

use std::path::PathBuf;
use std::process::Command;

/// Why a Windows scenario that needs symlinks is skipped under Wine.
pub const NO_SYMLINKS: &str = "Wine 8 shows a host symlink as the file or directory it points to \
     (it has no reparse points), so no symlink reaches the Windows program; pinned by \
     windows::wine_shows_host_symlinks_as_their_targets";

/// Why the Linux test of a tree deeper than PATH_MAX is skipped under Wine.
pub const SHORT_PATHS: &str = "Wine 8's GetFinalPathNameByHandleW reads the name into a \
     buffer of MAX_PATH characters and fails with ERROR_MORE_DATA (os error 234) beyond it, \
     and cap-std lists a directory by that name; Windows itself allows 32,767. A tree as \
     deep as Wine allows runs instead (windows::deep_tree_within_wines_path_limit_...)";

/// Why a scenario about permission bits is skipped under Wine.
pub const NO_MODES: &str = "Windows has no permission bits: the shim reports no mode, so a \
     difference in mode alone is no difference there";

/// The Windows executable the test command built.
pub fn exe() -> PathBuf {
    match std::env::var_os("STAGEMERGE_WINDOWS_EXE") {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "STAGEMERGE_WINDOWS_EXE is not set: the windows:: tests are run by \
             tests/run-all.sh, which builds stagemerge.exe and prepares Wine"
        ),
    }
}

/// `wine stagemerge.exe`, with Wine's diagnostics down to its errors:
/// none in a normal run (the tests compare stderr byte for byte), and a
/// failure of Wine itself then shows beside the program's output.
/// `STAGEMERGE_WINEDEBUG` sets `WINEDEBUG` instead, to look into Wine.
pub fn command() -> Command {
    let loader = std::env::var_os("STAGEMERGE_WINE").unwrap_or_else(|| "wine".into());
    let debug = std::env::var_os("STAGEMERGE_WINEDEBUG").unwrap_or_else(|| "err+all".into());
    let mut c = Command::new(loader);
    c.arg(exe()).env("WINEDEBUG", debug);
    c.env_remove("STAGEMERGE_FORCE_FALLBACK");
    c
}

/// Says that the test `name` is skipped under Wine and why; the test
/// command counts these lines.
pub fn skip(name: &str, reason: &str) {
    eprintln!("skipped under Wine: {name}: {reason}");
}
