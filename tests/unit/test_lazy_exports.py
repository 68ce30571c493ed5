"""Packages whose names are imported on first use: what a command then does not load."""

from __future__ import annotations

import subprocess
import sys


def _fresh_python(code: str) -> list[str]:
    """The lines ``code`` prints in a new interpreter (nothing imported beforehand)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")


def test_the_plan_needs_the_fingerprint_recipe_without_the_build_machinery() -> None:
    # building/__init__ imports its names on first use: plan (and a sync with nothing to
    # do) must not pay for pyproject_hooks and installer.
    out = _fresh_python(
        "import sys, lock_build.plan, lock_build.building as b\n"
        "print('pyproject_hooks' in sys.modules, 'installer' in sys.modules)\n"
        "print(b.BuildPin.__module__, b.WheelCache.__module__)\n"
    )
    assert out[0] == "False False"
    assert out[1] == "lock_build.building.fingerprint lock_build.building.wheel_cache"


def test_reading_pip_configuration_needs_neither_requests_nor_the_requirement_parsers() -> None:
    out = _fresh_python(
        "import sys, lock_build.inputs.pip_config, lock_build.lockfile.sources, lock_build.urls\n"
        "print('requests' in sys.modules, 'lock_build.inputs.requirement_files' in sys.modules)\n"
        "import lock_build.inputs as i; print(i.InputSet.__module__)\n"
    )
    assert out[0] == "False False"
    assert out[1] == "lock_build.inputs.model"


def test_a_compile_without_sdists_loads_no_build_machinery() -> None:
    # The compile command, its pipeline and an HTTP client with a cache: hook runners,
    # the installer, the wheel cache's and HTTP cache's file locks and pylock reading
    # load only when a build runs, the cache writes, or --previous names a pylock.toml.
    out = _fresh_python(
        "import sys, tempfile, pathlib\n"
        "import lock_build.cli.compile_cmd, lock_build.locking.compile\n"
        "from lock_build.index.http import HttpClient\n"
        "from lock_build.settings import IndexSettings\n"
        "HttpClient(IndexSettings(), pathlib.Path(tempfile.mkdtemp()))\n"
        "names = ('pyproject_hooks', 'installer', 'filelock', 'packaging.pylock')\n"
        "print([n for n in names if n in sys.modules])\n"
    )
    assert out[0] == "[]"
