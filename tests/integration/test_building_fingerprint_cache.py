"""compile and sync share one fingerprint recipe, so they share built wheels.

compile builds an sdist-only build requirement to run another sdist's hooks; sync then
finds that wheel in the cache under the key it computes from the lock."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_compile_builds_support import compile_lock

from lock_build.lockfile import read_lock
from lock_build.sync.executor import sync


def test_sync_reuses_the_build_requirement_wheel_compile_built(
    local_index, venv_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    monkeypatch.setenv("PIP_TRUSTED_HOST", "127.0.0.1")  # sync fetches plain http only then
    local_index.add_sdist("leaf", "1.0")
    local_index.add_sdist("top", "1.0", build_requires=["leaf"])
    cache = tmp_path / "cache"
    run = compile_lock(tmp_path / "lock", local_index.url, ["top"], cache_dir=cache)
    assert run.code == 0, run.stderr
    lock = read_lock(run.lockfile)
    env = venv_factory()
    result = sync(lock, lock_dir=run.lockfile.parent, python=env.python, cache_dir=cache)
    assert result.reused == ("leaf==1.0",)  # built by compile, found by sync
    assert result.built == ("top==1.0",)
    assert env.freeze() == {"top": "1.0"}
