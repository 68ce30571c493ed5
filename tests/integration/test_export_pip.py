"""An exported requirements.txt is accepted by a real `pip install --require-hashes --no-deps`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.utils import canonicalize_name
from packaging.version import Version

import lock_build.cli as cli_module
from lock_build.cli import cli
from lock_build.lockfile import (
    BuildEnvironment,
    Lock,
    LockedFile,
    LockedPackage,
    LockTarget,
    dumps,
)
from support.index import LocalIndex
from support.venvs import VirtualEnv


def _locked_file(index: LocalIndex, path: Path) -> LockedFile:
    return LockedFile(
        url=index.file_url(path.name),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        filename=path.name,
        index=index.url,
    )


def _lock(index: LocalIndex) -> Lock:
    alpha = index.add_wheel("alpha", "1.0", requires=["beta>=2"])
    beta = index.add_wheel("beta", "2.0")
    gamma = index.add_sdist("gamma", "0.5")  # built by pip with its in-tree backend
    # Build-only: not on the index at all, so pip fails if the export ever names it.
    tool = LockedFile(
        url="https://nowhere.invalid/buildtool-9.0-py3-none-any.whl",
        sha256="0" * 64,
        filename="buildtool-9.0-py3-none-any.whl",
    )
    packages = (
        LockedPackage(
            name=canonicalize_name("alpha"),
            version=Version("1.0"),
            wheels=(_locked_file(index, alpha),),
            dependencies=(canonicalize_name("beta"),),
            via=("-r requirements.in",),
        ),
        LockedPackage(
            name=canonicalize_name("beta"),
            version=Version("2.0"),
            wheels=(_locked_file(index, beta),),
            via=("alpha",),
        ),
        LockedPackage(
            name=canonicalize_name("gamma"),
            version=Version("0.5"),
            sdist=_locked_file(index, gamma),
            via=("-r requirements.in",),
        ),
        LockedPackage(
            name=canonicalize_name("buildtool"),
            version=Version("9.0"),
            runtime=False,
            wheels=(tool,),
            via=("gamma (build)",),
        ),
    )
    builds = (
        BuildEnvironment(
            package=canonicalize_name("gamma"),
            version=Version("0.5"),
            backend="lbbackend",
            pins=("buildtool==9.0",),
        ),
    )
    return Lock(
        inputs_digest="",
        input_files=("requirements.in",),
        command="lock-build compile requirements.in",
        targets=(LockTarget.from_values({"python-version": "3.11"}),),
        packages=packages,
        builds=builds,
    )


@pytest.fixture
def exported(local_index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """requirements.txt written by `lock-build export -o` from a lock of the index's files."""
    lockfile = tmp_path / "requirements.lock"
    lockfile.write_text(dumps(_lock(local_index)), encoding="utf-8")
    try:
        cli_module._register()
    except ImportError:  # sibling command modules not written yet
        from lock_build.cli import export_cmd

        cli.add_command(export_cmd.command)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "requirements.txt"
    result = CliRunner().invoke(
        cli, ["export", str(lockfile), "--format", "requirements", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def test_pip_require_hashes_accepts_the_export(
    exported: Path, local_index: LocalIndex, venv_factory: Callable[..., VirtualEnv]
) -> None:
    assert "buildtool" not in exported.read_text(encoding="utf-8")
    env = venv_factory()
    env.pip(
        "install", "--require-hashes", "--no-deps", "--index-url", local_index.url, "-r", exported
    )
    installed = env.freeze()
    assert {name: installed.get(name) for name in ("alpha", "beta", "gamma")} == {
        "alpha": "1.0",
        "beta": "2.0",
        "gamma": "0.5",
    }


def test_pip_rejects_the_export_when_a_file_changed(
    exported: Path, local_index: LocalIndex, venv_factory: Callable[..., VirtualEnv]
) -> None:
    """The hashes are really checked: a different beta on the index is refused."""
    (local_index.files_dir / "beta-2.0-py3-none-any.whl").unlink()
    local_index.add_wheel("beta", "2.0", files={"beta/extra.py": "changed = True\n"})
    env = venv_factory()
    result = env.pip(
        "install",
        "--require-hashes",
        "--no-deps",
        "--index-url",
        local_index.url,
        "-r",
        exported,
        check=False,
    )
    assert result.returncode != 0
    assert "DO NOT MATCH THE HASHES" in result.stderr
    assert "beta" not in env.freeze()
