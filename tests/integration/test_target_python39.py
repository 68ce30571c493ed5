"""An old target: a Python 3.9 virtual environment, locked for and synced from a newer
lock-build (the probe runs only the standard library there). Skipped where no 3.9 exists."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_compile_harness import Project, make_project

from lock_build.target import target_for_interpreter
from support import dists
from support.index import LocalIndex


def _python39() -> Path | None:
    configured = os.environ.get("LOCK_BUILD_TEST_PYTHON39")
    if configured:
        return Path(configured)
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(root.glob("3.9.*/bin/python3.9")) if root.is_dir() else []
    if candidates:
        return candidates[-1]
    found = shutil.which("python3.9")  # not a pyenv shim: those may point elsewhere
    return Path(found) if found and "shims" not in Path(found).parts else None


@pytest.fixture(scope="module")
def python39() -> Path:
    python = _python39()
    if python is None:
        pytest.skip("no Python 3.9 on this machine (set LOCK_BUILD_TEST_PYTHON39)")
    return python


@pytest.fixture
def venv39(python39: Path, tmp_path: Path) -> Path:
    path = tmp_path / "venv39"
    # With its own pip, as a user's 3.9 venv has: pip 26 (beside lock-build) cannot act on
    # a 3.9 interpreter through --python, and sync then uses the target's pip.
    subprocess.run([str(python39), "-m", "venv", str(path)], check=True)
    return path


@pytest.fixture
def project(tmp_path: Path, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> Project:
    return make_project(tmp_path, local_index, monkeypatch)


def test_tags_are_the_ones_pip_computes_inside_python39(python39: Path, venv39: Path) -> None:
    target = target_for_interpreter(venv39 / "bin" / "python")
    assert target.python_version == "3.9"
    debug = subprocess.run(
        [str(python39), "-m", "pip", "debug", "--verbose"],
        capture_output=True,
        text=True,
        check=False,
    )
    if debug.returncode != 0 or "Compatible tags:" not in debug.stdout:
        pytest.skip("the 3.9 interpreter has no pip to compare with")
    listed = debug.stdout.split("Compatible tags:", 1)[1].splitlines()[1:]
    pips = {line.strip() for line in listed if line.startswith("  ")}
    # Sets, not order: packaging 26.3 moved linux_* ahead of manylinux_*; pip 23 did not.
    assert {str(t) for t in target.tags} == pips


def test_a_python39_venv_is_locked_for_and_synced(project: Project, venv39: Path) -> None:
    index = project.index
    links = project.root / "links"
    index.add_wheel("alpha", "1.0", requires=["beta"])
    index.add_wheel("beta", "1.0")
    # Only the file says it: find-links pages carry no requires-python.
    dists.make_wheel(links, "alpha", "2.0", requires=["beta"], requires_python=">=3.10")
    project.write("requirements.in", "alpha\n")

    project.compile("--python", venv39, "--find-links", links).ok()

    lock = project.lock()
    assert lock["target"][0]["python-version"] == "3.9"
    assert project.pins() == {"alpha": "1.0", "beta": "1.0"}

    project.run("sync", "--python", venv39, "requirements.lock", index=False).ok()
    shown = subprocess.run(
        [str(venv39 / "bin" / "python"), "-c", "import alpha, beta; print(alpha.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "1.0"
    # The builtin installer's .pyc files carry the target's cache tag, and RECORD lists them.
    (record,) = venv39.glob("lib/python3.9/site-packages/alpha-1.0.dist-info/RECORD")
    pycs = [row.split(",")[0] for row in record.read_text().splitlines() if ".pyc," in row]
    assert pycs and all(".cpython-39.pyc" in pyc for pyc in pycs)
    assert all((record.parent.parent / pyc).is_file() for pyc in pycs)
