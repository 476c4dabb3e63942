#!/usr/bin/env bash
# Builds a corpus of real staged installs from packages nobody here wrote:
#   OUT/wheels/<name>/  a PyPI wheel staged as `pip install --no-deps --root STAGE/<name> --prefix /local`
#   OUT/debs/<name>/    a Debian package staged as `dpkg-deb -x <deb> STAGE/<name>`
#   OUT/debs-conflicting/<name>/  the same, for Debian packages that ship the
#                       same paths (they declare Conflicts/Replaces): kept apart
#                       so that merging every stage of debs/ stays conflict-free
# Downloads are cached in OUT/../corpus-cache (never committed); stages are
# rebuilt only when missing. Prints one summary line.
#
# Usage: tests/corpus/build.sh [OUT]   (default: target/corpus)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$(mkdir -p "${1:-target/corpus}" && cd "${1:-target/corpus}" && pwd)"
cache="$(dirname "$out")/corpus-cache"
mkdir -p "$cache/wheels" "$cache/debs" "$out/wheels" "$out/debs" "$out/debs-conflicting"

# Namespace families that share a directory (backports/, jaraco/,
# sphinxcontrib/, zope/), big trees (numpy, scipy, sympy), and the usual
# dependencies of a Python stack.
wheels=(
    backports.tarfile backports.functools-lru-cache backports.cached-property
    backports.entry-points-selectable backports.weakref backports.os
    backports.shutil-get-terminal-size backports.shutil-which backports.unittest-mock
    backports.datetime-fromisoformat
    jaraco.classes jaraco.functools jaraco.context jaraco.text jaraco.collections
    sphinxcontrib-applehelp sphinxcontrib-devhelp sphinxcontrib-htmlhelp
    sphinxcontrib-jsmath sphinxcontrib-qthelp sphinxcontrib-serializinghtml
    zope.event zope.interface
    numpy scipy sympy mpmath
    six attrs more-itertools packaging pyparsing idna certifi urllib3 requests
    charset-normalizer docutils pygments jinja2 markupsafe snowballstemmer
    alabaster imagesize networkx typing-extensions zipp platformdirs
    autocommand inflect typeguard
)
# Libraries and tools with files in /lib, /bin, /sbin and /usr, shared
# directories (usr/lib/x86_64-linux-gnu, usr/share/doc) and symlinks.
debs=(
    zlib1g libbz2-1.0 liblzma5 libzstd1 libssl3 libffi8 libgmp10 libmpfr6 libmpc3
    libncursesw6 libtinfo6 libreadline8 readline-common libc6 libgcc-s1 libstdc++6
    bash coreutils grep sed tar gzip bzip2 xz-utils findutils diffutils less
    file libmagic1 libmagic-mgc libpcre2-8-0 libacl1 libattr1 libselinux1 libcap2
    procps kmod e2fsprogs
)
# Two init systems: 13 paths in common (sbin/init, sbin/halt, ... and their
# man pages), symlinks in one and files in the other.
debs_conflicting=(systemd-sysv sysvinit-core)

python=$(command -v python3)
# One wheel: downloaded into its cache folder unless there, then staged.
stage_wheel() {
    local w=$1 stage="$out/wheels/$1" dl="$cache/wheels/$1" whl
    [ -d "$stage" ] && return 0
    # One cache folder per package: wheel file names normalise the
    # package's name in more than one way.
    if ! ls "$dl"/*.whl >/dev/null 2>&1; then
        "$python" -m pip download -q --no-deps --only-binary=:all: -d "$dl" "$w" >/dev/null 2>&1 \
            || { echo "corpus: cannot download wheel $w, skipped" >&2; return 0; }
    fi
    whl=$(ls "$dl"/*.whl | head -1)
    rm -rf "$stage.tmp"
    if "$python" -m pip install -q --no-deps --no-index --ignore-installed --disable-pip-version-check \
        --root "$stage.tmp" --prefix /local "$whl" >/dev/null 2>&1 && [ -d "$stage.tmp" ]; then
        mv "$stage.tmp" "$stage"
    else
        echo "corpus: cannot stage $w, skipped" >&2
        rm -rf "$stage.tmp"
    fi
}
# Eight at a time: each is two pip processes, mostly waiting on the
# network (one after the other, the 51 took over three minutes).
export out cache python
export -f stage_wheel
printf '%s\n' "${wheels[@]}" | xargs -P 8 -I{} bash -c 'stage_wheel "$1"' _ {}

all_debs=("${debs[@]}" "${debs_conflicting[@]}")
if ! ls "$cache"/debs/*.deb >/dev/null 2>&1 || [ "$(ls "$cache"/debs/*.deb | wc -l)" -lt "${#all_debs[@]}" ]; then
    [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 || true
    (cd "$cache/debs" && apt-get download -q "${all_debs[@]}" >/dev/null 2>&1) \
        || echo "corpus: some Debian packages could not be downloaded" >&2
fi
stage_debs() {
    local into=$1; shift
    for d in "$@"; do
        stage="$out/$into/$d"
        [ -d "$stage" ] && continue
        deb=$(ls "$cache/debs/${d}_"*.deb 2>/dev/null | head -1 || true)
        [ -n "$deb" ] || { echo "corpus: no .deb for $d, skipped" >&2; continue; }
        dpkg-deb -x "$deb" "$stage.tmp" && mv "$stage.tmp" "$stage"
    done
}
stage_debs debs "${debs[@]}"
stage_debs debs-conflicting "${debs_conflicting[@]}"

nw=$(ls "$out/wheels" | wc -l)
nd=$(ls "$out/debs" "$out/debs-conflicting" | grep -vc -e '^$' -e ':$')
files=$(find "$out" -type f -o -type l | wc -l)
echo "corpus: $nw wheel stages, $nd Debian stages, $files files and symlinks in $out"
