//! Builds the guest (`../guest`, the core as a WASI command) for
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
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.parent().expect("wasm-host sits in the workspace");
    let guest = root.join("guest");
    for p in ["src", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", guest.join(p).display());
    }
    for p in ["src", "Cargo.toml"] {
        println!(
            "cargo:rerun-if-changed={}",
            root.join("core").join(p).display()
        );
    }
    println!("cargo:rerun-if-env-changed=STAGEMERGE_GUEST_TARGET_DIR");
    let target_dir = env::var_os("STAGEMERGE_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("guest"));

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
    .arg("--manifest-path")
    .arg(guest.join("Cargo.toml"))
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
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    let copy = out.join("stagemerge-guest.wasm");
    std::fs::write(&copy, &bytes).unwrap_or_else(|e| panic!("write {}: {e}", copy.display()));
    println!("cargo:rustc-env=STAGEMERGE_GUEST_WASM={}", copy.display());
    println!(
        "cargo:rustc-env=STAGEMERGE_GUEST_SHA256={}",
        hex::encode(Sha256::digest(&bytes))
    );
}
