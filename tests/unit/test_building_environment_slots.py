"""Hooks in one venv: the first runs alone (it writes the backend's bytecode), the rest
run side by side."""

from __future__ import annotations

import threading
from pathlib import Path

from lock_build.building.environment import BuildEnvironment


def _environment(tmp_path: Path) -> BuildEnvironment:
    # No venv is made: the slots are about the object, not the files.
    return BuildEnvironment(
        path=tmp_path / "env",
        root=tmp_path,
        python=tmp_path / "env" / "bin" / "python",
        paths={},
        markers={},
        py_version_short="3.11",
    )


def test_hooks_wait_for_the_first_one_then_run_at_once(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    events: list[str] = []
    first_inside = threading.Event()
    finish_first = threading.Event()
    later_inside = threading.Barrier(3)  # two later hooks and this test, all at once

    def first() -> None:
        with env.hook_slot():
            events.append("first in")
            first_inside.set()
            assert finish_first.wait(10)
            events.append("first out")

    def later() -> None:
        with env.hook_slot():
            events.append("later in")
            later_inside.wait(10)  # would break if the later hooks ran one by one

    runner = threading.Thread(target=first)
    runner.start()
    assert first_inside.wait(10)
    others = [threading.Thread(target=later) for _ in range(2)]
    for thread in others:
        thread.start()
    finish_first.set()
    later_inside.wait(10)
    for thread in (runner, *others):
        thread.join(10)
    assert events == ["first in", "first out", "later in", "later in"]


def test_a_first_hook_that_fails_still_opens_the_venv_to_the_others(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    try:
        with env.hook_slot():
            raise RuntimeError("the backend raised")
    except RuntimeError:
        pass
    inside = threading.Barrier(2)

    def hook() -> None:
        with env.hook_slot():
            inside.wait(10)

    threads = [threading.Thread(target=hook) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not inside.broken
