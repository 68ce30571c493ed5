"""Real virtual environments for tests, made fast (`venv --without-pip`) and driven by the
test runner's own pip through `pip --python <venv python>` (pip >= 22.3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name


@dataclass(frozen=True, kw_only=True, slots=True)
class VirtualEnv:
    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        return self.path / "lib" / version / "site-packages"

    def pip(
        self, *args: str | os.PathLike[str], check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run `pip <args>` against this environment; output captured as text.

        With `check`, a failure raises AssertionError carrying pip's output, so a failed
        install reads as a test failure with its reason."""
        env = dict(os.environ)
        # No pip cache: a cached build from another test (or a previous run) must not leak in.
        env.update(PIP_NO_CACHE_DIR="1", PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        cmd = [sys.executable, "-m", "pip", "--python", str(self.python), *map(str, args)]
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if check and result.returncode != 0:
            raise AssertionError(
                f"pip {' '.join(map(str, args))} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def run(
        self, *args: str | os.PathLike[str], check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run this environment's python with `args`, output captured as text."""
        return subprocess.run(
            [str(self.python), *map(str, args)], capture_output=True, text=True, check=check
        )

    def freeze(self) -> dict[NormalizedName, str]:
        """Installed distributions: normalized name -> version."""
        listing = json.loads(self.pip("list", "--format=json").stdout)
        return {canonicalize_name(item["name"]): item["version"] for item in listing}


def create_venv(path: Path) -> VirtualEnv:
    """Create a pip-less virtual environment at `path`."""
    venv.EnvBuilder(with_pip=False, clear=True, symlinks=True).create(path)
    return VirtualEnv(path=path)
