"""Network: lock a small real stack from PyPI and cross-check it with `uv pip compile`.

Both tools target the interpreter running the tests (`uv pip compile --python
sys.executable`, so markers such as ``python_full_version`` agree exactly), and both read
only https://pypi.org/simple (the autouse fixture hides pip/uv configuration but keeps
PIP_CERT for the proxy's CA bundle).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from lock_build.lockfile import read_lock

PYPI = "https://pypi.org/simple"
STACK = Path(__file__).parent / "stacks" / "small.in"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")

pytestmark = pytest.mark.network


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def _lock_build_compile(project: Path, cache: Path) -> bytes:
    run = _run(
        [
            sys.executable,
            "-m",
            "lock_build",
            "compile",
            "requirements.in",
            "-o",
            "requirements.lock",
            "--index-url",
            PYPI,
            "--cache-dir",
            str(cache),
            "-q",
        ],
        cwd=project,
    )
    assert run.returncode == 0, run.stderr
    return (project / "requirements.lock").read_bytes()


def _uv() -> list[str]:
    beside = Path(sys.executable).parent / "uv"
    if beside.exists():
        return [str(beside)]
    if shutil.which("uv"):
        return ["uv"]
    pytest.skip("uv is not installed (it comes with the project's `test` extra)")


def _uv_pins(project: Path, cache: Path) -> dict[str, str]:
    run = _run(
        [
            *_uv(),
            "pip",
            "compile",
            "requirements.in",
            "--index-url",
            PYPI,
            "--python",
            sys.executable,
            "--cache-dir",
            str(cache),
            "--no-header",
            "--no-annotate",
            "-q",
        ],
        cwd=project,
    )
    assert run.returncode == 0, run.stderr
    pins = {}
    for line in run.stdout.splitlines():
        if match := _PIN.match(line):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def _lock_pins(lock: bytes) -> dict[str, str]:
    data = tomllib.loads(lock.decode("utf-8"))
    return {p["name"]: p["version"] for p in data["package"] if p.get("runtime", True)}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(STACK, root / "requirements.in")
    return root


def test_small_stack_matches_uv_and_is_deterministic(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "lock-build-cache"
    first = _lock_build_compile(project, cache)

    ours = _lock_pins(first)
    theirs = _uv_pins(project, tmp_path / "uv-cache")
    # Only packages both resolved the same way: every top-level name, plus their deps.
    assert set(ours) >= {"attrs", "click", "idna", "packaging", "pyyaml", "requests", "rich", "six"}
    assert ours == theirs

    data = tomllib.loads(first.decode("utf-8"))
    lock = read_lock(project / "requirements.lock")
    for package in data["package"]:
        assert package.get("wheels"), f"{package['name']} has wheels"
        for wheel in package["wheels"]:
            assert re.fullmatch(r"[0-9a-f]{64}", wheel["sha256"])
            assert wheel["url"].startswith("https://")
        locked = lock.package(package["name"], package["version"])
        assert locked is not None and locked.wheel_for(lock.tags()) is not None, package["name"]

    # Compile again from scratch (no previous lock to keep pins from; warm cache).
    (project / "requirements.lock").unlink()
    assert _lock_build_compile(project, cache) == first
