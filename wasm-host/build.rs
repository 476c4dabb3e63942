//! Builds the guest (stagemerge-core's `stagemerge-guest` binary, the core as
//! a WASI command, from wherever cargo unpacked that package) for
//! `wasm32-wasip1` with a nested cargo, and hands its bytes and their
//! SHA-256 to the crate.
//!
//! The nested cargo gets a clean environment (the outer build's `CARGO_*`,
//! `RUSTFLAGS` and target settings would otherwise leak into a build for
//! another target), its own target directory (the outer one is locked while
//! this script runs), and the outer jobserver through `CARGO_MAKEFLAGS`, so
//! both together never run more jobs than asked.

use std::env;
use std::path::PathBuf;
use std::process::Command;

use sha2::{Digest, Sha256};

/// Variables passed through to the nested cargo; everything else is dropped.
const KEEP: &[&str] = &[
    "PATH",
    "HOME",
    "TMPDIR",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "CARGO_MAKEFLAGS",
    "CARGO_NET_OFFLINE",
    "CARGO_HTTP_CAINFO",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "http_proxy",
    "https_proxy",
    "HTTPS_PROXY",
    "no_proxy",
];

fn main() {
    // Where cargo unpacked stagemerge-core (the workspace's `core/`, or a
    // registry's source cache): its build script says so through `links`.
    let core = PathBuf::from(
        env::var_os("DEP_STAGEMERGE_CORE_MANIFEST_DIR")
            .expect("stagemerge-core's build script sets manifest_dir"),
    );
    for p in ["src", "guest", "Cargo.toml", "Cargo.lock"] {
        let path = core.join(p);
        // A path that does not exist would rerun this script every time.
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    // The workspace shares one guest target directory between its profiles
    // (`.cargo/config.toml`); a package built on its own uses OUT_DIR.
    println!("cargo:rerun-if-env-changed=STAGEMERGE_GUEST_TARGET_DIR");
    let target_dir = env::var_os("STAGEMERGE_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| out.join("guest-target"));

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.env_clear();
    for k in KEEP {
        if let Some(v) = env::var_os(k) {
            cmd.env(k, v);
        }
    }
    cmd.args([
        "build",
        "--release",
        "--locked",
        "--target",
        "wasm32-wasip1",
    ])
    .args(["--bin", "stagemerge-guest", "--features", "guest"])
    // The guest aborts on panic (no unwinding tables in the module).
    .args(["--config", "profile.release.panic=\"abort\""])
    .arg("--manifest-path")
    .arg(core.join("Cargo.toml"))
    .arg("--target-dir")
    .arg(&target_dir);
    let status = cmd.status().expect("run cargo for the guest");
    if !status.success() {
        panic!(
            "building the sandbox guest for wasm32-wasip1 failed (see above). If the target \
             is missing: rustup target add wasm32-wasip1"
        );
    }
    let wasm = target_dir.join("wasm32-wasip1/release/stagemerge-guest.wasm");
    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| panic!("read {}: {e}", wasm.display()));
    let copy = out.join("stagemerge-guest.wasm");
    std::fs::write(&copy, &bytes).unwrap_or_else(|e| panic!("write {}: {e}", copy.display()));
    println!("cargo:rustc-env=STAGEMERGE_GUEST_WASM={}", copy.display());
    println!(
        "cargo:rustc-env=STAGEMERGE_GUEST_SHA256={}",
        hex::encode(Sha256::digest(&bytes))
    );
}
