#!/usr/bin/env bash
# Fetches the real sage-spkg, sage-dist-helpers and sage-spkg-uninstall:
# the sdist of passagemath-conf (pinned, checked by its SHA-256) from PyPI,
# unpacked once into target/sage-cache/ (never committed). Prints the path
# of its sage_root, or fails saying why.
#
# Usage: tests/sage/fetch.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
version=10.8.13.post1
sha256=84923b90f162e6b1039c2982d47060ef8b23709078e0d32e6e97439d92e81534
cache="$PWD/target/sage-cache"
tarball="$cache/passagemath_conf-$version.tar.gz"
root="$cache/passagemath_conf-$version/sage_root"
if [ ! -d "$root" ]; then
    mkdir -p "$cache"
    if [ ! -f "$tarball" ]; then
        rm -rf "$cache/download"
        python3 -m pip download -q --no-deps --no-binary :all: -d "$cache/download" \
            "passagemath-conf==$version"
        mv "$cache/download/passagemath_conf-$version.tar.gz" "$tarball"
        rm -rf "$cache/download"
    fi
    if [ "$(sha256sum "$tarball" | cut -d' ' -f1)" != "$sha256" ]; then
        echo "sage fetch: $tarball is not passagemath-conf $version (SHA-256 differs); remove it" >&2
        exit 1
    fi
    rm -rf "$cache/unpack"
    mkdir -p "$cache/unpack"
    tar xzf "$tarball" -C "$cache/unpack"
    mv "$cache/unpack/passagemath_conf-$version" "$cache/"
    rmdir "$cache/unpack"
fi
echo "$root"
