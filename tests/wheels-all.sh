#!/usr/bin/env bash
# The packaging mode (README "Platforms"): builds every wheel stagemerge
# ships, each with both binaries, and runs each one on its platform:
#
#   target                       tag                 built with
#   x86_64-unknown-linux-gnu     manylinux2014       the host toolchain, glibc linked statically (as tests/wheel.sh)
#   aarch64-unknown-linux-gnu    manylinux2014       Debian's aarch64-linux-gnu-gcc, glibc linked statically
#   x86_64-unknown-linux-musl    musllinux_1_2       zig (PyPI's ziglang, through maturin --zig), static
#   aarch64-unknown-linux-musl   musllinux_1_2       zig, static
#   x86_64-pc-windows-gnu        win_amd64           Debian's MinGW-w64
#
# and then, per wheel: installed by pip, `stagemerge --version`, the
# README's demo merge (examples/demo.sh) with the installed binary, and
# `plan --sandbox` byte-identical to the same binary's native plan:
#
#   - x86_64 glibc: a fresh venv of the host's CPython;
#   - aarch64 glibc: a fresh venv of Debian's arm64 CPython, in an arm64
#     Debian root (debootstrap from Debian's archive, cached under target/)
#     entered with chroot, every aarch64 program run by qemu-user-static
#     through binfmt_misc;
#   - musl (both): no musl CPython is in the registries here, so the host's
#     pip installs the wheel for its platform (`--platform musllinux_1_2_*
#     --target`), the binaries run as they are (aarch64 under qemu-user),
#     and the wheel's pure-Python part (`python -m stagemerge`) runs on the
#     host CPython, finding and running the musl binary;
#   - win_amd64: no Windows CPython either: pip installs it for `win_amd64`
#     with `--target`, and the .exe files run under Wine.
#
# Prints one line per wheel (tag, size, install, version, demo, sandbox
# plan, pass or FAIL) and exits 1 if any failed. Not part of the ordinary
# test command (about 45 minutes on 2 cores: five release builds of
# Wasmtime); run it as `bash tests/wheels-all.sh [TARGET...]` or
# `STAGEMERGE_PACKAGING=1 bash tests/run-all.sh`.
#
# Toolchains come from the registries only. Where rustup has the target's
# standard library it is used; where it has not and cannot fetch one (this
# machine reaches crates.io, PyPI and Debian, not static.rust-lang.org),
# Debian's rustc-web and its source (rust-web-src) build the standard
# library for the target with cargo's `-Z build-std` (RUSTC_BOOTSTRAP=1: the
# one unstable flag, on a stable compiler), which the script says.
#
# As root with apt it installs what is missing; without root, what cannot
# be built or run is skipped with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
out="$root/target/wheels-all"
mkdir -p "$out"

all=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-unknown-linux-musl
    aarch64-unknown-linux-musl x86_64-pc-windows-gnu)
targets=("${@:-${all[@]}}")

# --- tools -----------------------------------------------------------------
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    need=()
    command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
    command -v update-binfmts >/dev/null || need+=(binfmt-support)
    command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
    [ -f /usr/aarch64-linux-gnu/lib/libc.a ] || need+=(libc6-dev-arm64-cross)
    command -v debootstrap >/dev/null || need+=(debootstrap)
    command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64-posix)
    command -v wine >/dev/null || need+=(wine wine64)
    [ -x /usr/bin/rustc ] || need+=(rustc-web)
    [ -d /usr/lib/rustlib/src/rust/library ] || need+=(rust-web-src)
    if [ ${#need[@]} -gt 0 ]; then
        echo "wheels-all: installing ${need[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
    # qemu-user for aarch64 programs started by any program (the sandbox
    # helper, pip's subprocesses), inside the chroot too (the F flag).
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || true
    fi
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
fi

venv="$out/build-venv"
if [ ! -x "$venv/bin/maturin" ] || [ ! -x "$venv/bin/cargo-zigbuild" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'maturin>=1.9,<2' 'auditwheel>=6' 'ziglang==0.15.*' 'cargo-zigbuild>=0.20,<1'
fi
export PATH="$venv/bin:$PATH"

installed_targets=$(rustup target list --installed 2>/dev/null || true)

size() { du -b "$1" | cut -f1 | awk '{ printf "%.1f MB", $1 / 1e6 }'; }

# --- building ----------------------------------------------------------------
# build TARGET: the wheel in $out/dist/TARGET/, its path on stdout; the log
# in $out/TARGET.build.log.
build() {
    local t="$1" dist="$out/dist/$1" log="$out/$1.build.log"
    local args=(build --release --locked --target "$t" --out "$dist")
    local env=() extra=()
    case "$t" in
        x86_64-unknown-linux-gnu) ;;
        aarch64-unknown-linux-gnu)
            env+=(CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
                CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc) ;;
        # zig brings musl's start files and libc: rustc must not add its
        # own (self-contained) ones, which a standard library built from
        # source does not have.
        *-unknown-linux-musl) args+=(--zig --compatibility musllinux_1_2) extra=(-C link-self-contained=no) ;;
        x86_64-pc-windows-gnu)
            env+=(CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc) ;;
    esac
    if ! grep -qx "$t" <<<"$installed_targets"; then
        if [ ! -x /usr/bin/rustc ] || [ ! -d /usr/lib/rustlib/src/rust/library ]; then
            echo "no standard library for $t: rustup has none and Debian's rustc-web with rust-web-src is not installed" >"$log"
            return 1
        fi
        echo "wheels-all: $t: rustup has no standard library for it; building one from Debian's rust-web-src with $(/usr/bin/rustc --version) (-Z build-std)" >&2
        env+=(RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1)
        args+=(-Z build-std=std,panic_abort)
    fi
    rm -rf "$dist"
    if ! env "${env[@]}" maturin "${args[@]}" -- "${extra[@]}" >"$log" 2>&1; then
        return 1
    fi
    ls "$dist"/stagemerge-*.whl
}

