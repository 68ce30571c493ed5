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
