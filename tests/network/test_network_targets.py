"""Network: one lock of a small real stack for two local Pythons, synced on both.

The stack has an sdist-only package (docopt, built in its locked environment on each
Python) and a package only one Python needs (tomli, by marker).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lock_build.target import target_for_interpreter
from lock_build.targets import find_interpreter

PYPI = "https://pypi.org/simple"
pytestmark = pytest.mark.network

HERE = (sys.version_info[0], sys.version_info[1])
OTHER = next(
    (
        found
        for version in ((3, 12), (3, 13), (3, 11), (3, 10))
        if version != HERE and (found := find_interpreter(version)) is not None
    ),
    None,
)


@pytest.mark.skipif(OTHER is None, reason="only one local Python version")
def test_a_two_python_lock_syncs_both(tmp_path: Path) -> None:
    assert OTHER is not None
    other = target_for_interpreter(OTHER).python_version
    here = f"{HERE[0]}.{HERE[1]}"
    older = min(here, other, key=lambda v: tuple(int(p) for p in v.split(".")))
    (tmp_path / "requirements.in").write_text(
        f'requests\ndocopt==0.6.2\ntomli ; python_version <= "{older}"\n'
    )
    common = ["--index-url", PYPI, "--cache-dir", str(tmp_path / "cache")]
    compiled = subprocess.run(
        [sys.executable, "-m", "lock_build", "compile", "--target", here, "--target", other]
        + ["requirements.in", *common],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stderr
    lock = tomllib.loads((tmp_path / "requirements.lock").read_text())
    assert {t["python-version"] for t in lock["target"]} == {here, other}
    tomli = next(p for p in lock["package"] if p["name"] == "tomli")
    assert len(tomli["targets"]) == 1
    for python, name in ((Path(sys.executable), "a"), (OTHER, "b")):
        env = tmp_path / name
        subprocess.run([str(python), "-m", "venv", "--without-pip", str(env)], check=True)
        synced = subprocess.run(
            [sys.executable, "-m", "lock_build", "sync", "--python", str(env / "bin" / "python")]
            + ["requirements.lock", "--cache-dir", str(tmp_path / "cache")],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert synced.returncode == 0, synced.stderr
        subprocess.run([str(env / "bin" / "python"), "-c", "import requests, docopt"], check=True)
