"""A/B: this build of stagemerge against another (an older commit), on the
overlay and reinstall workloads of run.py (the corpus's wheel stages merged
into one STAGE), alternating run by run in ABBA order so that neither binary
always runs first (hyperfine runs all of one command, then all of the next,
and on tmpfs the later command was measured up to 6% faster either way).

Usage: python3 bench/ab.py OLDER-STAGEMERGE [--fs tmpfs|disk] [--runs N]

Prints, per workload, the median wall time of each, the ratio this/older
(≤ 1.03 is "no slower than before"), and the median user CPU time of each
(the system calls are the same; `strace -c` counts them).
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (the workloads' trees are built the same way)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("older")
    ap.add_argument("--fs", default="tmpfs", choices=["tmpfs", "disk"])
    ap.add_argument("--runs", type=int, default=40)
    a = ap.parse_args()
    this = os.path.join(R.BIN, "stagemerge")
    corpus = os.path.join(R.ROOT, "target", "corpus", "wheels")
    base = tempfile.mkdtemp(prefix="stagemerge-ab-", dir=R.FS[a.fs])
    p = lambda *x: os.path.join(base, *x)
    os.makedirs(p("pristine"))
    for w in sorted(os.listdir(corpus)):
        R.sh(f"cp -a '{os.path.join(corpus, w)}' '{p('stage-' + w)}'")
        R.link_tree(p("stage-" + w), p("pristine"))
    R.skeleton(p("pristine"), p("skeleton"))
    R.changed_copy(p("pristine"), p("older"))
    S, T = p("S"), p("T")
    print(f"{R.count_entries(p('pristine'))} entries, {a.fs}, {a.runs} runs each, ABBA order")
    print("| workload | this | older | this/older | user CPU this | user CPU older |")
    print("|:---|---:|---:|---:|---:|---:|")
    for name, target in [("overlay", "skeleton"), ("reinstall", "older")]:
        times = {this: [], a.older: []}
        user = {this: [], a.older: []}
        for i in range(a.runs):
            order = [this, a.older] if i % 4 in (0, 3) else [a.older, this]
            for binary in order:
                R.sh(f"rm -rf '{S}' '{T}' && cp -al '{p('pristine')}' '{S}' && cp -a '{p(target)}' '{T}' && sync")
                u0 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
                t0 = time.perf_counter()
                subprocess.run([binary, "merge", "-q", S, T], check=True)
                times[binary].append(time.perf_counter() - t0)
                user[binary].append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - u0)
        m_this, m_old = statistics.median(times[this]), statistics.median(times[a.older])
        u_this, u_old = statistics.median(user[this]), statistics.median(user[a.older])
        print(f"| {name} | {m_this * 1000:.1f} ms | {m_old * 1000:.1f} ms | {m_this / m_old:.3f} "
              f"| {u_this * 1000:.1f} ms | {u_old * 1000:.1f} ms |", flush=True)
    R.sh(f"rm -rf '{base}'")


if __name__ == "__main__":
    main()
