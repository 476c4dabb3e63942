"""stagemerge: move a staged install tree (DESTDIR) into a live shared prefix.

The wheel ships the ``stagemerge`` binary in the environment's scripts
directory; this package only finds it, so that ``python -m stagemerge`` and
``stagemerge.find_stagemerge_bin()`` work where the scripts directory is not
on PATH.
"""

from __future__ import annotations

import os
import sysconfig

__all__ = ["find_stagemerge_bin"]


def find_stagemerge_bin() -> str:
    """Return the path of the ``stagemerge`` binary this wheel installed.

    Looks in the scripts directory of the running interpreter's environment,
    then of the user scheme (``pip install --user``). Raises
    ``FileNotFoundError`` naming every place it looked.
    """
    exe = "stagemerge" + (sysconfig.get_config_var("EXE") or "")
    user = (
        sysconfig.get_preferred_scheme("user")
        if hasattr(sysconfig, "get_preferred_scheme")
        else f"{os.name}_user"
    )
    looked = []
    for scripts in (sysconfig.get_path("scripts"), sysconfig.get_path("scripts", user)):
        candidate = os.path.join(scripts, exe)
        looked.append(candidate)
        if os.path.isfile(candidate):
            return candidate
    # A wheel installed with --target puts bin/ beside the package.
    candidate = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin", exe)
    looked.append(candidate)
    if os.path.isfile(candidate):
        return candidate
    raise FileNotFoundError(f"the stagemerge binary is not installed; looked in: {', '.join(looked)}")
