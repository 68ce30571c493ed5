"""sync.prepare: what plan --python and sync share before planning."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version
from test_sync_support import make_lock, wheel_pkg

from lock_build.errors import TargetError
from lock_build.lockfile import LocalSource, LockedPackage, LockTarget
from lock_build.sync.installers import spared_by
from lock_build.sync.prepare import prepare


def _local(tmp_path: Path) -> LockedPackage:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "mod.py").write_text("x = 1\n")
    return LockedPackage(
        name=canonicalize_name("proj"),
        version=Version("1.0"),
        runtime=True,
        source=LocalSource(kind="directory", url="proj"),
    )


def test_fresh_environment_has_no_state_nothing_spared_and_local_digests(
    local_index, tmp_path: Path
) -> None:  # noqa: ANN001
    wheel = wheel_pkg(local_index, local_index.add_wheel("dep", "1.0"))
    lock = make_lock(Path(sys.executable), [wheel, _local(tmp_path)])
    prepared = prepare(lock, lock_dir=tmp_path, python=None)
    assert prepared.state is None and prepared.keep == frozenset()
    assert set(prepared.source_digests) == {"proj==1.0"}
    (tmp_path / "proj" / "mod.py").write_text("x = 2  # edited\n")
    edited = prepare(lock, lock_dir=tmp_path, python=None)
    assert edited.source_digests["proj==1.0"] != prepared.source_digests["proj==1.0"]


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_an_environment_is_inspected_and_the_installers_tooling_spared(
    local_index, venv_factory, tmp_path: Path, installer: str
) -> None:  # noqa: ANN001
    env = venv_factory()
    env.pip("install", "--no-deps", local_index.add_wheel("stale", "1.0"))
    wheel = wheel_pkg(local_index, local_index.add_wheel("dep", "1.0"))
    prepared = prepare(
        make_lock(env.python, [wheel]), lock_dir=tmp_path, python=env.python, installer=installer
    )
    assert prepared.state is not None and "stale" in prepared.state.installed
    assert prepared.keep == {canonicalize_name(n) for n in spared_by(installer)}
    plan = prepared.plan()
    assert [r.name for r in plan.remove] == ["stale"]
    assert [s.name for s in plan.install] == ["dep"]


def test_an_interpreter_the_lock_was_not_made_for_is_refused(
    local_index, venv_factory, tmp_path: Path
) -> None:  # noqa: ANN001
    env = venv_factory()
    lock = make_lock(env.python, [])
    other = replace(
        lock, targets=(LockTarget.from_values({**lock.target, "python-version": "2.7"}),)
    )
    with pytest.raises(TargetError, match="python-version 2.7"):
        prepare(other, lock_dir=tmp_path, python=env.python)
