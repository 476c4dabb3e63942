"""Peak memory of reading records (issue 24): `verify` and `uninstall` on
records that are huge, endless or at the size limit.

Usage: python3 bench/record_memory.py [--no-build]

Each command runs once under `/usr/bin/time -f %M` (peak resident set,
KiB) against an empty TARGET in a temporary directory on tmpfs:

  1 GiB text, one line   a sparse file: refused by its size before a read
  /dev/zero (symlink)    refused: not a regular file
  100 MiB text, one line refused: its one path is over the path limit
  JSON, ~115 MiB         1.9 million entries without digests, under the
                         128 MiB limit: read whole, every entry checked
  text, ~114 MiB         6 million lines, read whole

The stated bound: a record refused before it is read (too large, not a
regular file) costs no more than start-up; one refused while it is read
costs its bytes once (never a multiple of its longest line); one that is
read costs its bytes plus at most 300 bytes per entry (each entry in its
final form, and each problem reported; the JSON is streamed, never built
as a tree).
"""

import argparse
import os
import subprocess
import tempfile

import run as R

BIN = os.path.join(R.ROOT, "target", "release", "stagemerge")


def peak(args):
    """Exit code and peak RSS in MiB of `stagemerge args`."""
    with tempfile.NamedTemporaryFile("r") as t:
        out = subprocess.run(
            ["/usr/bin/time", "-o", t.name, "-f", "%M", BIN] + args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        kib = int(t.read().strip().splitlines()[-1])
    return out.returncode, kib / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    if not a.no_build:
        R.sh("cargo build --release --locked -q -p stagemerge")
    base = tempfile.mkdtemp(prefix="record-memory-", dir="/dev/shm")
    p = lambda *x: os.path.join(base, *x)
    os.makedirs(p("t"))

    with open(p("huge"), "wb") as f:
        f.truncate(1 << 30)
    os.symlink("/dev/zero", p("zero"))
    with open(p("line"), "wb") as f:
        f.write(b"a" * (100 << 20) + b"\n")
    entry = b'{"path": "lib/python3/site-packages/pkg/%07d.py", "kind": "file"},\n'
    n_json = 1_900_000
    with open(p("json"), "wb") as f:
        f.write(b'{"format": "stagemerge-manifest", "version": 1, "files": [\n')
        for i in range(n_json):
            f.write(entry % i if i + 1 < n_json else (entry % i)[:-2] + b"\n")
        f.write(b"]}\n")
    n_text = 6_000_000
    with open(p("text"), "wb") as f:
        for i in range(0, n_text, 100_000):
            f.write(b"".join(b"d/sub/%08d.txt\n" % j for j in range(i, i + 100_000)))

    rows = []
    for name, label in [
        ("huge", "1 GiB text, one line"),
        ("zero", "/dev/zero (symlink)"),
        ("line", "100 MiB text, one line"),
        ("json", f"JSON, {n_json:,} entries"),
        ("text", f"text, {n_text:,} lines"),
    ]:
        size = os.path.getsize(p(name)) if name != "zero" else 0
        entries = {"json": n_json, "text": n_text}.get(name)
        for cmd in ["verify", "uninstall"]:
            code, mib = peak([cmd, "--manifest", p(name), p("t")])
            per = ""
            if entries and code != 2:
                per = f"{(mib - size / (1 << 20)) * (1 << 20) / entries:,.0f}"
            rows.append((label, size / (1 << 20), cmd, code, mib, per))
    print("| record | size (MiB) | command | exit | peak RSS (MiB) | bytes per entry beyond the record's |")
    print("|:---|---:|:---|---:|---:|---:|")
    for label, size, cmd, code, mib, per in rows:
        print(f"| {label} | {size:,.0f} | {cmd} | {code} | {mib:,.1f} | {per} |")
    R.sh(f"rm -rf '{base}'")


if __name__ == "__main__":
    main()
