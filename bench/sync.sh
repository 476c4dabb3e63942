#!/usr/bin/env bash
# What `--sync` costs: stagemerge without and with --sync, against the
# syscall floor (one renameat2 per file) plus one syncfs, plus the two
# syncfs --sync makes (STAGE's before the first rename, TARGET's after), and
# the floor plus an fsync of every file (what a tool that makes each file
# durable pays).
#
# Usage: bench/sync.sh [WORKDIR] [FILES]
#   WORKDIR  on the filesystem to measure (default /var/tmp/stagemerge-bench-sync)
#   FILES    staged files, 4 KiB each, in 20 directories TARGET already has
#            (default 2000); RUNS (default 10) runs of each.
# Each run starts from a fresh stage whose data is already on disk (`sync`
# in the prepare step), so the timings are of the merge step alone.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-/var/tmp/stagemerge-bench-sync}"
files="${2:-2000}"
runs="${RUNS:-10}"

command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --quiet -p stagemerge -p stagemerge-bench-floor
bin="$PWD/target/release"
mkdir -p "$work" bench/out

# The prepare step: a fresh stage of $files files, TARGET with its dirs.
printf '%s\n' \
    'set -e' \
    "cd '$work'" \
    'rm -rf s t' \
    "python3 '$PWD/bench/make_tree.py' s t '$files'" \
    'sync' >"$work/prepare.sh"

echo "machine: $(nproc) cores, kernel $(uname -r); $work is $(findmnt -no FSTYPE,OPTIONS -T "$work")"
echo "workload: $files files of 4 KiB in 20 directories that TARGET already has; $runs runs each"
hyperfine --style basic --runs "$runs" --prepare "bash $work/prepare.sh" \
    --export-markdown bench/out/sync.md --export-json bench/out/sync.json \
    -n "stagemerge merge" "$bin/stagemerge merge -q $work/s $work/t" \
    -n "stagemerge merge --sync" "$bin/stagemerge merge -q --sync $work/s $work/t" \
    -n "floor + syncfs" "$bin/floor --syncfs $work/s $work/t" \
    -n "floor + syncfs of both" "$bin/floor --syncfs-both $work/s $work/t" \
    -n "floor + fsync each file" "$bin/floor --fsync-each $work/s $work/t"
rm -rf "$work"
cat bench/out/sync.md
