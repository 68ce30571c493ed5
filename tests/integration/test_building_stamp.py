"""Built, stamped wheels install with pip and installer, and the stamp is readable after."""

from __future__ import annotations

import hashlib
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from lock_build.building import (
    BuildEnvironment,
    BuildFingerprint,
    BuildPin,
    build_wheel,
    get_requires_for_build_wheel,
    read_build_system,
    read_stamp,
    stamp_wheel,
)
from support.dists import make_sdist, make_wheel
from support.venvs import VirtualEnv

PYTHON = Path(sys.executable)
TAG = "py3-none-any"


def unpack(archive: Path, dest: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest / archive.name.removesuffix(".tar.gz")


def _fingerprint(wheels: list[Path]) -> str:
    pins = []
    for wheel in wheels:
        name, version, _, _ = parse_wheel_filename(wheel.name)
        sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
        pins.append(BuildPin(name=name, version=str(version), sha256=sha256))
    return BuildFingerprint.of(pins, None, TAG).digest


@pytest.mark.parametrize("build_system", [False, None], ids=["setup.py", "pyproject-no-table"])
def test_legacy_setuptools_build_stamp_and_pip_install(
    tmp_path: Path,
    tools_wheels: Path,
    venv_factory: Callable[..., VirtualEnv],
    build_system: object,
) -> None:
    source = unpack(
        make_sdist(tmp_path / "sdists", "legacy-pkg", "1.0", build_system=build_system),
        tmp_path / "src",
    )
    system = read_build_system(source)
    assert system.legacy and system.backend == "setuptools.build_meta:__legacy__"
    tools = [next(tools_wheels.glob("setuptools-*.whl")), next(tools_wheels.glob("wheel-*.whl"))]
    with BuildEnvironment.create(PYTHON, tools, tmp_path / "work") as env:
        dynamic = get_requires_for_build_wheel(env, source, system, None)
        assert {r.name for r in dynamic} <= {"wheel"}  # setuptools asks for wheel at most
        wheel = build_wheel(env, source, system, None, tmp_path / "out")
        pins = env.installed()
        fingerprint = _fingerprint(tools)
    assert wheel.name == "legacy_pkg-1.0-py3-none-any.whl"
    stamp_wheel(wheel, pins, fingerprint)

    target = venv_factory()
    target.pip("install", "--no-index", "--no-deps", wheel)
    assert target.freeze()["legacy-pkg"] == "1.0"
    assert (
        target.run("-c", "import legacy_pkg; print(legacy_pkg.__version__)").stdout.strip() == "1.0"
    )
    stamp = read_stamp(target.site_packages / "legacy_pkg-1.0.dist-info")
    assert stamp is not None
    assert stamp["fingerprint"] == fingerprint
    assert set(stamp["pins"]) == {"setuptools", "wheel"}
    # pip verifies nothing on its own; its uninstall uses RECORD, which must list the stamp.
    target.pip("uninstall", "-y", "legacy-pkg")
    assert not (target.site_packages / "legacy_pkg-1.0.dist-info").exists()


def test_abi_build_in_pinned_env_installs_and_imports(
    tmp_path: Path, venv_factory: Callable[..., VirtualEnv]
) -> None:
    """The point of the project, at this layer: built against the runtime pin, it imports."""
    provider = make_wheel(tmp_path / "wheels", "abiprov", "2.0")
    source = unpack(
        make_sdist(
            tmp_path / "sdists",
            "cftime",
            "1.6.1",
            build_requires=["abiprov"],
            abi_provider="abiprov",
            requires=["abiprov"],
        ),
        tmp_path / "src",
    )
    system = read_build_system(source)
    with BuildEnvironment.create(PYTHON, [provider], tmp_path / "work") as env:
        wheel = build_wheel(env, source, system, None, tmp_path / "out")
        pins = env.installed()
    stamp_wheel(wheel, pins, "f" * 64)

    # installer (through a BuildEnvironment) accepts the stamped wheel too.
    with BuildEnvironment.create(PYTHON, [provider, wheel], tmp_path / "work") as check:
        stamp = read_stamp(check.distributions()["cftime"].dist_info)
        assert stamp == {"format": 1, "fingerprint": "f" * 64, "pins": {"abiprov": "2.0"}}

    target = venv_factory()
    target.pip("install", "--no-index", "--find-links", tmp_path / "wheels", wheel)
    result = target.run("-c", "import cftime; print('imported')")
    assert result.stdout.strip() == "imported", result.stderr
