"""pip and uv, driven only through their command lines, against a target interpreter.

Everything they install is a local file we already verified; they get no index,
no dependency resolution and no configuration of their own, so they cannot add
anything the lock did not name.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from lock_build.errors import SyncError

InstallerName = Literal["pip", "uv"]

# pip-sync's rule: never remove the installer's own tooling unless the lock lists it.
_SPARED = {
    "pip": ("pip", "setuptools", "wheel", "distribute", "pkg-resources"),
    "uv": ("uv", "pip", "setuptools", "wheel", "distribute", "pkg-resources"),
}


def spared_by(installer: InstallerName) -> tuple[str, ...]:
    """The names sync with ``installer`` never removes unless the lock lists them."""
    return _SPARED[installer]


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalWheel:
    name: str
    version: str
    path: Path
    sha256: str


def _link_all(wheels: Sequence[LocalWheel], directory: Path) -> None:
    # Installing `name==version` from a find-links directory (rather than by path) keeps
    # `pip freeze` showing plain pins instead of file:// URLs into our cache.
    for wheel in wheels:
        dest = directory / wheel.path.name
        try:
            os.link(wheel.path, dest)
        except OSError:
            shutil.copyfile(wheel.path, dest)


class InstallFailed(Exception):
    """The installer exited non-zero; the executor reports what changed."""

    def __init__(self, command: str, output: str) -> None:
        super().__init__(command)
        self.command = command
        self.output = output


class Installer(Protocol):
    name: str

    def spared(self) -> tuple[str, ...]: ...

    def install(self, wheels: Sequence[LocalWheel]) -> None: ...

    def uninstall(self, names: Sequence[str]) -> None: ...


def _quiet_environ() -> dict[str, str]:
    # We pass every option ourselves; the user's pip/uv configuration must not add
    # an index, --user, or a constraint that changes what gets installed.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        UV_NO_CONFIG="1",
    )
    return env


def _run(cmd: list[str]) -> None:
    try:
        completed = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            check=False,
            env=_quiet_environ(),
            stdin=subprocess.DEVNULL,
        )
    except OSError as exc:
        raise InstallFailed(" ".join(cmd), str(exc)) from exc
    if completed.returncode != 0:
        raise InstallFailed(" ".join(cmd), (completed.stdout + completed.stderr).strip())


class PipInstaller:
    """pip in the target environment, or this interpreter's pip with ``--python``."""

    name = "pip"

    def __init__(self, python: Path, *, target_has_pip: bool, break_system_packages: bool) -> None:
        if target_has_pip:
            self.base = [str(python), "-m", "pip"]
        elif importlib.util.find_spec("pip") is not None:
            # pip >= 22.3 can act on another interpreter: no pip needed in the target.
            self.base = [sys.executable, "-m", "pip", "--python", str(python)]
        else:
            raise SyncError(
                f"The target environment ({python}) has no pip, and neither has lock-build's.",
                hint="Install pip into it, or use --installer uv.",
            )
        self.extra = ["--break-system-packages"] if break_system_packages else []

    def spared(self) -> tuple[str, ...]:
        return _SPARED["pip"]

    def install(self, wheels: Sequence[LocalWheel]) -> None:
        if not wheels:
            return
        with tempfile.TemporaryDirectory(prefix="lock-build-install-") as tmp:
            links = Path(tmp) / "wheels"
            links.mkdir()
            _link_all(wheels, links)
            reqs = Path(tmp) / "requirements.txt"
            reqs.write_text(
                "".join(f"{w.name}=={w.version} --hash=sha256:{w.sha256}\n" for w in wheels),
                encoding="utf-8",
            )
            _run(
                [
                    *self.base,
                    "install",
                    "--no-deps",
                    "--no-index",
                    "--find-links",
                    str(links),
                    "--require-hashes",
                    "--force-reinstall",
                    "--no-cache-dir",
                    *self.extra,
                    "-r",
                    str(reqs),
                ]
            )

    def uninstall(self, names: Sequence[str]) -> None:
        if names:
            _run([*self.base, "uninstall", "-y", *self.extra, *names])


# Where `pip install uv` beside lock-build puts it (the same venv's bin directory).
UV_BESIDE = Path(sys.executable).parent


def find_uv() -> str | None:
    """uv on PATH, else the one installed beside lock-build."""
    beside = UV_BESIDE / "uv"
    return shutil.which("uv") or (str(beside) if beside.exists() else None)


class UvInstaller:
    """``uv pip`` against the target interpreter, offline, from our verified files."""

    name = "uv"

    def __init__(self, python: Path, *, break_system_packages: bool) -> None:
        uv = find_uv()
        if uv is None:
            raise SyncError(
                "--installer uv was given, but uv is not on PATH nor beside lock-build.",
                hint="Install uv (e.g. `pipx install uv`) or use the default --installer pip.",
            )
        self.base = [uv, "pip"]
        self.python = python
        self.extra = ["--break-system-packages"] if break_system_packages else []

    def spared(self) -> tuple[str, ...]:
        return _SPARED["uv"]

    def install(self, wheels: Sequence[LocalWheel]) -> None:
        if not wheels:
            return
        with tempfile.TemporaryDirectory(prefix="lock-build-install-") as tmp:
            links = Path(tmp)
            _link_all(wheels, links)
            _run(
                [
                    *self.base,
                    "install",
                    "--python",
                    str(self.python),
                    "--no-deps",
                    "--offline",
                    "--no-index",
                    "--find-links",
                    str(links),
                    "--reinstall",
                    *self.extra,
                    *(f"{w.name}=={w.version}" for w in wheels),
                ]
            )

    def uninstall(self, names: Sequence[str]) -> None:
        if names:
            _run([*self.base, "uninstall", "--python", str(self.python), *self.extra, *names])


def make_installer(
    name: InstallerName, python: Path, *, target_has_pip: bool, break_system_packages: bool
) -> Installer:
    if name == "uv":
        return UvInstaller(python, break_system_packages=break_system_packages)
    return PipInstaller(
        python, target_has_pip=target_has_pip, break_system_packages=break_system_packages
    )


__all__ = [
    "InstallFailed",
    "Installer",
    "InstallerName",
    "LocalWheel",
    "PipInstaller",
    "UvInstaller",
    "find_uv",
    "make_installer",
    "spared_by",
]
