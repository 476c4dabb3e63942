"""A/B: this build of stagemerge against another (an older commit), on the
overlay and reinstall workloads of run.py (the corpus's wheel stages merged
into one STAGE), alternating run by run in ABBA order so that neither binary
always runs first (hyperfine runs all of one command, then all of the next,
and on tmpfs the later command was measured up to 6% faster either way).

Usage: python3 bench/ab.py OLDER-STAGEMERGE [--fs tmpfs|disk] [--runs N]
       python3 bench/ab.py --records text|json [--fs tmpfs|disk] [--runs N]

With --records, the two sides are this build with a record of that format
(`--manifest`, removed before each run, so every run writes it afresh)
and this build without: the ratio is what the record costs (issue 27:
at most 1.1 for text, 2 for JSON), measured in the same alternating order.

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
    ap.add_argument("older", nargs="?")
    ap.add_argument("--records", choices=["text", "json"],
                    help="compare this build with a record of this format against it without one")
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
    S, T, M = p("S"), p("T"), p("record")
    if (a.older is None) == (a.records is None):
        ap.error("give either an older stagemerge or --records")
    # Each side: its label and its command line (the record's removal is
    # part of the untimed reset).
    plain = ("this", [this, "merge", "-q", S, T])
    if a.records:
        fmt = ["--manifest-format", "json"] if a.records == "json" else []
        other = (f"this, {a.records} record", [this, "merge", "-q", "--manifest", M] + fmt + [S, T])
        sides = [other, plain]
    else:
        sides = [plain, ("older", [a.older, "merge", "-q", S, T])]
    (la, _), (lb, _) = sides
    print(f"{R.count_entries(p('pristine'))} entries, {a.fs}, {a.runs} runs each, ABBA order")
    print(f"| workload | {la} | {lb} | ratio | user CPU {la} | user CPU {lb} |")
    print("|:---|---:|---:|---:|---:|---:|")
    for name, target in [("overlay", "skeleton"), ("reinstall", "older")]:
        times = {la: [], lb: []}
        user = {la: [], lb: []}
        for i in range(a.runs):
            order = sides if i % 4 in (0, 3) else sides[::-1]
            for label, cmd in order:
                R.sh(f"rm -rf '{S}' '{T}' '{M}' '{M}.stagemerge-journal' && cp -al '{p('pristine')}' '{S}' "
                     f"&& cp -a '{p(target)}' '{T}' && sync")
                u0 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True)
                times[label].append(time.perf_counter() - t0)
                user[label].append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - u0)
        m_this, m_old = statistics.median(times[la]), statistics.median(times[lb])
        u_this, u_old = statistics.median(user[la]), statistics.median(user[lb])
        print(f"| {name} | {m_this * 1000:.1f} ms | {m_old * 1000:.1f} ms | {m_this / m_old:.3f} "
              f"| {u_this * 1000:.1f} ms | {u_old * 1000:.1f} ms |", flush=True)
    R.sh(f"rm -rf '{base}'")


if __name__ == "__main__":
    main()
