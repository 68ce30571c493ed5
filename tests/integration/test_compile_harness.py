"""Shared driver for the `lock-build compile` integration tests (test_compile_*.py).

`Project` is a working directory plus a way to run the real CLI in it: in-process through
`lock_build.cli.main` (fast; an unexpected exception fails the test with its traceback) or as
a subprocess (`python -m lock_build`, the real exit path). Every run gets `--cache-dir` and,
unless told otherwise, `--index-url <the local index>`.

The few tests here check the driver itself.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lock_build.cli import main
from support.index import LocalIndex


@dataclass(frozen=True, kw_only=True, slots=True)
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def ok(self) -> Run:
        assert self.exit_code == 0, f"exit {self.exit_code}\n{self.stdout}\n{self.stderr}"
        return self


class Project:
    """A directory to run `lock-build` in, with the local index as its default index."""

    def __init__(self, root: Path, index: LocalIndex, cache: Path) -> None:
        self.root = root
        self.index = index
        self.cache = cache
        root.mkdir(parents=True, exist_ok=True)

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def read(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def lock(self, relative: str = "requirements.lock") -> dict[str, Any]:
        return tomllib.loads(self.read(relative))

    def pins(self, relative: str = "requirements.lock") -> dict[str, str]:
        """Runtime packages of a lock: name -> version."""
        return {
            p["name"]: p["version"]
            for p in self.lock(relative).get("package", [])
            if p.get("runtime", True)
        }

    def run(
        self,
        *args: str | os.PathLike[str],
        index: bool = True,
        subprocess_: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> Run:
        argv = [str(a) for a in args]
        if index:
            argv += ["--index-url", self.index.url]
        argv += ["--cache-dir", str(self.cache)]
        if subprocess_:
            return self._subprocess(argv, env or {})
        return self._in_process(argv, env or {})

    def compile(self, *args: str | os.PathLike[str], **kwargs: Any) -> Run:
        return self.run("compile", *args, **kwargs)

    def _in_process(self, argv: list[str], env: Mapping[str, str]) -> Run:
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(self.root)
            # compile writes sys.argv into the lock's regenerate command.
            mp.setattr(sys, "argv", ["lock-build", *argv])
            for key, value in env.items():
                mp.setenv(key, value)
            out, err = io.StringIO(), io.StringIO()
            code: int | str | None = 0
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main(argv)
                except SystemExit as exc:
                    code = exc.code
        return Run(exit_code=int(code or 0), stdout=out.getvalue(), stderr=err.getvalue())

    def _subprocess(self, argv: list[str], env: Mapping[str, str]) -> Run:
        full_env = {**os.environ, **env}
        result = subprocess.run(
            [sys.executable, "-m", "lock_build", *argv],
            cwd=self.root,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=120,
            check=False,
        )
        return Run(exit_code=result.returncode, stdout=result.stdout, stderr=result.stderr)


def make_project(
    tmp_path: Path, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch
) -> Project:
    del monkeypatch  # runs patch the environment themselves, per call
    return Project(tmp_path / "project", local_index, tmp_path / "cache")


def assert_clean_error(run: Run, *needles: str) -> None:
    """Exit 2, one `error:` paragraph on stderr naming every needle, no traceback."""
    assert run.exit_code == 2, f"exit {run.exit_code}\n{run.stdout}\n{run.stderr}"
    assert "Traceback" not in run.output, run.output
    assert "error: " in run.stderr, run.stderr
    for needle in needles:
        assert needle in run.stderr, f"{needle!r} not in:\n{run.stderr}"


def asked_projects(index: LocalIndex) -> set[str]:
    """Project pages the index was asked for."""
    return {
        r.path.split("/simple/", 1)[1].strip("/") for r in index.requests if "/simple/" in r.path
    }


# --------------------------------------------------------------------------- the driver itself


@pytest.fixture
def project(tmp_path: Path, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> Project:
    return make_project(tmp_path, local_index, monkeypatch)


def test_in_process_and_subprocess_runs_write_the_same_lock(project: Project) -> None:
    project.index.add_wheel("alpha", "1.0")
    project.write("requirements.in", "alpha\n")
    project.compile("-o", "a.lock").ok()
    project.compile("-o", "b.lock", subprocess_=True).ok()
    assert project.pins("a.lock") == project.pins("b.lock") == {"alpha": "1.0"}
    # The header's regenerate command differs (-o a.lock / -o b.lock); the body does not.
    body = [project.read(n).split("lock-version", 1)[1] for n in ("a.lock", "b.lock")]
    assert body[0] == body[1]
