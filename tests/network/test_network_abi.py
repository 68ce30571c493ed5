"""Network: a real numpy-2-only sdist locked and synced next to a runtime numpy 1.26.

pyworld 0.3.5 has no cp311 wheel and its build requires numpy>=2. Under equality it would
be built against numpy 1.26.4 (a substitution: headers its authors do not support); by
numpy's ABI rule a NumPy 2.x build runs on 1.26, so the build pins a numpy 2.x, the
runtime keeps 1.26.4, and the synced environment imports pyworld.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from support.cli import PYPI, lock_build


@pytest.mark.network
@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="pyworld 0.3.5 is sdist-only on 3.11")
def test_pyworld_builds_against_numpy_2_and_runs_on_numpy_1(tmp_path: Path) -> None:
    # pyworld imports pkg_resources at runtime without declaring it (setuptools 82 removed it).
    (tmp_path / "requirements.in").write_text(
        "numpy==1.26.4\npyworld==0.3.5\nsetuptools<82\n", encoding="utf-8"
    )
    run = lock_build(
        "compile",
        "requirements.in",
        "-o",
        "requirements.lock",
        "--index-url",
        PYPI,
        "--cache-dir",
        tmp_path / "cache",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "builds against" not in run.stderr  # no substitution
    text = (tmp_path / "requirements.lock").read_text(encoding="utf-8")
    lock = tomllib.loads(text)
    runtime = {p["name"]: p["version"] for p in lock["package"] if p["runtime"]}
    assert runtime["numpy"] == "1.26.4" and runtime["pyworld"] == "0.3.5"
    (pyworld,) = [b for b in lock["build"] if b["package"] == "pyworld"]
    build_numpy = dict(p.split("==", 1) for p in pyworld["pins"])["numpy"]
    assert build_numpy.startswith("2."), pyworld["pins"]
    assert "substitutions" not in pyworld and "numpy" not in pyworld["shared"]
    numpy_entries = {p["version"]: p["runtime"] for p in lock["package"] if p["name"] == "numpy"}
    assert numpy_entries == {"1.26.4": True, build_numpy: False}
    print(text[text.index("[[build]]") :])

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    synced = lock_build(
        "sync",
        "requirements.lock",
        "--python",
        venv / "bin" / "python",
        "--cache-dir",
        tmp_path / "cache",
        cwd=tmp_path,
    )
    assert synced.returncode == 0, synced.stderr
    check = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import numpy, pyworld; print(numpy.__version__, pyworld.__version__)",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.split() == ["1.26.4", "0.3.5"]
