"""Network: lock a real sdist-only package that builds against numpy, from PyPI.

cftime 1.6.1 has no cp311 wheel; its [build-system].requires names
oldest-supported-numpy, whose newest release pins numpy 1.23.2 on CPython 3.11 while
2022.5.28 leaves numpy free. With a runtime numpy==2.2.6 pin the lock must backtrack the
metapackage and build cftime against the runtime numpy itself: no substitution needed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from support.cli import PYPI, lock_build

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "numpy-abi" / "requirements.in"


@pytest.mark.network
@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the example is for CPython 3.11")
def test_cftime_builds_against_the_runtime_numpy(tmp_path: Path) -> None:
    if not EXAMPLE.is_file():
        pytest.skip(f"{EXAMPLE} is not present")
    shutil.copy(EXAMPLE, tmp_path / "requirements.in")
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
    lock = tomllib.loads((tmp_path / "requirements.lock").read_text(encoding="utf-8"))
    assert lock["target"][0]["python-version"] == "3.11"
    runtime = {p["name"]: p["version"] for p in lock["package"] if p["runtime"]}
    assert runtime["numpy"] == "2.2.6" and runtime["cftime"] == "1.6.1"

    (cftime,) = [b for b in lock["build"] if b["package"] == "cftime"]
    build_pins = dict(p.split("==", 1) for p in cftime["pins"])
    assert build_pins["numpy"] == "2.2.6"
    assert "numpy" in cftime["shared"]
    assert build_pins["oldest-supported-numpy"] == "2022.5.28"  # backtracked, leaves numpy free
    assert "substitutions" not in cftime
    # One numpy entry: the runtime artifact is the build artifact (via the metapackage).
    numpy = [p for p in lock["package"] if p["name"] == "numpy"]
    assert len(numpy) == 1 and "oldest-supported-numpy" in numpy[0]["via"]

    # The build constraints, for pip --build-constraint / uv --build-constraints.
    exported = lock_build(
        "export", "requirements.lock", "--format", "build-constraints", cwd=tmp_path
    )
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    assert "numpy==2.2.6" in lines and "oldest-supported-numpy==2022.5.28" in lines
    print(exported.stdout)

    # Sync into a fresh virtual environment: cftime is built in its locked environment
    # (against numpy 2.2.6) and imports beside the runtime numpy 2.2.6.
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
    works = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import numpy, cftime; print(numpy.__version__, cftime.__version__, "
            "cftime.num2date(0, 'days since 2000-01-01'))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert works.returncode == 0, works.stderr
    assert works.stdout.split()[:2] == ["2.2.6", "1.6.1"]
    again = lock_build(
        "sync",
        "requirements.lock",
        "--python",
        venv / "bin" / "python",
        "--cache-dir",
        tmp_path / "cache",
        "--dry-run",
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.network
@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the case is for CPython 3.11")
def test_pyworld_numpy_2_build_under_forced_equality(tmp_path: Path) -> None:
    """pyworld 0.3.5 (sdist only) declares numpy>=2 for building; the runtime pins numpy 1.

    numpy's rule makes a numpy 2 build compatible with a 1.26 runtime (the ABI-rules network
    test covers that default). Here --match-runtime numpy forces equality, the policy of
    packages with no known rule: the build uses the runtime numpy and the lock says so."""
    (tmp_path / "requirements.in").write_text("numpy==1.26.4\npyworld\n", encoding="utf-8")
    cache = tmp_path / "cache"
    equality = ("--match-runtime", "numpy")

    # Equality, default policy: build against the runtime numpy, and say so.
    run = lock_build(
        "compile",
        "requirements.in",
        "-o",
        "runtime.lock",
        "--index-url",
        PYPI,
        "--cache-dir",
        cache,
        *equality,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "pyworld 0.3.5 builds against numpy==1.26.4" in run.stderr
    lock = tomllib.loads((tmp_path / "runtime.lock").read_text(encoding="utf-8"))
    (build,) = [b for b in lock["build"] if b["package"] == "pyworld"]
    assert "numpy==1.26.4" in build["pins"]
    assert build["substitutions"] == [
        {"package": "numpy", "declared": "numpy>=2", "used": "1.26.4"}
    ]

    # --build-match declared: an older pyworld whose declared requirements agree.
    run = lock_build(
        "compile",
        "requirements.in",
        "-o",
        "declared.lock",
        "--index-url",
        PYPI,
        "--cache-dir",
        cache,
        "--build-match",
        "declared",
        *equality,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    lock = tomllib.loads((tmp_path / "declared.lock").read_text(encoding="utf-8"))
    (build,) = [b for b in lock["build"] if b["package"] == "pyworld"]
    assert build["version"] == "0.3.4" and "substitutions" not in build
    assert "numpy==1.26.4" in build["pins"]

    # ... and none when pyworld itself is pinned: the explanation names everything.
    (tmp_path / "strict.in").write_text("numpy==1.26.4\npyworld==0.3.5\n", encoding="utf-8")
    run = lock_build(
        "compile",
        "strict.in",
        "--index-url",
        PYPI,
        "--cache-dir",
        cache,
        "--build-match",
        "declared",
        *equality,
        cwd=tmp_path,
    )
    assert run.returncode == 2
    assert "pyworld 0.3.5 needs numpy>=2 to build; the runtime pins numpy==1.26.4" in run.stderr
    assert "--build-match declared" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "strict.lock").exists()