# --- running -----------------------------------------------------------------
# Each step's output goes to $work/log; a failing step ends the wheel's run
# with what failed (errexit does not hold inside `if`, so every step is
# checked here).
step() {
    "$@" >>"$work/log" 2>&1 || { echo "failed: $* (see $work/log)"; return 1; }
}

# check_bins RUN: with RUN a command that runs the installed `stagemerge`
# (for the chroot and Wine, a wrapper), checks --version, the demo and the
# sandbox plan; prints "VERSION; demo passed; plan --sandbox identical ...".
# $work is a scratch directory that RUN reaches by the same path.
check_bins() {
    local run="$1" v lines
    v=$("$run" --version </dev/null 2>>"$work/log" | head -1)
    case "$v" in stagemerge\ *) ;; *) echo "--version printed '$v'"; return 1 ;; esac
    # The demo copies its stages to a mktemp directory: under $work, which
    # the chroot sees too.
    TMPDIR="$work" STAGEMERGE="$run" bash examples/demo.sh >"$work/demo.log" 2>&1 </dev/null ||
        { echo "$v; demo failed: $(tail -3 "$work/demo.log" | tr '\n' ' ')"; return 1; }
    grep -q 'backports/__init__.py' "$work/demo.log" ||
        { echo "$v; demo did not merge backports/__init__.py"; return 1; }
    rm -rf "$work/stage" "$work/prefix"
    cp -Rp examples/stages/backports.tarfile "$work/stage"
    # A prefix that already holds a shared file: the plan has a no-op to show.
    mkdir -p "$work/prefix/lib/python3.12/site-packages/backports"
    cp -p examples/stages/backports.functools_lru_cache/lib/python3.12/site-packages/backports/__init__.py \
        "$work/prefix/lib/python3.12/site-packages/backports/"
    "$run" plan "$work/stage" "$work/prefix" >"$work/native" 2>>"$work/log" </dev/null ||
        { echo "$v; demo passed; plan failed"; return 1; }
    "$run" plan --sandbox "$work/stage" "$work/prefix" >"$work/sandbox" 2>>"$work/log" </dev/null ||
        { echo "$v; demo passed; plan --sandbox failed"; return 1; }
    grep -q '^plan: ' "$work/native" || { echo "$v; demo passed; plan printed no summary"; return 1; }
    cmp -s "$work/native" "$work/sandbox" ||
        { echo "$v; demo passed; plan --sandbox differs from the native plan"; return 1; }
    lines=$(wc -l <"$work/native")
    echo "$v; demo passed; plan --sandbox identical to the native plan ($lines lines)"
}

# pip_target TAG WHEEL DIR: the host's pip installs WHEEL for platform TAG
# into DIR (no index: the wheel is the only candidate).
pip_target() {
    python3 -m pip install --disable-pip-version-check --no-index \
        --find-links "$(dirname "$2")" --only-binary :all: --platform "$1" \
        --implementation cp --python-version 3.11 --target "$3" stagemerge
}

arm64_root="$out/arm64-root"
unmount_root() {
    local m
    for m in "$arm64_root$out/run/aarch64-unknown-linux-gnu" "$arm64_root/proc"; do
        if mountpoint -q "$m" 2>/dev/null; then umount "$m" || true; fi
    done
}
trap unmount_root EXIT

# wrapper FILE COMMAND...: a script at FILE that runs COMMAND with its own
# arguments appended.
wrapper() {
    local file="$1"
    shift
    printf '#!/bin/sh\nexec' >"$file"
    printf ' %q' "$@" >>"$file"
    printf ' "$@"\n' >>"$file"
    chmod +x "$file"
}

