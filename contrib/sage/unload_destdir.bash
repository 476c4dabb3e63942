# shellcheck shell=bash
#
# unload_destdir for SageMath's build/bin/sage-spkg, using stagemerge.
#
# sage-spkg installs each package into a staging directory (DESTDIR) and then
# "unloads" it into the live prefix. That was `cp -Rp STAGE/. PREFIX`,
# which fails at random under `make -j` when two packages create the same
# directory or file at once (`cp: cannot create regular file
# '.../backports/__init__.py': File exists`); since sage PR #41875 it is a
# `tar` pipe. This function does the same
# job with `stagemerge merge`, which places every entry by a no-replace
# rename and merges shared directories safely. When stagemerge is not
# installed it runs what sage-spkg runs today (since sage PR #41875): a `tar`
# pipe, which does not fail under make -j but copies every byte, writes over
# other packages' files and resets shared directories' modes.
#
# Use: source this file after sage-spkg's own definition of unload_destdir
# (or paste the function over it). It reads what sage-spkg sets:
#
#   PKG_NAME, PKG_VER     the package and its version
#   SAGE_INST_LOCAL       the prefix the package goes into
#   SAGE_DESTDIR          the staging root (removed once unloaded)
#   SAGE_DESTDIR_LOCAL    "$SAGE_DESTDIR$SAGE_INST_LOCAL", the staged prefix
#   SAGE_SUDO             optional escalation prefix, such as "sudo -E"
#
# and sets FILE_LIST (one path a line, relative to SAGE_INST_LOCAL), which
# sage-spkg's write_installation_record turns into the installation record.
# Returns non-zero, leaving what was not merged in SAGE_DESTDIR, when the
# unload failed.

unload_destdir() {
    local PREFIX="${SAGE_DESTDIR_LOCAL%/}"
    echo "Moving package files from temporary location $PREFIX to $SAGE_INST_LOCAL"
    FILE_LIST=""
    if [ ! -d "$PREFIX" ]; then
        # An old-style package that installed straight into the prefix.
        return 0
    fi

    # sage-spkg stages with lib64 -> lib (Sage issue #26996) and removes that
    # symlink before unloading; a lib64 directory a package made stays.
    if [ -L "$PREFIX/lib64" ]; then
        rm -f "$PREFIX/lib64"
    fi

    # Libtool archives name the staging location; they are never installed.
    rm -f "$PREFIX"/lib/*.la

    # Sage's prefix has lib64 -> lib. stagemerge merges a staged lib64/
    # through that symlink by itself; tar would replace the symlink with a
    # directory, so for tar the staged lib64 is folded into lib first.
    local use_stagemerge=
    if [ "${SAGE_STAGEMERGE:-yes}" != no ] && command -v stagemerge >/dev/null 2>&1; then
        use_stagemerge=yes
    fi
    if [ -z "$use_stagemerge" ] && [ -L "$SAGE_INST_LOCAL/lib64" ] \
        && [ -d "$PREFIX/lib64" ] && [ ! -L "$PREFIX/lib64" ]; then
        mkdir -p "$PREFIX/lib"
        cp -Rp "$PREFIX/lib64/." "$PREFIX/lib/" && rm -rf "$PREFIX/lib64" || {
            echo >&2 "Error moving lib64 of $PKG_NAME into lib."
            return 1
        }
    fi

    # The manifest lies beside the DESTDIR, at the same path every time: if
    # an unload is killed, the retried one finds stagemerge's journal there
    # and lists what the first one moved too.
    local manifest="${SAGE_DESTDIR%/}.stagemerge-manifest"
    if [ -n "$use_stagemerge" ]; then
        # The manifest lists every file and symlink the package staged that
        # is now in the prefix: placed, identical, replaced, or kept in
        # another package's version placed first (a warning says so; the
        # package still needs the path, so it stays listed and uninstalling
        # the other package keeps it). With SAGE_SUDO and a prefix the
        # builder cannot write, stagemerge reruns itself through SAGE_SUDO
        # (copying). Its one-line summary and any warnings go to the
        # package's log.
        if ! stagemerge merge --manifest "$manifest" \
            "$PREFIX" "$SAGE_INST_LOCAL"; then
            echo >&2 "Error moving files for $PKG_NAME; what was not merged is still in $SAGE_DESTDIR."
            return 1
        fi
    else
        # Today's sage-spkg: the file list first, then the tar pipe.
        (cd "$PREFIX" && find . -type f -o -type l | sed 's|^\./||' | sort) > "$manifest"
        # Both ends of the pipe must succeed (the status of each, whatever
        # the caller's set -e or pipefail).
        local status
        # shellcheck disable=SC2086  # SAGE_SUDO is a command prefix
        status=$( (cd "$PREFIX" && tar cf - .) | ${SAGE_SUDO:-} tar xpf - -C "$SAGE_INST_LOCAL"
            echo "${PIPESTATUS[*]}")
        if [ "$status" != "0 0" ]; then
            echo >&2 "Error moving files for $PKG_NAME."
            rm -f "$manifest"
            return 1
        fi
    fi
    FILE_LIST="$(cat "$manifest")"
    rm -f "$manifest"

    # Everything is in the prefix now.
    rm -rf "$SAGE_DESTDIR"
    return 0
}
