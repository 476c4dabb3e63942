"""Start-up: what one `stagemerge merge` process costs before it does any
work, and what that cost comes to when a build runs one merge per package
(Sage's `make -j` unloads each package's DESTDIR on its own).

Usage: python3 bench/startup.py [--runs N] [--fs tmpfs|disk] [--no-build]
                                [--baseline OLDER-STAGEMERGE]

Builds (unless --no-build) the release binaries the usual way (`cargo build
--release`: dynamically linked) and the binary the wheel ships (the same
code, the final link static: `cargo rustc --release --bin stagemerge --
-C target-feature=+crt-static`, as pyproject.toml's `rustc-args`), then
times with hyperfine in one run:

  empty        a whole `merge -q` process of an empty stage into an empty
               directory, against `cp -Rp` of an empty directory and `true`
  per-process  every wheel stage of the corpus merged into a prefix that has
               every directory already (the overlay; a file two wheels share
               goes in with the first), one process per stage in turn,
               against the floor (bench/floor: one renameat2(RENAME_NOREPLACE)
               per file) run the same way

Prints the tables BENCHMARKS.md quotes, with the ratios the issue's targets
are stated in (empty: stagemerge / cp -Rp <= 1; per-process: stagemerge /
floor <= 1.3).
"""

import argparse
import os
import shutil
import subprocess
import tempfile

import run as R

STATIC = os.path.join(R.ROOT, "target", "static")


def build():
    R.sh("cargo build --release --locked -p stagemerge -p stagemerge-bench-floor", cwd=R.ROOT)
    os.makedirs(STATIC, exist_ok=True)
    shutil.copy2(os.path.join(R.BIN, "stagemerge"), os.path.join(STATIC, "stagemerge-dynamic"))
    R.sh("cargo rustc --release --locked -p stagemerge --bin stagemerge -- -C target-feature=+crt-static",
         cwd=R.ROOT)
    shutil.copy2(os.path.join(R.BIN, "stagemerge"), os.path.join(STATIC, "stagemerge"))
    # Leave target/release/stagemerge as a plain build makes it.
    R.sh("cargo build --release --locked -p stagemerge", cwd=R.ROOT)


def timed(name, prepare, commands, runs, base):
    """run.py's hyperfine (a failing run stops the benchmark), its results
    by command label."""
    res = R.hyperfine(name, prepare, commands, runs, os.path.join(base, name + ".json"),
                      ignore_failure=False)
    return {r["command"]: r for r in res}


def table(res, ref):
    print("| command | mean | median | user | system | / " + ref + " |")
    print("|:---|---:|---:|---:|---:|---:|")
    base = res[ref]["mean"]
    for name, r in res.items():
        print(f"| {name} | {r['mean'] * 1e3:.2f} ms | {r['median'] * 1e3:.2f} ms | {r['user'] * 1e3:.2f} ms "
              f"| {r['system'] * 1e3:.2f} ms | {r['mean'] / base:.2f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--fs", default="tmpfs", choices=["tmpfs", "disk"])
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--baseline", help="another stagemerge binary (an older build) timed beside these")
    a = ap.parse_args()
    if not a.no_build:
        build()
    shipped = os.path.join(STATIC, "stagemerge")
    dynamic = os.path.join(STATIC, "stagemerge-dynamic")
    floor = os.path.join(R.BIN, "floor")
    for b in (shipped, dynamic):
        print(f"{b}: {os.path.getsize(b) / 1e6:.1f} MB, "
              f"{subprocess.run(['file', '-b', b], capture_output=True, text=True).stdout.split(',')[3].strip()}")
    base = tempfile.mkdtemp(prefix="stagemerge-startup-", dir=R.FS[a.fs])
    p = lambda *x: os.path.join(base, *x)
    os.makedirs(p("e"))
    os.makedirs(p("t"))
    os.makedirs(p("c"))
    empty = timed("empty", None, [
        ("stagemerge merge (shipped: static)", f"{shipped} merge -q {p('e')} {p('t')}"),
        ("stagemerge merge (cargo build: dynamic)", f"{dynamic} merge -q {p('e')} {p('t')}"),
    ] + ([("baseline", f"{a.baseline} merge -q {p('e')} {p('t')}")] if a.baseline else []) + [
        ("cp -Rp", f"cp -Rp {p('e')}/. {p('c')}"),
        ("true", "true"),
    ], a.runs, base)
    table(empty, "cp -Rp")

    corpus = os.path.join(R.ROOT, "target", "corpus", "wheels")
    wheels = sorted(os.listdir(corpus))
    for d in ("all", "stages", "pristine"):
        os.makedirs(p(d))
    # Each stage holds what no earlier stage had, so that every stage is an
    # overlay, a rename into an existing directory per file, as the floor
    # does it (a file two wheels share goes in with the first that has it).
    for w in wheels:
        R.sh(f"cp -a '{os.path.join(corpus, w)}' '{p('all', w)}'")
        R.link_tree(p("all", w), p("stages", w), unless=p("pristine"))
        R.link_tree(p("stages", w), p("pristine"))
    R.skeleton(p("pristine"), p("skeleton"))
    S, T = p("S"), p("T")
    prepare = (f"rm -rf '{S}' '{T}' && cp -al '{p('stages')}' '{S}' && cp -a '{p('skeleton')}' '{T}' && sync")
    each = lambda cmd: f"sh -c 'for w in {' '.join(wheels)}; do {cmd} \"{S}/$w\" \"{T}\" || exit 1; done'"
    per = timed("per-process", prepare, [
        ("stagemerge merge (shipped: static)", each(f"{shipped} merge -q")),
        ("stagemerge merge (cargo build: dynamic)", each(f"{dynamic} merge -q")),
    ] + ([("baseline", each(f"{a.baseline} merge -q"))] if a.baseline else []) + [
        ("floor", each(floor)),
    ], max(10, a.runs // 20), base)
    print(f"\n{len(wheels)} wheel stages, {R.count_entries(p('pristine'))} entries, one process per stage")
    table(per, "floor")
    shutil.rmtree(base)


if __name__ == "__main__":
    main()
