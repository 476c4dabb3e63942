"""The benchmark harness: stagemerge against cp -Rp, cp -a, rsync -a, a tar
pipe and the syscall floor (bench/floor), on the real corpus of staged wheels
(tests/corpus/build.sh) and on synthetic trees, timed by hyperfine in the same
run, alternating methods.

Usage: python3 bench/run.py [--fs tmpfs|disk|both] [--runs N] [--quick]
                            [--synthetic-only] [--only WORKLOAD,...]
                            [--baseline OLDER-STAGEMERGE]

Writes bench/out/results-FS.json (every timing), bench/out/report-FS.md (the
tables BENCHMARKS.md quotes) and bench/out/us_per_entry-FS.svg (the chart),
FS being tmpfs, disk or both.

Workloads (each on a fresh copy made in hyperfine's untimed prepare step):
  fresh       the merged wheel stages into an empty prefix
  overlay     the same into a prefix that has every directory already
  reinstall   the same over a prefix with every file present, other contents
  identical   the same over a prefix with every file present, same contents
  parallel16  the wheel stages one by one, 16 at once, into an empty prefix
  copy        copy mode into an empty prefix (against cp -a)
  plan        plan of the merged wheel stages into a prefix holding every
              file (changed contents), natively and in the Wasmtime sandbox,
              against `find` listing both trees
  startup     plan of an empty stage, natively and in the sandbox (the cost
              of starting the sandbox with its module precompiled and cached)
  records     the overlay and reinstall merges without a record, with a
              text manifest, with a JSON manifest (digests), and with
              --sync against the floor plus a syncfs of STAGE before and of
              TARGET after (the cost of the journal and of durability), and
              cp -Rp of the same stage (a JSON merge must not be slower)
  synth100k   100,000 small files in 1,000 directories, overlay
  flat20k     20,000 files in one directory, overlay (and its plan, natively
              and in the sandbox, whose listing must stay linear)
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
BIN = os.path.join(ROOT, "target", "release")
FS = {"tmpfs": "/dev/shm", "disk": "/var/tmp"}


def sh(cmd, **kw):
    subprocess.run(cmd, shell=True, check=True, **kw)


def count_entries(path):
    n = 0
    for _, dirs, files in os.walk(path):
        n += len(dirs) + len(files)
    return n


def link_tree(src, dst, unless=None):
    """dst: the tree of src, files hard-linked, first version of a path wins;
    with `unless`, leaving out the paths that tree has too."""
    for base, dirs, files in os.walk(src):
        rel = os.path.relpath(base, src)
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        for f in files:
            to = os.path.join(dst, rel, f)
            if unless and os.path.lexists(os.path.join(unless, rel, f)):
                continue
            if not os.path.lexists(to):
                os.link(os.path.join(base, f), to, follow_symlinks=False)


def skeleton(src, dst):
    for base, dirs, _ in os.walk(src):
        os.makedirs(os.path.join(dst, os.path.relpath(base, src)), exist_ok=True)


def changed_copy(src, dst):
    """A copy of src whose every file has other contents."""
    sh(f"cp -a '{src}' '{dst}'")
    for base, _, files in os.walk(dst):
        for f in files:
            p = os.path.join(base, f)
            if not os.path.islink(p):
                os.chmod(p, 0o644)
                with open(p, "ab") as fh:
                    fh.write(b"\n# older\n")


def synthetic(dst, dirs, per_dir):
    for d in range(dirs):
        os.makedirs(os.path.join(dst, f"d{d}"), exist_ok=True)
        for i in range(per_dir):
            with open(os.path.join(dst, f"d{d}", f"f{i}"), "wb") as fh:
                fh.write(b"x" * 64)


def hyperfine(name, prepare, commands, runs, export, ignore_failure=True):
    """Times `commands` (label, shell command); `prepare` runs before each
    run. Without one (prepare None) the commands run without a shell, after
    20 warm-up runs: for start-up figures, where a shell would be most of
    the time."""
    args = ["hyperfine", "--style", "basic", "--runs", str(runs), "--export-json", export]
    args += ["-i"] if ignore_failure else []
    args += ["--prepare", prepare] if prepare else ["-N", "--warmup", "20"]
    for label, cmd in commands:
        args += ["-n", label, cmd]
    print(f"== {name}", flush=True)
    subprocess.run(args, check=True)
    with open(export) as fh:
        return json.load(fh)["results"]


def peak_kib(cmd, prepare):
    sh(prepare)
    out = subprocess.run(["/usr/bin/time", "-f", "%M", "sh", "-c", cmd],
                         capture_output=True, text=True, check=True)
    return int(out.stderr.strip().splitlines()[-1])


def run_fs(fs, runs, quick, corpus, synthetic_only=False, only=(), baseline=None):
    base = tempfile.mkdtemp(prefix="stagemerge-bench-", dir=FS[fs])
    p = lambda *a: os.path.join(base, *a)
    # The merged wheel stages, and per-stage copies for the parallel run.
    wheels = sorted(os.listdir(os.path.join(corpus, "wheels")))
    os.makedirs(p("stages"))
    for w in wheels:
        sh(f"cp -a '{os.path.join(corpus, 'wheels', w)}' '{p('stages', w)}'")
    # One stage: every wheel's tree merged (first version of a path wins).
    os.makedirs(p("pristine"))
    for w in wheels:
        link_tree(p("stages", w), p("pristine"))
    skeleton(p("pristine"), p("skeleton"))
    changed_copy(p("pristine"), p("older"))
    entries = count_entries(p("pristine"))
    S, T = p("S"), p("T")
    reset = f"rm -rf '{S}' '{T}'"
    farm = f"cp -al '{p('pristine')}' '{S}'"
    sm, floor = os.path.join(BIN, "stagemerge"), os.path.join(BIN, "floor")
    copiers = [
        ("cp -Rp", f"cp -Rp '{S}/.' '{T}'"),
        ("cp -a", f"cp -a '{S}/.' '{T}'"),
        ("rsync -a", f"rsync -a '{S}/' '{T}/'"),
        ("tar | tar", f"tar -C '{S}' -cf - . | tar -C '{T}' -xf -"),
    ]
    # Another build of stagemerge (an older commit) timed beside this one,
    # for "no slower than before" (--baseline).
    before = [("baseline (older stagemerge)", f"{baseline} merge -q '{S}' '{T}'")] if baseline else []
    results = {}
    memory = {}

    def work(name, prepare, commands, n=entries, r=runs):
        if only and name not in only:
            return
        res = hyperfine(f"{fs} {name}", prepare + " && sync", commands, r, p(f"{name}.json"))
        results[name] = {"entries": n, "results": [
            {"command": x["command"], "median": x["median"], "mean": x["mean"],
             "stddev": x["stddev"] or 0.0, "min": x["min"], "max": x["max"]} for x in res]}

    if not synthetic_only:
        work("fresh", f"{reset} && {farm} && mkdir '{T}'",
             [("stagemerge", f"{sm} merge -q '{S}' '{T}'"), ("floor (rename per top entry)", f"{floor} --fresh '{S}' '{T}'")] + copiers)
        work("overlay", f"{reset} && {farm} && cp -a '{p('skeleton')}' '{T}'",
             [("stagemerge", f"{sm} merge -q '{S}' '{T}'")] + before + [("floor (renameat2 per file)", f"{floor} '{S}' '{T}'"),
              ("floor + what SPEC requires", f"{floor} --spec '{S}' '{T}'")] + copiers)
        work("reinstall", f"{reset} && {farm} && cp -a '{p('older')}' '{T}'",
             [("stagemerge", f"{sm} merge -q '{S}' '{T}'")] + before + [("floor (rename over per file)", f"{floor} --replace '{S}' '{T}'"),
              ("floor + what SPEC requires", f"{floor} --replace --spec '{S}' '{T}'")] + copiers[:1])
        work("identical", f"{reset} && {farm} && cp -a '{p('pristine')}' '{T}'",
             [("stagemerge", f"{sm} merge -q '{S}' '{T}'")] + copiers[:1])
        par = f"{reset} && mkdir '{S}' '{T}' && for w in {' '.join(wheels)}; do cp -al '{p('stages')}'/$w '{S}'/$w; done"
        xargs = f"ls '{S}' | xargs -P16 -I{{}}"
        work("parallel16", par,
             [("stagemerge", f"{xargs} {sm} merge -q '{S}'/{{}} '{T}'"), ("cp -Rp", f"{xargs} cp -Rp '{S}'/{{}}/. '{T}'")])
        work("copy", f"{reset} && {farm} && mkdir '{T}'",
             [("stagemerge --copy", f"{sm} merge -q --copy '{S}' '{T}'"), ("cp -a", f"cp -a '{S}/.' '{T}'")])
        empty = p("empty")
        os.makedirs(empty, exist_ok=True)
        os.makedirs(T, exist_ok=True)
        # The first sandboxed run compiles the guest and caches it; time the
        # runs after it, as users see them.
        sh(f"{sm} plan --sandbox '{empty}' '{T}' >/dev/null")
        work("plan", f"rm -rf '{T}' && cp -a '{p('older')}' '{T}'",
             [("stagemerge plan", f"{sm} plan '{p('pristine')}' '{T}' >/dev/null"),
              ("stagemerge plan --sandbox", f"{sm} plan --sandbox '{p('pristine')}' '{T}' >/dev/null"),
              ("find (lists both trees)", f"find '{p('pristine')}' '{T}' >/dev/null")])
        work("startup", f"rm -rf '{T}' && mkdir '{T}'",
             [("stagemerge plan", f"{sm} plan '{empty}' '{T}' >/dev/null"),
              ("stagemerge plan --sandbox", f"{sm} plan --sandbox '{empty}' '{T}' >/dev/null")], n=1)
        # Records: the scan of STAGE, the journal written and fsynced before
        # the first rename, the record written and fsynced, the journal
        # removed; and --sync's syncfs of STAGE before and TARGET after.
        M = p("record")
        clear = f"rm -f '{M}' '{M}.stagemerge-journal'"
        for shape, target, floor_shape in [("overlay", p("skeleton"), ""), ("reinstall", p("older"), "--replace ")]:
            work(f"records {shape}", f"{reset} && {clear} && {farm} && cp -a '{target}' '{T}'",
                 [("stagemerge", f"{sm} merge -q '{S}' '{T}'"),
                  ("stagemerge --manifest (text)", f"{sm} merge -q --manifest '{M}' '{S}' '{T}'"),
                  ("stagemerge --manifest (json)", f"{sm} merge -q --manifest '{M}' --manifest-format json '{S}' '{T}'"),
                  ("stagemerge --sync", f"{sm} merge -q --sync '{S}' '{T}'"),
                  ("floor + syncfs of both", f"{floor} {floor_shape}--syncfs-both '{S}' '{T}'"),
                  ("floor + what SPEC requires + syncfs of both", f"{floor} {floor_shape}--spec --syncfs-both '{S}' '{T}'"),
                  copiers[0]] + before)
        if not only or "corpus overlay" in only:
            memory["corpus overlay"] = peak_kib(f"{sm} merge -q '{S}' '{T}'", f"{reset} && {farm} && cp -a '{p('skeleton')}' '{T}'")
    if not quick:
        for name, dirs, per in [("synth100k", 1000, 100), ("flat20k", 1, 20000)]:
            if only and name not in only and name + " plan" not in only:
                continue
            synthetic(p(name), dirs, per)
            skeleton(p(name), p(name + "-skel"))
            prep = f"{reset} && cp -al '{p(name)}' '{S}' && cp -a '{p(name + '-skel')}' '{T}'"
            work(name, prep,
                 [("stagemerge", f"{sm} merge -q '{S}' '{T}'"), ("floor (renameat2 per file)", f"{floor} '{S}' '{T}'"), copiers[0]],
                 n=count_entries(p(name)), r=max(3, runs // 2))
            if name == "flat20k":
                work("flat20k plan", f"rm -rf '{T}' && cp -a '{p(name + '-skel')}' '{T}'",
                     [("stagemerge plan", f"{sm} plan '{p(name)}' '{T}' >/dev/null"),
                      ("stagemerge plan --sandbox", f"{sm} plan --sandbox '{p(name)}' '{T}' >/dev/null")],
                     n=count_entries(p(name)), r=max(3, runs // 2))
            if not only or name in only:
                memory[name] = peak_kib(f"{sm} merge -q '{S}' '{T}'", prep)
    shutil.rmtree(base)
    return {"entries": entries, "workloads": results, "peak_kib": memory}


def report(all_results):
    lines = []
    for fs, res in all_results.items():
        lines.append(f"### {fs} ({res['entries']} entries in the merged wheel stages)\n")
        lines.append("| workload | method | median | µs/entry | ratio to stagemerge |")
        lines.append("|:---|:---|---:|---:|---:|")
        for name, w in res["workloads"].items():
            base = next(r["median"] for r in w["results"] if r["command"].startswith("stagemerge"))
            for r in w["results"]:
                med = r["median"]
                lines.append(f"| {name} | {r['command']} | {med * 1000:.1f} ms | {med * 1e6 / w['entries']:.2f} | {med / base:.2f} |")
        lines.append("")
        lines.append("Peak memory of stagemerge (max RSS): " + ", ".join(f"{k}: {v} KiB" for k, v in res["peak_kib"].items()))
        lines.append("")
    return "\n".join(lines)


def chart(all_results, path):
    """Horizontal bars of µs per entry, one group per filesystem and workload."""
    rows = []
    for fs, res in all_results.items():
        for name, w in res["workloads"].items():
            for r in w["results"]:
                rows.append((f"{fs} {name}", r["command"], r["median"] * 1e6 / w["entries"]))
    width, bar_h, left = 900, 14, 330
    top = max(v for _, _, v in rows) or 1
    height = 30 + len(rows) * (bar_h + 4)
    colors = {"stagemerge": "#2b8a3e", "floor": "#868e96"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           f'<text x="10" y="18" font-size="13">µs per entry, median (log scale), by workload and method</text>']
    import math
    scale = lambda v: (math.log10(max(v, 0.01)) + 2) / (math.log10(top) + 2) * (width - left - 60)
    y = 30
    for group, method, v in rows:
        color = next((c for k, c in colors.items() if method.startswith(k)), "#1c7ed6")
        out.append(f'<text x="{left - 6}" y="{y + bar_h - 3}" text-anchor="end">{group}: {method}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{scale(v):.1f}" height="{bar_h}" fill="{color}"/>')
        out.append(f'<text x="{left + scale(v) + 4:.1f}" y="{y + bar_h - 3}">{v:.2f}</text>')
        y += bar_h + 4
    out.append("</svg>")
    with open(path, "w") as fh:
        fh.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fs", default="both", choices=["tmpfs", "disk", "both"])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="no synthetic trees")
    ap.add_argument("--synthetic-only", action="store_true", help="only the synthetic trees")
    ap.add_argument("--only", default="", help="comma-separated workloads to run (default: all)")
    ap.add_argument("--baseline", default=None,
                    help="another stagemerge binary (an older build) to time beside this one in overlay and reinstall")
    a = ap.parse_args()
    for tool in ["hyperfine", "rsync"]:
        if shutil.which(tool) is None:
            sh(f"apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {tool} >/dev/null")
    sh(f"cd '{ROOT}' && cargo build --release --quiet -p stagemerge -p stagemerge-bench-floor")
    corpus = os.path.join(ROOT, "target", "corpus")
    sh(f"bash '{ROOT}/tests/corpus/build.sh' '{corpus}'")
    os.makedirs(OUT, exist_ok=True)
    fss = ["tmpfs", "disk"] if a.fs == "both" else [a.fs]
    results = {}
    for fs in fss:
        runs = a.runs if fs == "tmpfs" else max(3, a.runs // 3)
        only = tuple(w for w in a.only.split(",") if w)
        results[fs] = run_fs(fs, runs, a.quick, corpus, a.synthetic_only, only, a.baseline)
    tag = a.fs + ("-synthetic" if a.synthetic_only else "") + ("-" + "-".join(only) if only else "")
    with open(os.path.join(OUT, f"results-{tag}.json"), "w") as fh:
        json.dump(results, fh, indent=1)
    text = report(results)
    with open(os.path.join(OUT, f"report-{tag}.md"), "w") as fh:
        fh.write(text + "\n")
    chart(results, os.path.join(OUT, f"us_per_entry-{tag}.svg"))
    print(text)


if __name__ == "__main__":
    sys.exit(main())
