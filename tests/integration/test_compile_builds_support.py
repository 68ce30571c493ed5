"""Run `lock-build compile` / `export` for real (a subprocess through `main()`, so exit codes
and the one-paragraph errors are the user's), and read what it wrote.

No tests here: helpers for test_compile_builds*.py.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

_TIMEOUT = 180


@dataclass(frozen=True, kw_only=True, slots=True)
class Run:
    """One finished command: exit code, output, and the lockfile it was told to write."""

    code: int
    stdout: str
    stderr: str
    lockfile: Path

    @property
    def lock(self) -> dict[str, Any]:
        assert self.code == 0, f"compile failed ({self.code}):\n{self.stderr}"
        return tomllib.loads(self.lockfile.read_text(encoding="utf-8"))

    @property
    def error(self) -> str:
        """The `error: ` paragraph on stderr (asserting there is exactly one)."""
        lines = [line for line in self.stderr.splitlines() if line.startswith("error: ")]
        assert len(lines) == 1, f"expected one error line, got:\n{self.stderr}"
        assert "Traceback" not in self.stderr, self.stderr
        return lines[0]


def run_lock_build(args: Sequence[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lock_build", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
    )


def compile_lock(
    workdir: Path,
    index_url: str,
    requirements: Sequence[str],
    *options: str | Path,
    files: dict[str, str] | None = None,
    cache_dir: Path | None = None,
) -> Run:
    """`lock-build compile requirements.in -o requirements.lock` in `workdir`.

    `files`: extra files to write into `workdir` first (e.g. a -b constraints file).
    `cache_dir`: default `workdir/cache`. An existing requirements.lock is the previous lock."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "requirements.in").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    for name, text in (files or {}).items():
        (workdir / name).write_text(text, encoding="utf-8")
    lockfile = workdir / "requirements.lock"
    completed = run_lock_build(
        [
            "compile",
            "requirements.in",
            "-o",
            lockfile.name,
            "--index-url",
            index_url,
            "--cache-dir",
            cache_dir or workdir / "cache",
            *options,
        ],
        cwd=workdir,
    )
    return Run(
        code=completed.returncode,
        stdout=completed.stdout,
        stderr=completed.stderr,
        lockfile=lockfile,
    )


def export_build_constraints(run: Run) -> subprocess.CompletedProcess[str]:
    return run_lock_build(
        ["export", run.lockfile.name, "--format", "build-constraints"], cwd=run.lockfile.parent
    )


def builds(lock: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """[[build]] entries by sdist name (asserting one version per name)."""
    found: dict[str, dict[str, Any]] = {}
    for entry in lock.get("build", []):
        name = canonicalize_name(entry["package"])
        assert name not in found, f"two [[build]] entries for {name}"
        found[name] = entry
    return found


def entries(lock: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    """[[package]] entries of `name`, by version."""
    wanted = canonicalize_name(name)
    return {p["version"]: p for p in lock["package"] if canonicalize_name(p["name"]) == wanted}


def runtime_versions(lock: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["version"] for p in lock["package"] if p["runtime"]}


def pins(build: dict[str, Any]) -> dict[str, str]:
    return dict(pin.split("==", 1) for pin in build["pins"])
