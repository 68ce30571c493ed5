"""The builtin installer starts staging when told how many wheels are coming, into the
scheme sync's one probe of the target found.

A first sync used to start the target twice before unpacking: once for its platform and
paths (kept in the interpreter cache), once more for the ``sysconfig`` scheme the
installer writes into. The probe now carries the scheme; the tests at the end hold it to
what the scheme script itself says."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.dists import make_wheel
from tests.support.venvs import VirtualEnv

from lock_build.sync import installers
from lock_build.sync.installers import BuiltinInstaller, LocalWheel
from lock_build.sync.staging import STAGING_PREFIX
from lock_build.target import describe_interpreter

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


def test_the_probed_scheme_is_what_the_scheme_script_reports(
    venv_factory: Callable[..., VirtualEnv], tmp_path: Path
) -> None:
    env = venv_factory()
    interpreter = describe_interpreter(env.python, tmp_path / "cache")
    from_probe = installers._layout_of(interpreter)
    asked = BuiltinInstaller(env.python, target_has_pip=False, break_system_packages=False)
    from_script = asked._target()  # no interpreter given: it runs the scheme script
    assert from_probe.venv and from_script.venv
    assert (from_probe.prefix, from_probe.version) == (from_script.prefix, from_script.version)
    # The keys the installer reads (the script reports the whole scheme).
    assert set(from_probe.paths) == {"purelib", "platlib", "scripts", "data", "include"}
    assert from_probe.paths == {key: from_script.paths[key] for key in from_probe.paths}


def test_a_builtin_install_given_the_probe_starts_no_interpreter_for_its_scheme(
    venv_factory: Callable[..., VirtualEnv], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = venv_factory()
    interpreter = describe_interpreter(env.python, tmp_path / "cache")
    scripts: list[str] = []
    real = installers._probe_json

    def spy(python: Path, script: str) -> object:
        scripts.append(script)
        return real(python, script)

    monkeypatch.setattr(installers, "_probe_json", spy)
    wheels = _wheels(tmp_path)
    tool = BuiltinInstaller(
        env.python,
        target_has_pip=False,
        break_system_packages=False,
        jobs=2,
        compile_bytecode=False,
        interpreter=interpreter,
    )
    try:
        tool.expect(len(wheels))
        for wheel in wheels:
            tool.stage(wheel)
        tool.install(wheels)
    finally:
        tool.close()
    assert installers._SCHEME_SCRIPT not in scripts
    for name in ("alpha", "beta"):
        assert (env.site_packages / name / "__init__.py").is_file()
    shown = subprocess.run(
        [str(env.python), "-c", "import alpha, beta; print(alpha.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip().startswith(str(env.site_packages))
