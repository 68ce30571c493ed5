"""Download real wheels of setuptools, wheel and pip into `.ci-cache/wheels` (once).

Tests that build legacy sdists or bootstrap pip into a venv serve these from the local
index, so the hermetic suite itself never touches the network. Run by `.ci/run`; run it by
hand with `python tests/support/fetch_tool_wheels.py [DEST]`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TOOLS = ("setuptools", "wheel", "pip")
REPO = Path(__file__).resolve().parents[2]
DEFAULT_DEST = REPO / ".ci-cache" / "wheels"


def missing(dest: Path) -> list[str]:
    return [tool for tool in TOOLS if not any(dest.glob(f"{tool}-*.whl"))]


def fetch(dest: Path = DEFAULT_DEST) -> list[str]:
    """Download the tool wheels that `dest` lacks; return the names downloaded."""
    todo = missing(dest)
    if not todo:
        return []
    dest.mkdir(parents=True, exist_ok=True)
    # Only PyPI: not this machine's pip configuration (extra indexes, find-links, constraints).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k == "PIP_CERT"}
    env["PIP_CONFIG_FILE"] = os.devnull
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--only-binary",
            ":all:",
            "--no-deps",
            "--disable-pip-version-check",
            "--index-url",
            "https://pypi.org/simple",
            "--dest",
            str(dest),
            *todo,
        ],
        check=True,
        env=env,
    )
    return todo


def main(argv: list[str]) -> int:
    dest = Path(argv[0]) if argv else DEFAULT_DEST
    fetched = fetch(dest)
    print(f"tool wheels in {dest}: " + ("fetched " + ", ".join(fetched) if fetched else "present"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
