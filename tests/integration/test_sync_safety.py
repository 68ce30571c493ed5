"""sync/safety.py through `lock-build sync`: no base interpreter by accident, and never a
downgrade or removal of what lock-build itself needs in the target."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_sync_support import make_lock, run_cli, wheel_pkg

from lock_build.cli import sync_cmd
from lock_build.lockfile import write_lock
from lock_build.sync.safety import (
    BaseInterpreterError,
    RunningInterpreter,
    refuse_base_interpreter,
)
from support.index import LocalIndex

BASE = RunningInterpreter(
    executable=Path("/usr/bin/python3"), prefix=Path("/usr"), base_prefix=Path("/usr")
)
VENV = RunningInterpreter(
    executable=Path("/p/.venv/bin/python"), prefix=Path("/p/.venv"), base_prefix=Path("/usr")
)

CHOICES = [
    # (--python, VIRTUAL_ENV, the interpreter running lock-build, refused)
    (None, None, BASE, True),
    ("/p/.venv", None, BASE, False),
    (None, "/p/.venv", BASE, False),
    (None, None, VENV, False),
]


@pytest.mark.parametrize(("python", "virtual_env", "running", "refused"), CHOICES)
def test_a_base_interpreter_is_refused_unless_named(
    python: str | None, virtual_env: str | None, running: RunningInterpreter, refused: bool
) -> None:
    environ = {"VIRTUAL_ENV": virtual_env} if virtual_env else {}
    if not refused:
        refuse_base_interpreter(python, environ, running)
        return
    with pytest.raises(BaseInterpreterError) as info:
        refuse_base_interpreter(python, environ, running)
    assert info.value.python == running.executable
    assert "--python" in info.value.render() and "python -m venv" in info.value.render()


def test_sync_cli_refuses_a_base_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.setattr(sys, "base_prefix", sys.prefix)  # as if run from a system Python
    lockfile = tmp_path / "requirements.lock"
    write_lock(lockfile, make_lock(Path(sys.executable), []))
    code, out = run_cli(sync_cmd.command, [lockfile, "--cache-dir", tmp_path / "cache"])
    assert code == 2
    assert "a base (non-virtual) Python" in out


def test_never_downgrades_or_removes_what_lock_build_needs(
    local_index: LocalIndex,
    venv_factory,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    # A stand-in lock-build distribution installed in the target, needing helper>=2.
    local_index.add_wheel("lock-build", "9.0", requires=["helper>=2"])
    old = local_index.add_wheel("helper", "1.0")
    local_index.add_wheel("helper", "2.0")
    env = venv_factory()
    env.pip("install", "--index-url", local_index.url, "lock-build==9.0", "helper==2.0")
    before = env.freeze()

    lockfile = tmp_path / "requirements.lock"
    write_lock(lockfile, make_lock(env.python, [wheel_pkg(local_index, old)]))
    for extra in ([], ["--dry-run"]):
        args = [lockfile, "--python", env.path, "--cache-dir", tmp_path / "cache", *extra]
        code, out = run_cli(sync_cmd.command, args)
        assert code == 2, out
        assert "helper 2.0 -> 1.0" in out and "lock-build 9.0 -> (removed)" in out
        assert "Nothing was changed" in out
    assert env.freeze() == before
