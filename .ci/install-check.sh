#!/usr/bin/env bash
# `cargo install --path native` gives a binary that needs nothing else: run
# with an empty environment and a fresh HOME, its `plan --sandbox` compiles
# the embedded guest, caches it, and prints what the native plan prints.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo install --locked --quiet --force --path native --root target/install --target-dir target
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -Rp examples/stages/backports.tarfile "$work/stage"
mkdir -p "$work/prefix/lib" "$work/home"
bin="$PWD/target/install/bin/stagemerge"
run() { env -i PATH=/usr/bin:/bin HOME="$work/home" "$bin" "$@"; }
run plan "$work/stage" "$work/prefix" > "$work/native"
run plan --sandbox "$work/stage" "$work/prefix" > "$work/sandbox"
cmp "$work/native" "$work/sandbox"
ls "$work/home/.cache/stagemerge"/guest-*.cwasm >/dev/null
run plan --sandbox "$work/stage" "$work/prefix" | cmp - "$work/native"
echo "install-check: installed binary plans natively and in the sandbox alike ($(wc -l < "$work/native") lines)"
