"""Sage's unload step against stagemerge with the record Sage's drop-in
writes, over the corpus's wheel stages, one process chain per package, in
one run (issue 27).

Usage: python3 bench/sage_step.py [--fs tmpfs|disk|both] [--runs N]

Upstream's step (passagemath-conf's build/bin/sage-spkg, unload_destdir):
the file list (`find . -type f -o -type l | sed | sort`), the `tar` pipe
into the prefix, then `rm -rf` of the stage. stagemerge's (the drop-in,
contrib/sage/build/bin/sage-spkg-stagemerge): `stagemerge merge
--sage-record ... --manifest-dir INST` (the record pending in the
directory of records, the other packages' records read for ownership),
then `rm -rf` of what is left of the stage. Each package is its own
process chain, one after another, as `make` runs them one at a time.

Cells: fresh (an empty prefix, no records) and reinstall (the prefix and
the directory of records as a first install of the same packages left
them, so every file meets an identical one and every record its own
earlier version). hyperfine times the loop over all packages; the reset
of the stages, prefix and records is its untimed prepare step.

Writes bench/out/sage-step-FS.json and prints the table BENCHMARKS.md quotes.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the harness: corpus, hyperfine, paths)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fs", default="both", choices=["tmpfs", "disk", "both"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", default=os.path.join(run.BIN, "stagemerge"),
                    help="the stagemerge to time (default: this tree's release build)")
    a = ap.parse_args()
    if shutil.which("hyperfine") is None:
        run.sh("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null")
    if a.bin == os.path.join(run.BIN, "stagemerge"):
        run.sh(f"cd '{run.ROOT}' && cargo build --release --quiet -p stagemerge")
    corpus = os.path.join(run.ROOT, "target", "corpus")
    run.sh(f"bash '{run.ROOT}/tests/corpus/build.sh' '{corpus}'")
    os.makedirs(run.OUT, exist_ok=True)
    rows = []
    for fs in (["tmpfs", "disk"] if a.fs == "both" else [a.fs]):
        rows += bench_fs(fs, a.runs, corpus, a.bin)
    print("| filesystem | cell | upstream's step | stagemerge (Sage's record) | ratio |")
    print("|:---|:---|---:|---:|---:|")
    for fs, cell, up, sm in rows:
        print(f"| {fs} | {cell} | {up * 1000:.0f} ms | {sm * 1000:.0f} ms | **{sm / up:.3f}** |")


def bench_fs(fs, runs, corpus, sm):
    base = tempfile.mkdtemp(prefix="stagemerge-sage-step-", dir=run.FS[fs])
    p = lambda *x: os.path.join(base, *x)
    wheels = sorted(os.listdir(os.path.join(corpus, "wheels")))
    # The stages, kept pristine: each run works on hard links to them.
    os.makedirs(p("stages"))
    for w in wheels:
        run.sh(f"cp -a '{os.path.join(corpus, 'wheels', w)}' '{p('stages', w)}'")
    S, T, INST = p("S"), p("T"), p("inst")
    names = " ".join(wheels)
    stage = f"rm -rf '{S}' && mkdir '{S}' && for w in {names}; do cp -al '{p('stages')}'/$w '{S}'/$w; done"
    # One install by stagemerge leaves the prefix and the records a
    # reinstall starts from (upstream's reinstall starts from the same
    # prefix: its files are identical either way).
    merge_one = (f"stagemerge_one() {{ '{sm}' merge -q --sage-record '{INST}'/.$1-1.stagemerge-pending "
                 f"--package $1 --package-version 1 --manifest-dir '{INST}' '{S}'/$1 '{T}' "
                 f"&& mv '{INST}'/.$1-1.stagemerge-pending '{INST}'/$1-1 && rm -rf '{S}'/$1; }}")
    run.sh(f"{stage} && rm -rf '{T}' '{INST}' && mkdir '{T}' '{INST}' && bash -c \"$(cat <<'EOF'\n{merge_one}\nfor w in {names}; do stagemerge_one $w || exit 1; done\nEOF\n)\"")
    run.sh(f"rm -rf '{p('installed')}' '{p('records')}' && cp -a '{T}' '{p('installed')}' && cp -a '{INST}' '{p('records')}'")
    upstream_one = ("upstream_one() { ( cd \"$1\" && FILE_LIST=\"$(find . -type f -o -type l | sed 's|^\\./||' | sort)\" "
                    f"&& (cd \"$1\" && tar cf - .) | tar xpf - -C '{T}' ) && rm -rf \"$1\"; }}")
    script_up = p("upstream.sh")
    script_sm = p("stagemerge.sh")
    with open(script_up, "w") as fh:
        fh.write(f"{upstream_one}\nfor w in {names}; do upstream_one '{S}'/$w || exit 1; done\n")
    with open(script_sm, "w") as fh:
        fh.write(f"{merge_one}\nfor w in {names}; do stagemerge_one $w || exit 1; done\n")
    out = []
    cells = {
        "fresh": f"rm -rf '{T}' '{INST}' && mkdir '{T}' '{INST}'",
        "reinstall": f"rm -rf '{T}' '{INST}' && cp -a '{p('installed')}' '{T}' && cp -a '{p('records')}' '{INST}'",
    }
    results = {}
    for cell, reset in cells.items():
        res = run.hyperfine(f"{fs} sage step {cell}", f"{stage} && {reset} && sync",
                            [("upstream's step", f"bash '{script_up}'"),
                             ("stagemerge (Sage's record)", f"bash '{script_sm}'")],
                            runs, p(f"{cell}.json"))
        med = {r["command"]: r["median"] for r in res}
        results[cell] = res
        out.append((fs, cell, med["upstream's step"], med["stagemerge (Sage's record)"]))
    with open(os.path.join(run.OUT, f"sage-step-{fs}.json"), "w") as fh:
        json.dump({"packages": len(wheels), "cells": results}, fh, indent=1)
    shutil.rmtree(base)
    return out


if __name__ == "__main__":
    sys.exit(main())
