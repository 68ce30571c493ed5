"""The builtin installer starts staging when told how many wheels are coming."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.dists import make_wheel
from tests.support.venvs import VirtualEnv

from lock_build.sync.installers import BuiltinInstaller, LocalWheel
from lock_build.sync.staging import STAGING_PREFIX

pytestmark = pytest.mark.skipif(os.name != "posix", reason="staging is POSIX only")


def _wheels(tmp_path: Path) -> list[LocalWheel]:
    return [
        LocalWheel(
            name=name,
            version="1.0",
            path=make_wheel(tmp_path / "wheels", name, "1.0"),
            sha256="0" * 64,
        )
        for name in ("alpha", "beta")
    ]


def _staging_dirs(env: VirtualEnv) -> list[Path]:
    return [p for p in env.path.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_expect_makes_the_staging_area_before_the_first_wheel_arrives(
    venv_factory: Callable[..., VirtualEnv], tmp_path: Path
) -> None:
    env = venv_factory()
    tool = BuiltinInstaller(env.python, target_has_pip=False, break_system_packages=False, jobs=2)
    try:
        tool.expect(2)
        assert tool._staging_starter is not None
        tool._staging_starter.join(timeout=60)
        assert len(_staging_dirs(env)) == 1  # made in the background, nothing staged yet
        wheels = _wheels(tmp_path)
        for wheel in wheels:
            tool.stage(wheel)
        tool.install(wheels)
    finally:
        tool.close()
    assert (env.site_packages / "alpha" / "__init__.py").is_file()
    assert (env.site_packages / "beta" / "__init__.py").is_file()
    assert _staging_dirs(env) == []  # close() removed the area


@pytest.mark.parametrize(("count", "jobs"), [(1, 2), (2, 1)])
def test_expect_starts_nothing_where_staging_gains_nothing(
    venv_factory: Callable[..., VirtualEnv], count: int, jobs: int
) -> None:
    env = venv_factory()
    tool = BuiltinInstaller(
        env.python, target_has_pip=False, break_system_packages=False, jobs=jobs
    )
    tool.expect(count)
    assert tool._staging_starter is None
    tool.close()
    assert _staging_dirs(env) == []
