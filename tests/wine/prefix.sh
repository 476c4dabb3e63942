# Sourced by tests/wine.sh and tests/wheels-all.sh: a Wine prefix of the
# project's own under target/ (WINEPREFIX exported), with the stand-in for
# bcryptprimitives.dll that Rust programs import and Wine 8 lacks
# (tests/wine/bcryptprimitives.c), and one wineserver for the whole run,
# started with its output detached (started on demand by a test's program,
# Wine's services inherit its stdout and stderr, and whoever reads them then
# waits until they exit). Needs wine and x86_64-w64-mingw32-gcc.
export WINEPREFIX="$PWD/target/wine-prefix" WINEDEBUG=-all
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    # No Mono or Gecko: nothing here needs .NET or HTML, and their installers
    # would ask. First use takes about 10 s.
    WINEDLLOVERRIDES="mscoree,mshtml=" wineboot --init >/dev/null 2>&1 || true
    wineserver -w
fi
x86_64-w64-mingw32-gcc -O2 -shared -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
    tests/wine/bcryptprimitives.c -ladvapi32
wineserver -p </dev/null >/dev/null 2>&1