# run TARGET WHEEL: installs and runs it; prints "INSTALL | RESULT" and
# fails if any step did.
run() {
    local t="$1" wheel="$2" tag r rc
    tag=$(basename "$wheel" .whl | cut -d- -f5)
    work="$out/run/$t"
    rm -rf "$work"
    mkdir -p "$work"
    case "$t" in
        x86_64-unknown-linux-gnu)
            step python3 -m venv "$work/venv" || return 1
            step "$work/venv/bin/pip" install --disable-pip-version-check --no-index \
                --find-links "$(dirname "$wheel")" stagemerge || return 1
            step "$work/venv/bin/python" -m stagemerge --version || return 1
            echo -n "pip install into a venv of the host's CPython $(python3 -V | cut -d' ' -f2), python -m stagemerge ran | "
            check_bins "$work/venv/bin/stagemerge"
            ;;
        aarch64-unknown-linux-gnu)
            r="$arm64_root"
            if [ ! -x "$r/usr/bin/python3" ] || [ ! -f "$r/usr/lib/python3.11/ensurepip/__init__.py" ]; then
                command -v debootstrap >/dev/null || { echo "no debootstrap to make an arm64 root | skipped"; return 1; }
                rm -rf "$r"
                step debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,python3-pip \
                    bookworm "$r" http://deb.debian.org/debian || return 1
            fi
            # The chroot sees the scratch directory at the same path, so
            # that the demo and the plans name the same files inside.
            mkdir -p "$r$work" "$r/tmp/dist" "$r/tmp/home"
            if ! mountpoint -q "$r/proc"; then step mount -t proc proc "$r/proc" || return 1; fi
            if ! mountpoint -q "$r$work"; then step mount --bind "$work" "$r$work" || return 1; fi
            rm -rf "$r/opt/venv" "$r/tmp/dist"/*.whl
            cp "$wheel" "$r/tmp/dist/"
            step chroot "$r" /usr/bin/python3 -m venv /opt/venv || return 1
            step chroot "$r" /opt/venv/bin/pip install --disable-pip-version-check --no-index \
                --find-links /tmp/dist stagemerge || return 1
            step chroot "$r" /opt/venv/bin/python -m stagemerge --version || return 1
            wrapper "$work/stagemerge" chroot "$r" /usr/bin/env HOME=/tmp/home /opt/venv/bin/stagemerge
            echo -n "pip install into a venv of Debian's arm64 CPython $(chroot "$r" /usr/bin/python3 -V | cut -d' ' -f2) (chroot; $(qemu-aarch64-static --version | head -1 | cut -d' ' -f1-3)), python -m stagemerge ran | "
            check_bins "$work/stagemerge"
            ;;
        *-unknown-linux-musl)
            step pip_target "$tag" "$wheel" "$work/site" || return 1
            PYTHONPATH="$work/site" python3 -m stagemerge --version 2>>"$work/log" | grep -q '^stagemerge ' ||
                { echo "python -m stagemerge did not run the musl binary"; return 1; }
            echo -n "pip install --platform $tag --target (no musl CPython here), python -m stagemerge on the host's CPython ran the musl binary | "
            check_bins "$work/site/bin/stagemerge"
            ;;
        x86_64-pc-windows-gnu)
            command -v wine >/dev/null || { echo "no wine | skipped"; return 1; }
            step pip_target win_amd64 "$wheel" "$work/site" || return 1
            step test -f "$work/site/bin/stagemerge-sandbox.exe" || return 1
            step bash -c '. tests/wine/prefix.sh' || return 1
            wrapper "$work/stagemerge" env WINEPREFIX="$root/target/wine-prefix" WINEDEBUG=-all \
                wine "$work/site/bin/stagemerge.exe"
            echo -n "pip install --platform win_amd64 --target (no Windows CPython here), run under $(wine --version 2>/dev/null) | "
            check_bins "$work/stagemerge"
            rc=$?
            WINEPREFIX="$root/target/wine-prefix" wineserver -k 2>/dev/null || true
            return $rc
            ;;
    esac
}

status=0
summary=()
for t in "${targets[@]}"; do
    started=$(date +%s)
    echo "wheels-all: $t: building"
    if ! wheel=$(build "$t"); then
        summary+=("$t: build FAILED ($(tail -3 "$out/$t.build.log" | tr '\n' ' '))")
        status=1
        continue
    fi
    tag=$(basename "$wheel" .whl | cut -d- -f5)
    inside=$(python3 -m zipfile -l "$wheel" | awk '/data\/scripts\// { printf "%s %.1f MB, ", $1, $NF / 1e6 }' |
        sed 's|stagemerge-[^ ]*/scripts/||g; s/, $//')
    echo "wheels-all: $t: built $(basename "$wheel"); running"
    if result=$(run "$t" "$wheel" 2>&1); then
        verdict=pass
    else
        verdict=FAIL
        status=1
    fi
    summary+=("$t: $tag, wheel $(size "$wheel") ($inside) | $result | $verdict ($(( $(date +%s) - started )) s)")
    echo "${summary[-1]}"
done

echo
echo "wheels-all: summary"
printf '  %s\n' "${summary[@]}"
exit "$status"
