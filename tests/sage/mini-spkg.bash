#!/usr/bin/env bash
# A miniature of SageMath's sage-spkg installing one package, as a recipe of
# the test Makefile runs it: the package's `make install` into a DESTDIR
# (here: copying an already staged tree, such as a wheel staged by
# `pip install --root`), then contrib/sage's unload_destdir, then the
# installation record written by the drop-in's write_installation_record
# (contrib/sage/build/bin/sage-spkg-stagemerge). tests/sage_spkg.rs runs the
# same file inside the real sage-spkg; this miniature runs many more rounds
# and compares with sage-spkg's former `cp -Rp`.
#
# Usage: mini-spkg.bash PKG_NAME PKG_VER STAGED_PREFIX_TREE
# Environment: SAGE_LOCAL, STAGEMERGE_CONTRIB (contrib/sage), and PATH with
# or without stagemerge; UNLOAD=upstream-cp runs sage-spkg's former
# `cp -Rp` step instead of the drop-in.
set -u
PKG_BASE=$1
PKG_VER=$2
PKG_NAME="$PKG_BASE-$PKG_VER"
SRC=$3
: "${SAGE_LOCAL:?}" "${STAGEMERGE_CONTRIB:?}"

# What sage-spkg provides to the functions it sources.
SAGE_INST_LOCAL=$SAGE_LOCAL
SAGE_SPKG_INST="$SAGE_LOCAL/var/lib/sage/installed"
SAGE_ROOT=$SAGE_LOCAL
TEST_SUITE_RESULT="not available"
exit_with_error_msg() {
    echo >&2 "$1"
    exit 1
}
sage-bootstrap-python() {
    python3 "$@"
}
SAGE_DESTDIR="$SAGE_LOCAL/var/tmp/sage/build/$PKG_NAME/inst"
SAGE_DESTDIR_LOCAL="$SAGE_DESTDIR$SAGE_INST_LOCAL"

rm -rf "$SAGE_DESTDIR"
mkdir -p "$SAGE_DESTDIR_LOCAL"
cp -a "$SRC/." "$SAGE_DESTDIR_LOCAL/"

# In a long build many packages finish together; in this miniature the
# staging takes milliseconds, so the unloads are started on the same tick
# of a shared clock to make them overlap as they do there.
if [ -n "${ALIGN_UNLOAD_MS:-}" ]; then
    now=$(date +%s%N)
    tick=$((ALIGN_UNLOAD_MS * 1000000))
    sleep "$(printf '0.%09d' $((tick - now % tick)))"
fi

if [ "${UNLOAD:-drop-in}" = upstream-cp ]; then
    # The unload step of sage-spkg before sage PR #41875, for comparison.
    # (Its staging had lib64 -> lib, so a package's lib64 files were in lib.)
    P=$SAGE_DESTDIR_LOCAL
    if [ -d "$P/lib64" ] && [ ! -L "$P/lib64" ]; then
        mkdir -p "$P/lib" && cp -Rp "$P/lib64/." "$P/lib/" && rm -rf "$P/lib64" || exit 1
    fi
    rm -f "$P"/lib/*.la
    FILE_LIST="$(cd "$P" && find . -type f -o -type l | sed 's|^\./||' | sort)"
    cp -Rp "$P/." "$SAGE_INST_LOCAL" || exit 1
    rm -rf "$SAGE_DESTDIR"
else
    # shellcheck source=../../contrib/sage/build/bin/sage-spkg-stagemerge
    . "$STAGEMERGE_CONTRIB/build/bin/sage-spkg-stagemerge"
    unload_destdir
fi

if [ "${UNLOAD:-drop-in}" = upstream-cp ]; then
    record="$SAGE_SPKG_INST/$PKG_NAME"
    FILE_LIST="$FILE_LIST" python3 - "$record" "$PKG_BASE" "$PKG_VER" <<'PY'
import datetime, json, os, platform, sys
record, name, version = sys.argv[1:]
files = [f for f in os.environ["FILE_LIST"].split("\n") if f]
doc = {
    "package_name": name,
    "package_version": version,
    "install_date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    "system_uname": " ".join(platform.uname()),
    "files": sorted(files),
}
with open(record + ".tmp", "w") as fh:
    json.dump(doc, fh, indent=2)
os.replace(record + ".tmp", record)
PY
else
    write_installation_record
fi
