#!/usr/bin/env bash
# Builds stagemerge and merges two staged packages that share a directory
# (site-packages/backports/) into one prefix, both at once, as `make -j`
# would run them, then plans a reinstall in the Wasmtime sandbox. The bundled
# stages are copied first: a merge moves them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# The sandbox's guest is built for WebAssembly (WASI) along the way.
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip1; then
    rustup target add wasm32-wasip1
fi
# STAGEMERGE=/path/to/stagemerge runs an installed binary instead (tests/wheel.sh).
if [ -n "${STAGEMERGE:-}" ]; then
    bin="$STAGEMERGE"
else
    cargo build --release --quiet --manifest-path "$here/../Cargo.toml" -p stagemerge
    bin="$here/../target/release/stagemerge"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -Rp "$here/stages" "$work/stages"
mkdir -p "$work/prefix/lib/python3.12/site-packages"

echo "== merging two packages into $work/prefix in parallel"
"$bin" merge "$work/stages/backports.tarfile" "$work/prefix" &
"$bin" merge "$work/stages/backports.functools_lru_cache" "$work/prefix" &
wait

echo "== the prefix now holds both, sharing backports/__init__.py"
(cd "$work/prefix" && find . -mindepth 1 | sort)
echo "== what is left in the stages (nothing: every entry was merged)"
(cd "$work/stages" && find . -mindepth 1 -type f | sort)

echo "== a reinstall of backports.tarfile, planned in the Wasmtime sandbox (which can only read)"
cp -Rp "$here/stages/backports.tarfile" "$work/again"
"$bin" plan --sandbox "$work/again" "$work/prefix"
