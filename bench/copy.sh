#!/usr/bin/env bash
# Copy mode against `cp -a`: both copy the same staged tree into an empty
# TARGET (data, modes, times), alternating, with hyperfine.
#
# Usage: bench/copy.sh [WORKDIR] [FILES]
#   WORKDIR  on the filesystem to measure (default /dev/shm/stagemerge-bench-copy)
#   FILES    files of 4 KiB in 20 directories (default 5000); RUNS (default 10).
# The stage is made once; each run starts from an empty TARGET.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-/dev/shm/stagemerge-bench-copy}"
files="${2:-5000}"
runs="${RUNS:-10}"

command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --quiet -p stagemerge
bin="$PWD/target/release"
rm -rf "$work"
mkdir -p "$work" bench/out
python3 bench/make_tree.py "$work/s" "$work/t" "$files" fresh
sync

name="copy-$(basename "$(dirname "$work")")"
echo "machine: $(nproc) cores, kernel $(uname -r); $work is $(findmnt -no FSTYPE,OPTIONS -T "$work")"
echo "workload: $files files of 4 KiB in 20 directories into an empty TARGET; $runs runs each"
hyperfine --style basic --runs "$runs" --warmup 1 \
    --prepare "rm -rf $work/t && mkdir $work/t" \
    --export-markdown "bench/out/$name.md" --export-json "bench/out/$name.json" \
    -n "stagemerge merge --copy" "$bin/stagemerge merge -q --copy $work/s $work/t" \
    -n "cp -a" "cp -a $work/s/. $work/t/"
rm -rf "$work"
cat "bench/out/$name.md"
