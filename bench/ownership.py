"""Ownership: what `--manifest-dir` costs a merge (issue 13).

Usage: python3 bench/ownership.py [--runs N] [--fs tmpfs|disk] [--no-build]

On the corpus's wheel stages merged into one stage (as bench/run.py's
overlay and reinstall), times with hyperfine in one run, each merge writing
its JSON record:

  without           merge --manifest R --manifest-format json
  --manifest-dir    the same with --manifest-dir DIR, DIR holding 300 JSON
                    records of 50 files each (other packages', with digests)
  floor, cp -Rp     the references of bench/run.py, run the same way

and measures peak memory (RSS) of the merge with 0, 300 and 3000 records in
DIR. Prints the tables BENCHMARKS.md quotes; the target: --manifest-dir /
without <= 1.2.
"""

import argparse
import hashlib
import json
import os
import shutil
import tempfile

import run as R


def records(dir, n, files):
    """n JSON records of `files` files each, as stagemerge writes them."""
    os.makedirs(dir, exist_ok=True)
    for i in range(n):
        entries = []
        for j in range(files):
            digest = hashlib.sha256(f"{i}/{j}".encode()).hexdigest()
            entries.append({"path": f"opt/pkg{i}/share/f{j}", "kind": "file",
                            "size": 64, "mode": "0644", "sha256": digest})
        doc = {"format": "stagemerge-manifest", "version": 1, "files": entries}
        with open(os.path.join(dir, f"pkg{i}-1.0"), "w") as fh:
            json.dump(doc, fh)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--fs", choices=list(R.FS), default="tmpfs")
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    if not a.no_build:
        R.sh("cargo build --release --locked -p stagemerge -p stagemerge-bench-floor", cwd=R.ROOT)
    corpus = os.path.join(R.ROOT, "target", "corpus")
    base = tempfile.mkdtemp(prefix="stagemerge-bench-own-", dir=R.FS[a.fs])
    p = lambda *x: os.path.join(base, *x)
    # A private copy on the benchmark's filesystem, merged into one stage.
    R.sh(f"cp -a '{os.path.join(corpus, 'wheels')}' '{p('wheels')}'")
    os.makedirs(p("pristine"))
    for w in sorted(os.listdir(p("wheels"))):
        R.link_tree(p("wheels", w), p("pristine"))
    R.skeleton(p("pristine"), p("skeleton"))
    R.changed_copy(p("pristine"), p("older"))
    entries = R.count_entries(p("pristine"))
    for n, files in [(0, 0), (300, 50), (3000, 50)]:
        records(p(f"records{n}"), n, files)
    S, T, M = p("S"), p("T"), p("record")
    sm, floor = os.path.join(R.BIN, "stagemerge"), os.path.join(R.BIN, "floor")
    reset = f"rm -rf '{S}' '{T}' '{M}' '{M}.stagemerge-journal' && cp -al '{p('pristine')}' '{S}'"
    merge = f"{sm} merge -q --manifest '{M}' --manifest-format json"
    print(f"{entries} entries staged; records: 300 x 50 files")
    for shape, target, floor_args in [("overlay", "skeleton", ""), ("reinstall", "older", "--replace ")]:
        prepare = f"{reset} && cp -a '{p(target)}' '{T}' && sync"
        res = R.hyperfine(f"{a.fs} ownership {shape}", prepare, [
            ("without", f"{merge} '{S}' '{T}'"),
            ("with manifest-dir (300 records)", f"{merge} --manifest-dir '{p('records300')}' '{S}' '{T}'"),
            ("floor", f"{floor} {floor_args}'{S}' '{T}'"),
            ("cp -Rp", f"cp -Rp '{S}/.' '{T}'"),
        ], a.runs, p(f"{shape}.json"))
        by = {r["command"]: r for r in res}
        ref = by["without"]["mean"]
        print(f"\n{shape} ({a.fs}, {a.runs} runs)\n")
        print("| command | mean | median | / without | / floor |")
        print("|:---|---:|---:|---:|---:|")
        for name, r in by.items():
            print(f"| {name} | {r['mean']*1e3:.1f} ms | {r['median']*1e3:.1f} ms "
                  f"| {r['mean']/ref:.2f} | {r['mean']/by['floor']['mean']:.2f} |")
    print("\npeak memory of the overlay merge (max RSS)\n")
    print("| records in --manifest-dir | files listed | peak RSS |")
    print("|---:|---:|---:|")
    for n in (0, 300, 3000):
        prepare = f"{reset} && cp -a '{p('skeleton')}' '{T}'"
        dir_arg = f"--manifest-dir '{p(f'records{n}')}'" if n else ""
        kib = R.peak_kib(f"{merge} {dir_arg} '{S}' '{T}'", prepare)
        print(f"| {n} | {n*50} | {kib/1024:.1f} MiB |")
    shutil.rmtree(base)


if __name__ == "__main__":
    main()
