//! The guest compiled once, then loaded in about a millisecond.
//!
//! Compiling the guest with Cranelift takes a few hundred milliseconds; a
//! precompiled artifact (`Engine::precompile_module`) loads with
//! `Module::deserialize_file`, which maps it. Artifacts are kept in a cache
//! directory under a name made of the guest's SHA-256 and the engine's
//! compatibility hash, so a changed guest or a different Wasmtime build or
//! configuration never loads a stale artifact; Wasmtime checks the header of
//! what it loads as well, and anything it refuses is compiled afresh.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use wasmtime::{Engine, Module};

use crate::wt;

/// Where the module came from on this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Loaded from the precompiled artifact in the cache.
    Cached,
    /// Compiled on this run (and stored in the cache when it is writable).
    Compiled,
}

/// The cache directory: `$STAGEMERGE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/stagemerge`, else `%LOCALAPPDATA%\stagemerge` (set on
/// Windows only, where `HOME` usually is not: without it every sandboxed run
/// compiled the guest again, 8 s under Wine), else `$HOME/.cache/stagemerge`.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |k| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("STAGEMERGE_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("stagemerge")))
        .or_else(|| var("LOCALAPPDATA").map(|d| d.join("stagemerge")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("stagemerge")))
}

/// The artifact's file name for this guest (`guest_sha256`, hex) and engine.
fn artifact_name(engine: &Engine, guest_sha256: &str) -> String {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("guest-{}-{:016x}.cwasm", &guest_sha256[..16], h.finish())
}

/// The guest module for `engine`: from the cache if a matching artifact is
/// there, else compiled from `wasm` and cached.
pub(crate) fn load(engine: &Engine, wasm: &[u8], guest_sha256: &str) -> Result<(Module, Origin)> {
    let path = cache_dir().map(|d| d.join(artifact_name(engine, guest_sha256)));
    if let Some(p) = path.as_ref().filter(|p| p.is_file()) {
        match deserialize(engine, p) {
            Ok(m) => {
                log::debug!("sandbox guest loaded precompiled from {}", p.display());
                return Ok((m, Origin::Cached));
            }
            Err(e) => log::debug!("{} not loaded ({e:#}): compiling again", p.display()),
        }
    }
    let artifact = wt(engine.precompile_module(wasm), "compile the sandbox guest")?;
    if let Some(p) = &path {
        // A cache that cannot be written only costs the next run a compile.
        match store(p, &artifact) {
            Ok(()) => log::debug!("sandbox guest compiled and cached at {}", p.display()),
            Err(e) => log::debug!("sandbox guest compiled; not cached at {}: {e}", p.display()),
        }
    }
    Ok((deserialize_fresh(engine, &artifact)?, Origin::Compiled))
}

/// Loads an artifact this module wrote.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> Result<Module> {
    // SAFETY: `deserialize_file` trusts that the file is an artifact made by
    // `Engine::precompile_module` of a compatible engine and not modified
    // since. Only `store` writes these names, whole (temporary + rename),
    // in the user's own cache directory; the name carries the engine's
    // compatibility hash, and Wasmtime itself rejects a foreign header.
    let mapped = wt(
        unsafe { Module::deserialize_file(engine, path) },
        "load the precompiled guest",
    );
    // Wine maps the file but refuses to make the mapping read-only
    // (`VirtualProtect`: access denied), so every run compiled the guest
    // again (8 s in a debug build): read the artifact into memory instead.
    mapped.or_else(|e| {
        log::debug!("{e:#}: reading it instead");
        let bytes = std::fs::read(path).context("read the precompiled guest")?;
        // SAFETY: as above; the bytes are the file's.
        wt(
            unsafe { Module::deserialize(engine, &bytes) },
            "load the precompiled guest",
        )
    })
}

/// Loads an artifact just made by `precompile_module` in this process.
#[allow(unsafe_code)]
fn deserialize_fresh(engine: &Engine, artifact: &[u8]) -> Result<Module> {
    // SAFETY: the bytes are the unmodified output of this engine's
    // `precompile_module`, which is what `deserialize` requires.
    wt(
        unsafe { Module::deserialize(engine, artifact) },
        "load the compiled guest",
    )
}

/// Writes `bytes` to `path` whole: a temporary in the same directory, synced,
/// then renamed over.
fn store(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("artifact paths have a directory");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("guest")
    ));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
