#!/usr/bin/env bash
# Makes a Sage tree around the real build scripts of passagemath-conf's
# sdist (tests/sage/fetch.sh): SAGE_ROOT with the sdist's build/ and src/bin,
# configured as ./configure would for these packages (the *-config files
# from their .in templates), SAGE_LOCAL a Python venv as Sage's, one package
# directory per wheel (their tarballs in upstream/, checked by sage-package
# as any), two autotools-like packages, and a Makefile with one target per
# package as build/make/Makefile.in's template writes it. Nothing of
# sage-spkg, sage-dist-helpers, sage-spkg-uninstall or sage_bootstrap is
# changed, except by stagemerge's patch in the modes that use it.
#
# Usage: sage-tree.bash DIR MODE SAGE_ROOT_SRC CONTRIB VENV_TEMPLATE WHEEL...
#   MODE: upstream   the scripts as released (sage-spkg's tar pipe)
#         stagemerge stagemerge's patch and files (contrib/sage) applied
#   (the drop-in's fallback is the stagemerge tree with SAGE_STAGEMERGE=no)
#   WHEEL: a .whl file; its package is named after its distribution.
# Writes DIR/env (to source: SAGE_ROOT, SAGE_LOCAL, SAGE_LOGS, PATH without
# stagemerge) and DIR/Makefile (target `all`), and prints one line per
# package: "NAME VERSION".
set -euo pipefail
W=$1 MODE=$2 SRC=$3 CONTRIB=$4 VENV=$5
shift 5
R="$W/sage_root"
L="$W/local"
rm -rf "$W"
mkdir -p "$W" "$W/logs"
cp -a "$SRC" "$R"
if [ "$MODE" = stagemerge ]; then
    cp -R "$CONTRIB/build/." "$R/build/"
    patch -s -p1 -d "$R" < "$CONTRIB/sage-spkg.patch"
fi
# What ./configure substitutes: the prefix, the tree, the venv; no
# compiler flags or system-package prefixes are needed by these packages.
for f in src/bin/sage-env-config src/bin/sage-src-env-config build/bin/sage-build-env-config; do
    sed -e "s|@prefix@|$L|g" -e "s|@SAGE_ROOT@|$R|g" -e "s|@SAGE_VENV@|$L|g" \
        -e 's|@[A-Za-z_0-9]*@||g' "$R/$f.in" > "$R/$f"
done
cp -a "$VENV" "$L"
mkdir -p "$R/upstream" "$L/var/lib/sage/installed"

pkgs=()
for whl in "$@"; do
    f=${whl##*/}
    dist=${f%%-*}
    rest=${f#*-}
    ver=${rest%%-*}
    tail=${rest#*-}
    base=$(echo "$dist" | tr 'A-Z.-' 'a-z__')
    p="$R/build/pkgs/$base"
    rm -rf "$p"
    mkdir -p "$p"
    echo standard > "$p/type"
    echo "$ver" > "$p/package-version.txt"
    printf 'tarball=%s-VERSION-%s\nsha1=%s\nsha256=%s\n' "$dist" "$tail" \
        "$(sha1sum "$whl" | cut -d' ' -f1)" "$(sha256sum "$whl" | cut -d' ' -f1)" > "$p/checksums.ini"
    cp "$whl" "$R/upstream/"
    pkgs+=("$base $ver")
done

# Two packages as autotools builds install them: a shared library, its
# libtool archive, a header, a shared documentation directory (with a name
# holding a space, a tab, a newline); libbar's install replaces the staged lib64 -> lib
# symlink with a directory, as some cmake builds do; libfoo's spkg-postinst
# has the lines of pkgconf's real one (a script made from a template and put
# into the prefix with sdh_install).
for n in foo bar; do
    p="$R/build/pkgs/lib$n"
    rm -rf "$p"
    mkdir -p "$p" "$W/src/lib$n-1.0"
    echo standard > "$p/type"
    echo 1.0 > "$p/package-version.txt"
    lib64_dir=
    [ "$n" = bar ] && lib64_dir='rm -f $(D)/lib64 && '
    cat > "$W/src/lib$n-1.0/Makefile" <<MK
D = \$(DESTDIR)\$(SAGE_LOCAL)
all:
install:
	${lib64_dir}mkdir -p \$(D)/lib64 \$(D)/lib \$(D)/include '\$(D)/share/doc/common'
	printf 'ELF $n' > \$(D)/lib64/lib$n.so.1
	ln -sf lib$n.so.1 \$(D)/lib64/lib$n.so
	printf "libdir='\$(SAGE_LOCAL)/lib'" > \$(D)/lib/lib$n.la
	printf 'int $n(void);' > \$(D)/include/$n.h
	printf 'doc' > '\$(D)/share/doc/common/READ ME.$n'
	printf 'doc' > "\$(D)/share/doc/common/\$\$(printf 'tab\\tname').$n"
	printf 'doc' > "\$(D)/share/doc/common/\$\$(printf 'new\\nline').$n"
MK
    tar czf "$R/upstream/lib$n-1.0.tar.gz" -C "$W/src" "lib$n-1.0"
    t="$R/upstream/lib$n-1.0.tar.gz"
    printf 'tarball=lib%s-VERSION.tar.gz\nsha1=%s\nsha256=%s\n' "$n" \
        "$(sha1sum "$t" | cut -d' ' -f1)" "$(sha256sum "$t" | cut -d' ' -f1)" > "$p/checksums.ini"
    printf 'cd src\nsdh_make\nsdh_make_install\n' > "$p/spkg-install.in"
    pkgs+=("lib$n 1.0")
done
printf '#!/bin/sh\necho "-L@SAGE_LOCAL@/lib -lfoo"\n' > "$R/build/pkgs/libfoo/foo-config.in"
cat > "$R/build/pkgs/libfoo/spkg-postinst.in" <<'EOF'
# As pkgconf's spkg-postinst: a script made from a template, installed with
# sdh_install once the package's files are in the prefix.
rm -f "$SAGE_LOCAL/bin/foo-config"
sed "s|@SAGE_LOCAL@|$SAGE_LOCAL|" foo-config.in > foo-config.out || \
    sdh_die "Error creating the foo-config script."
chmod 755 foo-config.out
sdh_install -T foo-config.out "$SAGE_LOCAL/bin/foo-config"
EOF

# The environment of build/make: the tree's scripts first, then the venv.
path=$(echo "$PATH" | tr ':' '\n' | grep -v "/target/\(debug\|release\)$" | paste -sd:)
cat > "$W/env" <<EOF
export SAGE_ROOT='$R' SAGE_LOCAL='$L' SAGE_LOGS='$W/logs'
export PATH='$R/build/bin:$R/src/bin:$L/bin:$path'
EOF

# build/make/Makefile.in's NORMAL_PACKAGE_templ, one target per package.
{
    printf 'all:'
    for p in "${pkgs[@]}"; do printf ' %s' "$L/var/lib/sage/installed/${p/ /-}"; done
    printf '\n\n'
    for p in "${pkgs[@]}"; do
        n=${p% *} v=${p#* }
        printf '%s:\n' "$L/var/lib/sage/installed/$n-$v"
        printf "\t+@sage-logger -p 'PATH=\$(SAGE_ROOT)/src/bin:\$(SAGE_LOCAL)/bin:\$\$PATH sage-spkg %s \$(SAGE_LOCAL)' '\$(SAGE_LOGS)/%s.log'\n\n" "$n-$v" "$n-$v"
    done
} > "$W/Makefile"
printf '%s\n' "${pkgs[@]}"
