#!/usr/bin/env bash
# The install lines of README "Install", run as a user would:
#
# 1. `cargo install --locked --path native` from the checkout;
# 2. the crates as they would be published: `cargo package --workspace`
#    (which builds each package from its .crate), then `cargo install
#    --offline` of the unpacked `stagemerge` package, in a directory outside
#    the checkout (so nothing of the workspace helps), its two unpublished
#    dependencies taken from their unpacked packages too.
#
# Each installed binary runs with an empty environment and a fresh HOME:
# `plan --sandbox` compiles the embedded guest, caches it, and prints what
# the native plan prints. The wheel is checked by tests/wheel.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

check() { # check BIN_DIR NAME WHAT
    local bin="$1/stagemerge" w="$work/$2"
    mkdir -p "$w/prefix/lib" "$w/home"
    cp -Rp examples/stages/backports.tarfile "$w/stage"
    run() { env -i PATH=/usr/bin:/bin HOME="$w/home" "$bin" "$@"; }
    run plan "$w/stage" "$w/prefix" > "$w/native"
    run plan --sandbox "$w/stage" "$w/prefix" > "$w/sandbox"
    cmp "$w/native" "$w/sandbox"
    ls "$w/home/.cache/stagemerge"/guest-*.cwasm >/dev/null
    run plan --sandbox "$w/stage" "$w/prefix" | cmp - "$w/native"
    run merge "$w/stage" "$w/prefix" 2> "$w/merged"
    cmp examples/stages/backports.tarfile/lib/python3.12/site-packages/backports/tarfile/__init__.py \
        "$w/prefix/lib/python3.12/site-packages/backports/tarfile/__init__.py"
    test -z "$(find "$w/stage" -type f)"
    echo "install-check: $3: plans natively and in the sandbox alike ($(wc -l < "$w/native") lines), then merges: $(cat "$w/merged")"
}

# 1. From the checkout.
cargo install --locked --quiet --force --path native --root target/install --target-dir target
check "$PWD/target/install/bin" from-path "cargo install --path native"

# 2. From the packages. The build below, of the three unpacked .crate
# files and nothing of the checkout, is what proves each package builds
# from what it ships (the nested guest build of stagemerge-wasm-host runs on
# the unpacked stagemerge-core there). `cargo package`'s own verification
# would build the same three again, in debug and per package, with feature
# sets that share nothing with the tests' build (5.4 min measured on a warm
# target directory): --no-verify.
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
cargo package --workspace --exclude stagemerge-bench-floor --locked --quiet --no-verify
pkg="$root/target/package"
for crate in stagemerge-core stagemerge-wasm-host stagemerge; do
    test -f "$pkg/$crate-$version.crate"
    rm -rf "$work/crates/$crate-$version"
    mkdir -p "$work/crates"
    tar -xzf "$pkg/$crate-$version.crate" -C "$work/crates"
done
# Outside the checkout: no workspace, no .cargo/config.toml of ours. The
# registry's own crates come from cargo's cache (--offline: the versions the
# workspace's Cargo.lock fetched); the two unpublished ones from their
# unpacked packages, through [patch]. (Not --locked: the packaged Cargo.lock
# names those two as crates.io packages with checksums, which a path patch
# cannot match; a published release resolves them from the registry.)
(
    cd "$work"
    CARGO_TARGET_DIR="$root/target" cargo install --offline --quiet --force \
        --path "crates/stagemerge-$version" --root "$work/from-crate" \
        --config "patch.crates-io.stagemerge-core.path=\"$work/crates/stagemerge-core-$version\"" \
        --config "patch.crates-io.stagemerge-wasm-host.path=\"$work/crates/stagemerge-wasm-host-$version\""
)
check "$work/from-crate/bin" from-crate "cargo install --offline of the packaged crate"
