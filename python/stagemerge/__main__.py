"""``python -m stagemerge ARGS`` runs the installed ``stagemerge`` binary."""

from __future__ import annotations

import os
import subprocess
import sys

from stagemerge import find_stagemerge_bin


def _run() -> None:
    exe = find_stagemerge_bin()
    if sys.platform == "win32":
        # Windows has no exec: run it and pass its exit status on.
        sys.exit(subprocess.call([exe, *sys.argv[1:]]))
    os.execvp(exe, [exe, *sys.argv[1:]])


if __name__ == "__main__":
    _run()
