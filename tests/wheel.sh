#!/usr/bin/env bash
# The wheel, end to end: built from source with maturin (`bindings = "bin"`,
# pyproject.toml), installed into a fresh venv the way `pip install
# stagemerge` and Sage's package (contrib/sage/build/pkgs/stagemerge/
# requirements.txt) install it, then used: `stagemerge` on the venv's PATH,
# `python -m stagemerge`, the README's demo merge and a `plan --sandbox` with
# the installed binaries. Prints the wheel's platform tag (maturin's
# manylinux check) and the binaries' sizes. Nothing is uploaded.
#
# Usage: tests/wheel.sh   (from anywhere; uses target/wheel/)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
out="$root/target/wheel"
mkdir -p "$out"

python=$(command -v python3)
if [ ! -x "$out/build-venv/bin/maturin" ]; then
    "$python" -m venv "$out/build-venv"
    "$out/build-venv/bin/pip" install --quiet 'maturin>=1.9,<2' 'auditwheel>=6'
fi
rm -rf "$out/dist"
# maturin runs cargo in this workspace (one target directory).
"$out/build-venv/bin/maturin" build --release --locked --out "$out/dist" 2>&1 | tee "$out/build.log"
wheel=$(ls "$out"/dist/stagemerge-*.whl)
tag=$(basename "$wheel" .whl | cut -d- -f5)
case "$tag" in
    manylinux*|musllinux*) ;;
    *) echo "wheel: $wheel has platform tag $tag, not a manylinux one" >&2; exit 1 ;;
esac
# auditwheel's own reading of the binaries: the most general tag they meet
# (maturin has checked the one claimed, pyproject.toml's `compatibility`).
audit=$("$out/build-venv/bin/auditwheel" show "$wheel" | tr '\n' ' ' | tr -s ' ')
echo "auditwheel: $audit"
echo "$audit" | grep -q 'is consistent with the following platform tag: "manylinux_'

# A fresh venv, with nothing from the network: pip takes the wheel built above.
rm -rf "$out/venv"
"$python" -m venv "$out/venv"
"$out/venv/bin/pip" install --quiet --no-index --find-links "$out/dist" \
    -r contrib/sage/build/pkgs/stagemerge/requirements.txt
export PATH="$out/venv/bin:$PATH"
installed=$(command -v stagemerge)
test "$installed" = "$out/venv/bin/stagemerge"
test -x "$out/venv/bin/stagemerge-sandbox"
"$out/venv/bin/python" -m stagemerge --version | grep -q '^stagemerge '
test "$("$out/venv/bin/python" -c 'import stagemerge; print(stagemerge.find_stagemerge_bin())')" = "$installed"

# The README's demo with the installed binary, then a sandboxed plan.
STAGEMERGE="$installed" bash examples/demo.sh > "$out/demo.log"
grep -q 'backports/__init__.py' "$out/demo.log"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -Rp examples/stages/backports.tarfile "$work/stage"
mkdir -p "$work/prefix"
stagemerge plan "$work/stage" "$work/prefix" > "$work/native"
"$out/venv/bin/python" -m stagemerge plan --sandbox "$work/stage" "$work/prefix" > "$work/sandbox"
cmp "$work/native" "$work/sandbox"

size() { du -b "$1" | cut -f1 | awk '{ printf "%.1f MB", $1 / 1e6 }'; }
echo "wheel: $(basename "$wheel") ($(size "$wheel")), platform tag $tag;" \
    "installed stagemerge $(size "$installed") ($(file -b "$installed" | cut -d, -f4 | sed 's/^ //'))," \
    "stagemerge-sandbox $(size "$out/venv/bin/stagemerge-sandbox"); demo merge and plan --sandbox passed"
