"""Makes a workload: STAGE with FILES files of 4 KiB spread over 20
directories, and TARGET with the same (empty) directories ("overlay", the
default) or no TARGET at all ("fresh").

Usage: make_tree.py STAGE TARGET FILES [overlay|fresh]
"""

import os
import sys


def main() -> None:
    stage, target, files = sys.argv[1], sys.argv[2], int(sys.argv[3])
    overlay = (sys.argv[4] if len(sys.argv) > 4 else "overlay") == "overlay"
    block = b"x" * 4096
    for d in range(20):
        os.makedirs(os.path.join(stage, f"pkg{d}"), exist_ok=True)
        if overlay:
            os.makedirs(os.path.join(target, f"pkg{d}"), exist_ok=True)
        for i in range(files // 20):
            with open(os.path.join(stage, f"pkg{d}", f"f{i}"), "wb") as f:
                f.write(block)


if __name__ == "__main__":
    main()
