//! Hands this package's location to direct dependents: the sandbox host
//! (`stagemerge-wasm-host`) builds the guest binary (`guest/main.rs`, feature
//! `guest`) from these sources for `wasm32-wasip1`, wherever cargo unpacked
//! them (the workspace, or a registry's source cache).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo");
    println!("cargo::metadata=manifest_dir={dir}");
}
