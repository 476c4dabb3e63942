#!/usr/bin/env bash
# The one test command (README, CI): installs what the tests need and is
# missing, then runs every test of the workspace.
#
# As root it installs e2fsprogs (loop-mounted ext4), xfsprogs (the XFS that
# backs the power-cut tests' ext4, for reflink crash images), bindfs (a FUSE mount
# that refuses RENAME_NOREPLACE), sshfs and openssh-server (a shared prefix
# seen by two clients, tests/netfs.rs: the test starts an sshd of its own on
# loopback and stops it), rclone (a FUSE mount with neither hard links nor
# RENAME_NOREPLACE), glusterfs-server, glusterfs-client, moosefs-master,
# moosefs-chunkserver, moosefs-client and iproute2 (GlusterFS and MooseFS in
# network namespaces the tests make, each mounted twice), util-linux (setpriv, mount), sudo (SAGE_SUDO
# escalation), bsdutils (script: a terminal for the progress bar) and MinGW
# (Wasmtime's C helpers for the Windows build), patch, make and python3-venv
# (the Sage tests) from the distribution when
# absent, and tests/wine.sh installs wine; without root those tests skip
# with a reason.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
    echo "run-all: cargo not found; install Rust with rustup first" >&2
    exit 2
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    need=()
    command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
    command -v mkfs.xfs >/dev/null || need+=(xfsprogs)
    command -v bindfs >/dev/null || need+=(bindfs)
    command -v sshfs >/dev/null || need+=(sshfs)
    [ -x /usr/sbin/sshd ] || need+=(openssh-server)
    command -v rclone >/dev/null || need+=(rclone)
    [ -x /usr/sbin/glusterd ] || need+=(glusterfs-server glusterfs-client)
    [ -x /usr/sbin/mfsmaster ] || need+=(moosefs-master moosefs-chunkserver moosefs-client)
    command -v ip >/dev/null || need+=(iproute2)
    command -v setpriv >/dev/null || need+=(util-linux)
    command -v sudo >/dev/null || need+=(sudo)
    command -v script >/dev/null || need+=(bsdutils)
    command -v patch >/dev/null || need+=(patch)
    command -v make >/dev/null || need+=(make)
    python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
    command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64-posix)
    if [ ${#need[@]} -gt 0 ]; then
        echo "run-all: installing ${need[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
fi

# wasm32-wasip1 builds the sandbox guest (the core under WASI); the native
# shim's macOS and Windows sides must compile although they cannot run here.
# Both are linted without the sandbox feature (Wasmtime builds C helpers: for
# macOS there is no C compiler here; for Windows the MinGW compiler installed
# above builds them for tests/wine.sh, which compiles the whole binary).
if command -v rustup >/dev/null; then
    for t in wasm32-wasip1 x86_64-apple-darwin x86_64-pc-windows-gnu; do
        rustup target list --installed | grep -qx "$t" || rustup target add "$t"
    done
fi
cargo clippy --locked -p stagemerge --no-default-features --target x86_64-apple-darwin -- -D warnings
# Windows is linted without the sandbox: checking Wasmtime for Windows here
# took minutes of CI's hour, and tests/wine.sh builds the whole binary,
# sandbox included, for Windows anyway (its Windows-only lines are the
# `cfg(not(unix))` ones of wasm-host/src/imports.rs).
cargo clippy --locked -p stagemerge --no-default-features --target x86_64-pc-windows-gnu -- -D warnings
echo "run-all: macOS and Windows checks done at $SECONDS s"

# The corpus of real staged installs (PyPI wheels, Debian packages) that
# the reliability suite runs on; downloads are cached under target/.
bash tests/corpus/build.sh
# The real Sage scripts (passagemath-conf's sdist from PyPI, pinned by its
# SHA-256) that tests/sage_spkg.rs runs the drop-in inside.
bash tests/sage/fetch.sh >/dev/null
echo "run-all: corpus and Sage scripts done at $SECONDS s"
export STAGEMERGE_CORPUS_REQUIRED=1

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked "$@" 2>&1 | tee "$log" || status=$?
echo "run-all: main suite done at $SECONDS s"
# The core's own unit tests again, compiled for wasm32-wasip1 and run by
# Wasmtime the way the sandbox runs the guest.
cargo build --locked -p stagemerge-wasm-host --bin stagemerge-wasm-run
CARGO_TARGET_WASM32_WASIP1_RUNNER="$PWD/target/debug/stagemerge-wasm-run" \
    cargo test --locked -p stagemerge-core --target wasm32-wasip1 "$@" 2>&1 | tee -a "$log" || status=$?
echo "run-all: WASI core tests done at $SECONDS s"
# The wheel, built from source and installed into a fresh venv (pip's and
# Sage's install lines). The packaging mode (STAGEMERGE_PACKAGING=1, not run
# by CI: five release builds, about 45 minutes) builds every wheel instead,
# aarch64, musl and Windows included, and runs each on its platform.
if [ "${STAGEMERGE_PACKAGING:-0}" != 0 ]; then
    bash tests/wheels-all.sh 2>&1 | tee -a "$log" || status=$?
else
    bash tests/wheel.sh 2>&1 | tee -a "$log" || status=$?
fi
echo "run-all: wheel done at $SECONDS s"
# The Windows build under Wine: the windows:: scenarios and the core's unit
# tests (installs wine as root when missing; README "Platforms").
bash tests/wine.sh "$@" 2>&1 | tee -a "$log" || status=$?
echo "run-all: Wine done at $SECONDS s"
# What users download: the binaries' sizes (README "Install").
cargo build --release --locked --quiet -p stagemerge
for b in stagemerge stagemerge-sandbox; do
    echo "size: target/release/$b $(du -b "target/release/$b" | cut -f1 | awk '{ printf "%.1f MB", $1 / 1e6 }')"
done
# A failing test's own output again, at the end where a CI report that keeps
# only the head and tail of the log still shows it (its first 40 lines).
awk '/^---- .* stdout ----$/ { n = 0; show = 1 }
     /^failures:$/ && show { show = 0 }
     show && n++ < 40 { print "failed: " $0 }' "$log"
# cargo ends on the doc tests' (empty) result line; close with the totals.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
