"""Uninstall's cost against `rm` of the same files (issue 23).

Usage: python3 bench/uninstall.py [--runs N] [--fs tmpfs|disk] [--files N] [--no-build]

Two shapes, each timed with hyperfine in one run, TARGET laid anew (hard
links of a pristine install, not timed) before every run:

  wide   N files (200,000 by default) in one directory, installed with a
         text record and with a JSON record:
           stagemerge uninstall --manifest text-record T
           stagemerge uninstall --manifest json-record T   (every digest read)
           rm: xargs rm -f of the same list, run in T
  deep   one file below a 2,000-deep path (a 4,000-byte path):
           stagemerge uninstall --manifest record T
           rm -rf T's top directory

The target: wide, text record, at most 1.5x rm; deep well under a second.
"""

import argparse
import os
import tempfile

import run as R

BIN = os.path.join(R.ROOT, "target", "release", "stagemerge")


def wide(base, files, runs):
    p = lambda *x: os.path.join(base, *x)
    os.makedirs(p("stage", "d"))
    for i in range(files):
        with open(p("stage", "d", f"f{i:06}"), "wb") as fh:
            fh.write(b"x\n")
    os.makedirs(p("installed"))
    R.sh(f"cp -al '{p('stage')}' '{p('stage-json')}'")
    R.sh(f"'{BIN}' merge -q --manifest '{p('text')}' '{p('stage')}' '{p('installed')}'")
    os.makedirs(p("installed-json"))
    R.sh(f"'{BIN}' merge -q --manifest '{p('json')}' --manifest-format json "
         f"'{p('stage-json')}' '{p('installed-json')}'")
    T = p("T")
    prepare = lambda src, rec: (f"rm -rf '{T}' '{p('rec')}' && cp -al '{p(src)}' '{T}' "
                                f"&& cp '{p(rec)}' '{p('rec')}'")
    results = []
    for label, src, rec, cmd in [
        ("stagemerge, text record", "installed", "text",
         f"'{BIN}' uninstall -q --manifest '{p('rec')}' '{T}'"),
        ("stagemerge, JSON record", "installed-json", "json",
         f"'{BIN}' uninstall -q --manifest '{p('rec')}' '{T}'"),
        ("rm of the same list", "installed", "text",
         f"cd '{T}' && xargs rm -f < '{p('rec')}'"),
    ]:
        results += R.hyperfine(f"wide: {files} files in one directory", prepare(src, rec),
                               [(label, cmd)], runs, p("wide.json"), ignore_failure=False)
    return results


def deep(base, runs):
    p = lambda *x: os.path.join(base, *x)
    path = "/".join(["d"] * 2000)
    # Made one component at a time below an open directory: the path is
    # longer than the kernel takes in one call.
    fd = os.open(base, os.O_RDONLY)
    os.mkdir("stage", dir_fd=fd)
    here = os.open("stage", os.O_RDONLY, dir_fd=fd)
    for _ in range(2000):
        os.mkdir("d", dir_fd=here)
        nxt = os.open("d", os.O_RDONLY, dir_fd=here)
        os.close(here)
        here = nxt
    f = os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=here)
    os.write(f, b"deep\n")
    os.close(f)
    os.close(here)
    os.close(fd)
    os.makedirs(p("installed"))
    R.sh(f"'{BIN}' merge -q --manifest '{p('record')}' '{p('stage')}' '{p('installed')}'")
    T = p("T")
    prepare = (f"rm -rf '{T}' '{p('rec')}' && cp -a '{p('installed')}' '{T}' "
               f"&& cp '{p('record')}' '{p('rec')}'")
    return R.hyperfine("deep: one file below a 2,000-deep path", prepare, [
        ("stagemerge", f"'{BIN}' uninstall -q --manifest '{p('rec')}' '{T}'"),
        ("rm -rf", f"rm -rf '{T}/d'"),
    ], runs, p("deep.json"), ignore_failure=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--fs", choices=list(R.FS), default="tmpfs")
    ap.add_argument("--files", type=int, default=200_000)
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    if not a.no_build:
        R.sh("cargo build --release --locked -p stagemerge", cwd=R.ROOT)
    base = tempfile.mkdtemp(prefix="stagemerge-bench-uninstall-", dir=R.FS[a.fs])
    try:
        for shape in ("wide", "deep"):
            os.makedirs(os.path.join(base, shape))
        w = wide(os.path.join(base, "wide"), a.files, a.runs)
        d = deep(os.path.join(base, "deep"), a.runs)
    finally:
        # The 2,000-deep tree is deeper than shutil.rmtree recurses.
        R.sh(f"rm -rf '{base}'")
    rm = next(r for r in w if r["command"] == "rm of the same list")["mean"]
    print(f"\n## uninstall on {a.fs} ({a.runs} runs each, mean)\n")
    print("| shape | command | mean | ratio to rm |")
    print("|---|---|---|---|")
    for r in w:
        print(f"| {a.files} files, one directory | {r['command']} | {r['mean'] * 1e3:.1f} ms "
              f"| {r['mean'] / rm:.2f}x |")
    for r in d:
        print(f"| one file, 2,000 deep | {r['command']} | {r['mean'] * 1e3:.1f} ms | |")


if __name__ == "__main__":
    main()
