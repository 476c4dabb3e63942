#!/usr/bin/env bash
# The Windows build under Wine (run by tests/run-all.sh): builds
# stagemerge.exe for x86_64-pc-windows-gnu (sandbox included), prepares a
# Wine prefix of its own under target/, then runs
#   - the `windows::` integration tests (ignored in the ordinary run), which
#     drive stagemerge.exe on host temp directories, and
#   - the core's unit tests built for Windows, with Wine as cargo's runner.
# Ends with a line of counts (passed, failed, skipped) and each skip's reason.
# Extra arguments go to cargo test (e.g. a filter).
#
# As root with apt it installs wine (Debian's wine64) when missing; without
# it the Windows runs are skipped, saying why (exit 0).
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-pc-windows-gnu
if ! command -v wine >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "wine.sh: installing wine64"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine wine64 >/dev/null
fi
for tool in wine x86_64-w64-mingw32-gcc; do
    if ! command -v "$tool" >/dev/null; then
        echo "windows: skipped: $tool not found (the test command installs it as root on Debian/Ubuntu)"
        exit 0
    fi
done

started=$(date +%s)
cargo build --locked -p stagemerge --bins --target "$target"
exe="$PWD/target/$target/debug/stagemerge.exe"

# A prefix of our own, Wine's stand-in DLL, one wineserver.
. tests/wine/prefix.sh
wine "$exe" --version </dev/null >/dev/null 2>&1
wine "$exe" --version

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
status=0
# The fixtures are checked by the test binary on the host; only stagemerge.exe
# runs under Wine. Output is not captured, so each skip's reason shows.
# The kill test runs alone afterwards: it times an uninterrupted merge to
# spread its kills, which the 16-merge rounds beside it would slow down.
kill_test=windows::killed_merges_rerun_to_the_record_an_uninterrupted_run_writes
export STAGEMERGE_WINDOWS_EXE="$exe"
cargo test --locked -p stagemerge --test tests "$@" -- --ignored windows:: --skip "$kill_test" \
    --nocapture 2>&1 | tee "$logs/scenarios" || status=$?
cargo test --locked -p stagemerge --test tests "$@" -- --ignored "$kill_test" --exact \
    --nocapture 2>&1 | tee -a "$logs/scenarios" || status=$?
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine \
    cargo test --locked -p stagemerge-core --target "$target" "$@" 2>&1 | tee "$logs/core" || status=$?
wineserver -k || true

# Counts per part; a skipped test returns early, so cargo counts it passed.
count() {
    local skips
    skips=$(grep -c 'skipped under Wine: ' "$2" || true)
    awk -v what="$1" -v skips="$skips" '
        /^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
        END { printf "windows: %s: %d passed, %d failed, %d skipped\n", what, p - skips, f, skips }' "$2"
}
count "stagemerge.exe scenarios under Wine" "$logs/scenarios"
count "core unit tests under Wine" "$logs/core"
grep -o 'skipped under Wine: .*' "$logs/scenarios" | sed 's/^skipped under Wine: /  skipped: /' || true
echo "windows: took $(( $(date +%s) - started )) s"
exit "$status"
