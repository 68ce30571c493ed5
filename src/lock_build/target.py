"""The environment a lock is made for: its marker values and wheel tags.

One rule picks the interpreter for every command: ``--python PATH`` if given, else
the active virtual environment, else the interpreter running lock-build (so a
lock-build installed with pipx locks for the user's project, not for itself).
A local interpreter is asked directly; ``--python-version`` / ``--platform``
describe a target that is not here, and we derive its markers and tags ourselves
because ``packaging`` only describes the running interpreter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import packaging
from packaging.markers import Marker
from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag

from lock_build.errors import TargetError

# Run inside the target interpreter with our copy of `packaging` importable, so its
# tags and markers are exactly what an installer running there would compute.
_PROBE = r"""
import json, sys, sysconfig
sys.path.insert(0, sys.argv[1])
from packaging import tags, markers
print(json.dumps({
    "markers": markers.default_environment(),
    "tags": [str(t) for t in tags.sys_tags()],
    "executable": sys.executable,
    "prefix": sys.prefix,
    "base_prefix": sys.base_prefix,
    "purelib": sysconfig.get_paths()["purelib"],
}))
"""


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """What we lock for. ``tags`` are ordered most preferred first, as installers rank them."""

    python_version: str  # "3.11"
    python_full_version: str  # "3.11.7"
    implementation: str  # "cpython"
    platform: str  # the most specific platform tag, e.g. "manylinux_2_36_x86_64"
    markers: tuple[tuple[str, str], ...]
    tags: tuple[Tag, ...] = field(repr=False)
    # The local interpreter that matches the target, if any; sdists can only be built
    # (and dynamic metadata computed) where there is one.
    interpreter: Path | None = None
    # Derived from ``tags`` once: ranking wheels is the hottest loop of file selection.
    _rank: Mapping[Tag, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rank = {tag: i for i, tag in reversed(list(enumerate(self.tags)))}
        object.__setattr__(self, "_rank", rank)

    @property
    def marker_environment(self) -> dict[str, str]:
        return dict(self.markers)

    def evaluate(self, marker: Marker | None, extras: frozenset[str] = frozenset()) -> bool:
        """Whether a requirement with ``marker`` applies here, for any of ``extras``."""
        if marker is None:
            return True
        env = self.marker_environment
        if not extras:
            return marker.evaluate({**env, "extra": ""})
        return any(marker.evaluate({**env, "extra": extra}) for extra in sorted(extras))

    def tag_priority(self, tag: Tag) -> int | None:
        """Lower is better; ``None`` if a wheel with this tag cannot be installed here."""
        return self._rank.get(tag)

    def describe(self) -> str:
        return f"{self.implementation} {self.python_full_version} on {self.platform}"

    def to_dict(self) -> dict[str, object]:
        """What the lock records about its target (tags are derivable, not stored)."""
        return {
            "implementation": self.implementation,
            "python-version": self.python_version,
            "python-full-version": self.python_full_version,
            "platform": self.platform,
            # The kernel's release and build string differ between identical machines:
            # recording them would make locks differ byte-wise for no reason.
            "markers": {k: v for k, v in sorted(self.markers) if k not in _VOLATILE_MARKERS},
        }


_VOLATILE_MARKERS = frozenset({"platform_release", "platform_version"})


def select_interpreter(python: str | os.PathLike[str] | None) -> Path:
    """``--python`` if given, else the active virtualenv, else the running interpreter."""
    if python:
        return _interpreter_path(Path(python))
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        return _interpreter_path(Path(venv))
    return Path(sys.executable)


def _interpreter_path(path: Path) -> Path:
    if path.is_dir():
        for candidate in (path / "bin" / "python", path / "Scripts" / "python.exe"):
            if candidate.exists():
                return candidate
        raise TargetError(
            f"{path} is a directory but holds no bin/python.",
            hint="Pass a Python interpreter or a virtual environment to --python.",
        )
    if not path.exists():
        raise TargetError(f"Python interpreter {path} does not exist.")
    return path


def run_interpreter_script(
    interpreter: Path, script: str, *args: str, purpose: str, timeout: int = 120
) -> dict[str, Any]:
    """Run a stdlib-only ``script`` in ``interpreter`` (isolated mode) and parse its JSON.

    ``purpose`` completes "Could not ask the interpreter X for ..." in the error.
    """
    try:
        completed = subprocess.run(
            [str(interpreter), "-I", "-c", script, *args],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise TargetError(
            f"Could not ask the interpreter {interpreter} for {purpose} ({exc}).",
            hint="Check that --python names a working Python 3 interpreter.",
        ) from exc
    if completed.returncode != 0:
        raise TargetError(
            f"Could not ask the interpreter {interpreter} for {purpose} "
            f"(exit {completed.returncode}).",
            hint="Check that --python names a working Python 3 interpreter.",
            detail=completed.stderr,
        )
    try:
        return json.loads(completed.stdout)
    except ValueError as exc:
        raise TargetError(
            f"The interpreter {interpreter} answered with garbage when asked for {purpose}.",
            detail=completed.stdout[-2000:],
        ) from exc


def probe_interpreter(interpreter: Path) -> dict[str, object]:
    """Ask a local interpreter for its markers, tags and paths."""
    packaging_parent = str(Path(packaging.__file__).resolve().parent.parent)
    return run_interpreter_script(
        interpreter, _PROBE, packaging_parent, purpose="its platform", timeout=60
    )


_PROBES: dict[Path, Target] = {}


def target_for_interpreter(interpreter: Path) -> Target:
    """The target described by a local interpreter (cached per path)."""
    cached = _PROBES.get(interpreter)
    if cached is not None:
        return cached
    facts = probe_interpreter(interpreter)
    markers = {str(k): str(v) for k, v in dict(facts["markers"]).items()}  # type: ignore[call-overload]
    tags = tuple(t for text in facts["tags"] for t in parse_tag(text))  # type: ignore[union-attr]
    # Record the manylinux/musllinux level rather than the bare linux_* tag a local
    # build produces: it is the glibc level the lock assumed.
    platforms = [t.platform for t in tags if t.platform != "any"]
    platform = next((p for p in platforms if p.startswith(("manylinux_", "musllinux_"))), None)
    platform = platform or (platforms[0] if platforms else "any")
    target = Target(
        python_version=markers["python_version"],
        python_full_version=markers["python_full_version"],
        implementation=markers["implementation_name"],
        platform=platform,
        markers=tuple(sorted(markers.items())),
        tags=tags,
        interpreter=interpreter,
    )
    _PROBES[interpreter] = target
    return target


_PLATFORM_MARKERS = (
    # (prefix of a platform tag, sys_platform, platform_system, os_name)
    ("manylinux", "linux", "Linux", "posix"),
    ("musllinux", "linux", "Linux", "posix"),
    ("linux", "linux", "Linux", "posix"),
    ("macosx", "darwin", "Darwin", "posix"),
    ("win", "win32", "Windows", "nt"),
)
_MANYLINUX = re.compile(r"^(manylinux|musllinux)_(\d+)_(\d+)_(\w+)$")
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def platform_tags(platform: str) -> tuple[str, ...]:
    """Every platform tag a wheel may carry to install on ``platform``, best first."""
    for legacy, (major, minor) in _LEGACY_MANYLINUX.items():
        if platform.startswith(legacy + "_"):
            platform = f"manylinux_{major}_{minor}_{platform[len(legacy) + 1 :]}"
    match = _MANYLINUX.match(platform)
    if not match:
        return (platform,)
    family, major, minor, arch = match[1], int(match[2]), int(match[3]), match[4]
    floor = 5 if family == "manylinux" and arch in ("x86_64", "i686") else 17
    if family == "musllinux":
        floor = 1
    tags: list[str] = []
    for m in range(minor, floor - 1, -1):
        tags.append(f"{family}_{major}_{m}_{arch}")
        legacy = {v: k for k, v in _LEGACY_MANYLINUX.items()}.get((major, m))
        if family == "manylinux" and legacy:
            tags.append(f"{legacy}_{arch}")
    tags.append(f"linux_{arch}")
    return tuple(tags)


def synthetic_target(python_version: str, platform: str, base: Target) -> Target:
    """A target that is not this machine: markers derived from the version and platform.

    ``base`` (the local target) fills what a version and a platform tag do not say.
    """
    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", python_version):
        raise TargetError(f"--python-version {python_version!r} is not a version like 3.12.")
    parts = python_version.split(".")
    short = ".".join(parts[:2])
    full = python_version if len(parts) == 3 else f"{short}.0"
    markers = dict(base.markers)
    markers.update(
        python_version=short,
        python_full_version=full,
        implementation_name="cpython",
        implementation_version=full,
        platform_python_implementation="CPython",
    )
    for prefix, sys_platform, system, os_name in _PLATFORM_MARKERS:
        if platform.startswith(prefix):
            markers.update(sys_platform=sys_platform, platform_system=system, os_name=os_name)
            break
    else:
        raise TargetError(
            f"--platform {platform!r} is not a wheel platform tag.",
            hint="Use a tag such as manylinux_2_28_x86_64, macosx_11_0_arm64 or win_amd64.",
        )
    machine = platform.split("_", 3)[-1] if _MANYLINUX.match(platform) else platform.split("_")[-1]
    markers["platform_machine"] = {"amd64": "AMD64", "arm64": "arm64"}.get(machine, machine)
    version = (int(parts[0]), int(parts[1]))
    plats = platform_tags(platform)
    tags = tuple(cpython_tags(version, platforms=plats)) + tuple(
        compatible_tags(version, f"cp{version[0]}{version[1]}", plats)
    )
    same_here = base.python_version == short and base.platform in plats
    return Target(
        python_version=short,
        python_full_version=full,
        implementation="cpython",
        platform=platform,
        markers=tuple(sorted(markers.items())),
        tags=tags,
        interpreter=base.interpreter if same_here else None,
    )


def resolve_target(
    python: str | None = None,
    python_version: str | None = None,
    platform: str | None = None,
) -> Target:
    """The one rule every command uses to decide what it locks or syncs for."""
    local = target_for_interpreter(select_interpreter(python))
    if python_version is None and platform is None:
        return local
    return synthetic_target(
        python_version or local.python_version, platform or local.platform, local
    )
