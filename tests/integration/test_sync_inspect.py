"""Reading a target environment without starting it: the same distributions its own
``importlib.metadata`` finds, and its interpreter asked where only it can answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from lock_build.building.wheel_stamp import STAMP_NAME
from lock_build.errors import TargetError
from lock_build.sync import inspect
from lock_build.target import describe_interpreter, run_interpreter_script
from support.venvs import VirtualEnv


def _dist_info(where: Path, name: str, version: str, *requires: str) -> Path:
    info = where / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    return info


def _own_answer(python: Path) -> list[dict[str, object]]:
    """What the interpreter itself reports (the script sync ran before reading in-process)."""
    dists = run_interpreter_script(python, inspect._SCRIPT, STAMP_NAME, purpose="a test")["dists"]
    assert isinstance(dists, list)
    return dists


def test_reading_here_finds_what_the_interpreter_finds(
    venv_factory: Callable[..., VirtualEnv], tmp_path: Path
) -> None:
    env = venv_factory()
    site = env.site_packages
    built = _dist_info(site, "built", "1.0", "dep>=1", 'extra-only; extra == "x"')
    (built / STAMP_NAME).write_text('{"fingerprint": "' + "a" * 64 + '"}')
    (_dist_info(site, "badstamp", "2.0") / STAMP_NAME).write_bytes(b"\xff not json")
    _dist_info(site, "dep", "1.5")
    _dist_info(site, "nameless", "1.0")
    (site / "nameless-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\n")
    egg = site / "legacy-0.9.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy\nVersion: 0.9\n")
    (egg / "requires.txt").write_text("dep\n\n[extra]\nbuilt\n")
    # A directory a .pth file adds, after site-packages: its "dep" is shadowed.
    later = tmp_path / "later"
    _dist_info(later, "dep", "9.0")
    _dist_info(later, "onlylater", "3.0")
    (site / "later.pth").write_text(f"# a comment\n{later}\n")

    interpreter = describe_interpreter(env.python)
    assert not interpreter.layout.distribution_finders
    assert list(inspect._distributions(interpreter.layout.sys_path)) == _own_answer(env.python)
    state = inspect.inspect_environment(env.python, interpreter=interpreter)
    assert state.versions() == {
        "badstamp": "2.0",
        "built": "1.0",
        "dep": "1.5",
        "legacy": "0.9",
        "onlylater": "3.0",
    }
    assert state.installed["built"].fingerprint == "a" * 64
    assert state.installed["badstamp"].fingerprint is None
    # Requirements under an extra are not needed to run: not followed.
    assert state.requirement_closure({canonicalize_name("built")}) == {"built", "dep"}
    assert state.requirement_closure({canonicalize_name("legacy")}) == {"legacy", "dep"}
    assert state.prefix == env.path and state.site_dirs == (site,)


_FINDER = """\
import sys
from importlib.metadata import Distribution, DistributionFinder


class _Virtual(Distribution):
    def read_text(self, filename):
        if filename == "METADATA":
            return "Metadata-Version: 2.1\\nName: virtual\\nVersion: 4.0\\n"
        return None

    def locate_file(self, path):
        return path


class _Finder(DistributionFinder):
    def find_spec(self, *args):
        return None

    def find_distributions(self, context=DistributionFinder.Context()):
        return iter([_Virtual()])


sys.meta_path.append(_Finder())
"""


def test_a_distribution_finder_of_the_targets_own_is_run_there(
    venv_factory: Callable[..., VirtualEnv],
) -> None:
    env = venv_factory()
    (env.site_packages / "virtual_finder.py").write_text(_FINDER)
    (env.site_packages / "virtual.pth").write_text("import virtual_finder\n")
    interpreter = describe_interpreter(env.python)
    assert interpreter.layout.distribution_finders  # named, so the interpreter is asked
    state = inspect.inspect_environment(env.python, interpreter=interpreter)
    assert state.versions() == {"virtual": "4.0"}  # only that interpreter could find it


def test_metadata_that_cannot_be_read_here_is_the_interpreters_to_judge(
    venv_factory: Callable[..., VirtualEnv],
) -> None:
    env = venv_factory()
    info = _dist_info(env.site_packages, "mangled", "1.0")
    (info / "METADATA").write_bytes(b"Metadata-Version: 2.1\nName: mangled\xff\n")
    with pytest.raises(TargetError, match="when asked for its packages"):
        inspect.inspect_environment(env.python)
