"""lock-build as a user runs it: a child process of this interpreter, output captured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PYPI = "https://pypi.org/simple"


def lock_build(
    *args: str | Path, cwd: Path, timeout: float | None = 900
) -> subprocess.CompletedProcess[str]:
    """``python -m lock_build ARGS`` in ``cwd``; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "lock_build", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
