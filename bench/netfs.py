"""The corpus's wheel stages merged into a shared prefix on a network
filesystem, one process per package, against `cp -Rp`, the `tar` pipe and
the floor, in one run per filesystem (issue 26, 6).

Usage (as root): python3 bench/netfs.py [--fs sshfs|glusterfs|moosefs|all]
                 [--runs N] [--baseline BIN]

The filesystems are the tests' fixtures (tests/util/netfs.rs: sshfs
through an sshd of its own on loopback; GlusterFS with glusterd and one
brick in a network namespace; MooseFS with its master and a chunkserver
in another), mounted by the ignored test
`netfs::run_a_command_on_two_clients`, which runs this script again with
`--inside` and the client's mount in NETFS_A, and tears everything down.

Each run starts from the stages (hard links to pristine copies on the same
filesystem, as a Sage build's DESTDIRs are) and a prefix that has every
directory already (the shape of a Sage prefix after its first packages),
made by hyperfine's untimed prepare step. Timed: a loop over the packages,
one process each, of
  - stagemerge: `stagemerge merge -q STAGE PREFIX` (16 placements in
    flight), and with `--in-flight 1` (one at a time, as before issue 26);
  - baseline (`--baseline BIN`): another build, the same way;
  - `cp -Rp STAGE/. PREFIX`;
  - the `tar` pipe (`tar -C STAGE -cf - . | tar -C PREFIX -xf -`);
  - the floor: `floor --link STAGE PREFIX` (bench/floor: one `linkat` +
    `unlinkat` per file, one after the other, no check: the least a
    placement that never replaces can cost where the no-replace rename is
    refused, as on every FUSE filesystem).

Writes bench/out/netfs-FS.json and prints the table BENCHMARKS.md quotes
(median seconds and files per second).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the harness: corpus, hyperfine, paths)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fs", default="all", choices=["sshfs", "glusterfs", "moosefs", "all"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", help="another stagemerge build to time beside this one")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.inside:
        return inside(a)
    if os.geteuid() != 0:
        sys.exit("bench/netfs.py: needs root (FUSE mounts, a network namespace)")
    if shutil.which("hyperfine") is None:
        run.sh("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null")
    run.sh(f"cd '{run.ROOT}' && cargo build --release --quiet -p stagemerge -p stagemerge-bench-floor")
    corpus = os.path.join(run.ROOT, "target", "corpus")
    run.sh(f"bash '{run.ROOT}/tests/corpus/build.sh' '{corpus}'")
    os.makedirs(run.OUT, exist_ok=True)
    rows = []
    for fs in (["sshfs", "glusterfs", "moosefs"] if a.fs == "all" else [a.fs]):
        out = os.path.join(run.OUT, f"netfs-{fs}.json")
        me = f"python3 '{os.path.abspath(__file__)}' --inside --runs {a.runs} --out '{out}'"
        if a.baseline:
            me += f" --baseline '{os.path.abspath(a.baseline)}'"
        env = dict(os.environ, STAGEMERGE_NETFS_FS=fs, STAGEMERGE_NETFS_RUN=me)
        subprocess.run(["cargo", "test", "--locked", "-q", "-p", "stagemerge", "--test", "tests", "--",
                        "--ignored", "--exact", "netfs::run_a_command_on_two_clients", "--nocapture"],
                       cwd=run.ROOT, env=env, check=True)
        with open(out) as fh:
            rows.append((fs, json.load(fh)))
    print("| filesystem | files | tool | median | files/s | ratio to stagemerge |")
    print("|:---|---:|:---|---:|---:|---:|")
    for fs, r in rows:
        med = {x["command"]: x["median"] for x in r["results"]}
        sm = med["stagemerge"]
        for cmd, t in med.items():
            print(f"| {fs} | {r['files']} | {cmd} | {t:.2f} s | {r['files'] / t:.0f} | {t / sm:.2f} |")


def inside(a):
    """On the mounted filesystem (NETFS_A): lays out the stages and the
    prefix's directories once, then times each tool over all packages."""
    corpus = os.path.join(run.ROOT, "target", "corpus", "wheels")
    base = os.path.join(os.environ["NETFS_A"], "bench")
    p = lambda *x: os.path.join(base, *x)
    wheels = sorted(os.listdir(corpus))
    os.makedirs(p("stages"))
    for w in wheels:
        run.sh(f"cp -a '{os.path.join(corpus, w)}' '{p('stages', w)}'")
    # The prefix's directories: every wheel's, made once, copied per run.
    for w in wheels:
        for d, _, _ in os.walk(p("stages", w)):
            os.makedirs(p("skeleton", os.path.relpath(d, p("stages", w))), exist_ok=True)
    files = sum(len(fs) for w in wheels for _, _, fs in os.walk(p("stages", w)))
    S, T = p("S"), p("T")
    names = " ".join(wheels)
    prepare = (f"rm -rf '{S}' '{T}' && mkdir '{S}' && for w in {names}; do cp -al '{p('stages')}'/$w '{S}'/$w; done"
               f" && cp -a '{p('skeleton')}' '{T}'")
    each = lambda cmd: f"for w in {names}; do {cmd} || exit 1; done"
    sm = os.path.join(run.BIN, "stagemerge")
    floor = os.path.join(run.BIN, "floor")
    commands = [("stagemerge", each(f"'{sm}' merge -q '{S}'/$w '{T}'")),
                ("stagemerge --in-flight 1", each(f"'{sm}' merge -q --in-flight 1 '{S}'/$w '{T}'"))]
    if a.baseline:
        commands.append(("baseline (older stagemerge)", each(f"'{a.baseline}' merge -q '{S}'/$w '{T}'")))
    commands += [
        ("cp -Rp", each(f"cp -Rp '{S}'/$w/. '{T}'")),
        ("tar pipe", each(f"tar -C '{S}'/$w -cf - . | tar -C '{T}' -xf -")),
        ("floor (link + unlink per file)", each(f"'{floor}' --link '{S}'/$w '{T}'")),
    ]
    res = run.hyperfine(f"netfs {len(wheels)} wheel stages", prepare, commands, a.runs, p("hyperfine.json"),
                        ignore_failure=False)
    with open(a.out, "w") as fh:
        json.dump({"packages": len(wheels), "files": files, "results": [
            {"command": x["command"], "median": x["median"], "min": x["min"], "max": x["max"]} for x in res]},
            fh, indent=1)
    shutil.rmtree(base)


if __name__ == "__main__":
    sys.exit(main())
