"""The workshop's pool of build environments: one venv per set of pins, shared, evicted
only when idle, cleaned up at the end."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lock_build import building
from lock_build.locking.workshop import _EnvironmentPool


class FakeEnvironment:
    made: list[FakeEnvironment] = []

    def __init__(self, wheels: list[Path]) -> None:
        self.wheels = wheels
        self.cleaned = False

    @classmethod
    def create(cls, interpreter: Path, wheels: list[Path], root: Path) -> FakeEnvironment:
        if any(w.name == "broken.whl" for w in wheels):
            raise OSError("cannot make it")
        env = cls(wheels)
        cls.made.append(env)
        return env

    def cleanup(self) -> None:
        self.cleaned = True


@pytest.fixture
def pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> _EnvironmentPool:
    FakeEnvironment.made = []
    monkeypatch.setattr(building, "BuildEnvironment", FakeEnvironment)
    return _EnvironmentPool(tmp_path, size=1)


PY = Path("/usr/bin/python3")


def test_hooks_running_at_once_share_one_environment(pool: _EnvironmentPool) -> None:
    inside = threading.Barrier(3)
    seen: list[object] = []

    def hook() -> None:
        with pool.environment(PY, [Path("setuptools.whl")]) as env:
            seen.append(env)
            inside.wait(5)  # all three hold it at the same time

    threads = [threading.Thread(target=hook) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(FakeEnvironment.made) == 1 and seen == FakeEnvironment.made * 3


def test_an_environment_in_use_is_not_evicted(pool: _EnvironmentPool) -> None:
    with pool.environment(PY, [Path("a.whl")]) as first:
        with pool.environment(PY, [Path("b.whl")]) as second:
            assert not first.cleaned and not second.cleaned  # both in use: both kept
        # size=1: one must go when b is done, and a is still in use, older as it is.
        assert not first.cleaned and second.cleaned
    assert not first.cleaned  # alone in the pool again: kept for the next hook
    pool.close()
    assert first.cleaned


def test_a_failed_environment_is_tried_again(pool: _EnvironmentPool) -> None:
    for _ in range(2):
        with pytest.raises(OSError, match="cannot make it"):
            with pool.environment(PY, [Path("broken.whl")]):
                pass
    with pool.environment(PY, [Path("ok.whl")]) as env:
        assert env in FakeEnvironment.made
