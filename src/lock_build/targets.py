"""Several targets in one lock: ``--target`` values, target ids, local interpreters for a
Python version, and the choice of the target a consumer (sync, plan, export, graph) acts on.

A target is a Python version on a platform. ``--target`` names one as ``3.12`` (this
machine's platform), ``3.11-manylinux_2_28_x86_64`` (a wheel platform tag) or the path of
an interpreter. Each gets an id such as ``cp311-manylinux_2_28_x86_64`` that the lock
records and ``--target ID`` names again.

A Linux target's manylinux level is a floor: "glibc 2.28 or newer". Its wheels may need
at most that glibc, and any machine with that glibc or a newer one satisfies it, so a
consumer on glibc 2.36 may fit targets with floors 2.17 and 2.28 at once; the most
specific one it satisfies (the highest floor) wins, because it is the one whose wheels
were chosen closest to that machine.

Build hooks run in a real interpreter of the target's version, found the usual ways:
the path itself, ``python3.X`` on PATH, pyenv's versions, uv-managed Pythons.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.version import InvalidVersion, Version

from lock_build.errors import NoMatchingTargetError, TargetError, TargetSpecError
from lock_build.target import (
    Target,
    platform_tags,
    select_interpreter,
    synthetic_target,
    target_for_interpreter,
)

__all__ = [
    "Selection",
    "TargetInfo",
    "TargetSpec",
    "find_interpreter",
    "fit_rank",
    "id_of",
    "interpreter_candidates",
    "interpreter_version",
    "machine_platforms",
    "manylinux_floor",
    "normalize_platform",
    "parse_target_spec",
    "select_target",
    "target_for_spec",
    "target_id",
    "targets_for_specs",
]

# -- --target values ------------------------------------------------------------------

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
_ARCH = r"[a-z0-9_]+"
_PLATFORMS = (
    re.compile(rf"^manylinux_(\d+)_(\d+)_({_ARCH})$"),
    re.compile(rf"^manylinux(1|2010|2014)_({_ARCH})$"),
    re.compile(rf"^musllinux_(\d+)_(\d+)_({_ARCH})$"),
    re.compile(rf"^macosx_(\d+)_(\d+)_({_ARCH})$"),
    re.compile(r"^win32$|^win_(amd64|arm64)$"),
    re.compile(rf"^linux_({_ARCH})$"),
)
_LEGACY_MANYLINUX = {"manylinux1": "2_5", "manylinux2010": "2_12", "manylinux2014": "2_17"}
_MANYLINUX_LEVEL = re.compile(r"^manylinux_(\d+)_(\d+)_")


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetSpec:
    """One ``--target`` value, parsed: a version (and a platform), or an interpreter."""

    text: str
    python_version: Version | None = None  # None for an interpreter path
    platform: str | None = None  # a normalized wheel platform tag; None: this machine's
    interpreter: Path | None = None

    @property
    def minor(self) -> tuple[int, int] | None:
        """(major, minor) of the requested version, which interpreters are matched on."""
        if self.python_version is None:
            return None
        return self.python_version.major, self.python_version.minor


def parse_target_spec(text: str) -> TargetSpec:
    """``3.12``, ``3.11-manylinux_2_28_x86_64`` or an interpreter path, as a typed value.

    A value is a path when it names one (it holds a path separator or exists); everything
    else must be a version, optionally followed by ``-`` and a wheel platform tag.
    """
    value = text.strip()
    if not value:
        raise TargetSpecError(text, "is empty")
    version_text, sep, platform = value.partition("-")
    if _VERSION.match(version_text):
        try:
            version = Version(version_text)
        except InvalidVersion:  # pragma: no cover - the pattern admits only valid versions
            raise TargetSpecError(text, "is not a Python version like 3.12") from None
        if version.major < 3:
            raise TargetSpecError(text, "names Python 2, which lock-build does not lock for")
        if not sep:
            return TargetSpec(text=value, python_version=version)
        if not platform:
            raise TargetSpecError(text, "has no platform tag after '-'")
        return TargetSpec(
            text=value, python_version=version, platform=normalize_platform(platform, text)
        )
    if "/" in value or os.sep in value or Path(value).exists():
        path = Path(value).expanduser()
        if not path.exists():
            raise TargetSpecError(text, "names an interpreter that does not exist")
        return TargetSpec(text=value, interpreter=path)
    raise TargetSpecError(text, "is neither a Python version nor the path of an interpreter")


def normalize_platform(platform: str, spec: str | None = None) -> str:
    """A wheel platform tag, validated; legacy manylinux names become their PEP 600 name."""
    tag = platform.strip().lower().replace("-", "_").replace(".", "_")
    if not any(pattern.match(tag) for pattern in _PLATFORMS):
        raise TargetSpecError(
            spec or platform,
            f"has {platform!r}, which is not a wheel platform tag "
            "(manylinux_2_28_x86_64, musllinux_1_2_aarch64, macosx_14_0_arm64, win_amd64)",
        )
    legacy, _, arch = tag.partition("_")
    if legacy in _LEGACY_MANYLINUX:
        return f"manylinux_{_LEGACY_MANYLINUX[legacy]}_{arch}"
    return tag


def manylinux_floor(platform: str) -> tuple[int, int] | None:
    """The glibc level a manylinux platform tag names (its floor), or None."""
    match = _MANYLINUX_LEVEL.match(normalize_platform(platform))
    return (int(match[1]), int(match[2])) if match else None


# -- target ids -----------------------------------------------------------------------

_IMPLEMENTATION_ABBREVIATIONS = {"cpython": "cp", "pypy": "pp", "graalpy": "gp"}


def target_id(implementation: str, python_version: str, platform: str) -> str:
    """``cp311-manylinux_2_28_x86_64``: the interpreter tag and the platform tag."""
    short = _IMPLEMENTATION_ABBREVIATIONS.get(implementation, implementation)
    major, _, minor = python_version.partition(".")
    minor = minor.split(".", 1)[0]
    return f"{short}{major}{minor}-{normalize_platform(platform)}"


def id_of(target: Target) -> str:
    return target_id(target.implementation, target.python_version, target.platform)


# -- local interpreters ---------------------------------------------------------------

_ASK_VERSION = "import sys; print('%d.%d %s' % (sys.version_info[:2] + (sys.implementation.name,)))"


def interpreter_candidates(
    version: tuple[int, int], *, environ: Mapping[str, str], home: Path
) -> tuple[Path, ...]:
    """Where an interpreter of ``version`` may be, in the order we try them.

    ``python3.X`` on PATH, then pyenv's versions (``$PYENV_ROOT`` or ``~/.pyenv``), then
    uv-managed Pythons (``$UV_PYTHON_INSTALL_DIR``, else ``$XDG_DATA_HOME/uv/python``,
    else ``~/.local/share/uv/python``), newest patch release first within each. Only
    existing files are listed; whether they run is for :func:`find_interpreter` to ask.
    """
    major, minor = version
    names = (f"python{major}.{minor}", f"python{major}.{minor}.exe")
    found: list[Path] = []
    for entry in environ.get("PATH", "").split(os.pathsep):
        if entry:
            found.extend(Path(entry) / name for name in names)
    pyenv = Path(environ.get("PYENV_ROOT") or home / ".pyenv") / "versions"
    for directory in _versioned_dirs(pyenv, rf"^{major}\.{minor}(\.\d+)?$", r"^(\d+)\.(\d+)"):
        found.extend(directory / "bin" / name for name in names)
    data_home = Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    uv = Path(environ.get("UV_PYTHON_INSTALL_DIR") or data_home / "uv" / "python")
    pattern = rf"^cpython-{major}\.{minor}\.\d+-[^+]*$"  # "+freethreaded" builds are another ABI
    for directory in _versioned_dirs(uv, pattern, r"^cpython-(\d+)\.(\d+)\.(\d+)"):
        found.extend(directory / "bin" / name for name in names)
        found.append(directory / "python.exe")
    seen: set[Path] = set()
    unique = []
    for path in found:
        if path not in seen and path.is_file():
            seen.add(path)
            unique.append(path)
    return tuple(unique)


def _versioned_dirs(parent: Path, pattern: str, version_pattern: str) -> list[Path]:
    try:
        children = [c for c in parent.iterdir() if c.is_dir() and re.match(pattern, c.name)]
    except OSError:
        return []

    def newest_first(child: Path) -> tuple[int, ...]:
        match = re.match(version_pattern, child.name)
        numbers = tuple(int(n) for n in match.groups() if n) if match else ()
        return tuple(-n for n in numbers)

    return sorted(children, key=lambda c: (newest_first(c), c.name))


def interpreter_version(path: Path) -> tuple[int, int] | None:
    """The (major, minor) a CPython interpreter reports, or None if it does not run."""
    try:
        completed = subprocess.run(
            [str(path), "-I", "-c", _ASK_VERSION],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.fullmatch(r"(\d+)\.(\d+) cpython\s*", completed.stdout)
    if completed.returncode != 0 or not match:
        return None  # a pyenv shim for a version not selected, a broken install, PyPy ...
    return int(match[1]), int(match[2])


def _uv_find(version: tuple[int, int], uv: str) -> Path | None:
    """What ``uv python find`` reports among uv-managed Pythons (it knows its own config)."""
    try:
        completed = subprocess.run(
            [uv, "python", "find", "--managed-python", "--no-python-downloads", "--no-project"]
            + [f"{version[0]}.{version[1]}"],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    path = completed.stdout.strip()
    return Path(path) if completed.returncode == 0 and path else None


_FOUND: dict[tuple[int, int], Path | None] = {}


def find_interpreter(
    version: tuple[int, int],
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    ask: Callable[[Path], tuple[int, int] | None] = interpreter_version,
) -> Path | None:
    """A working local CPython of ``version`` (``python3.X`` on PATH, pyenv, uv), or None."""
    cacheable = environ is None and home is None and ask is interpreter_version
    if cacheable and version in _FOUND:
        return _FOUND[version]
    env = os.environ if environ is None else environ
    candidates = interpreter_candidates(version, environ=env, home=home or Path.home())
    found = next((path for path in candidates if ask(path) == version), None)
    if found is None:
        uv = shutil.which("uv", path=env.get("PATH"))
        managed = _uv_find(version, uv) if uv else None
        found = managed if managed is not None and ask(managed) == version else None
    if cacheable:
        _FOUND[version] = found
    return found


# -- from a spec to a Target ----------------------------------------------------------


def machine_platforms(target: Target) -> tuple[str, ...]:
    """The platform tags an interpreter installs, most specific first, without ``any``."""
    seen: dict[str, None] = {}
    for tag in target.tags:
        if tag.platform != "any":
            seen.setdefault(tag.platform, None)
    return tuple(seen)


def target_for_spec(
    spec: TargetSpec,
    *,
    local: Target,
    find: Callable[[tuple[int, int]], Path | None] = find_interpreter,
) -> Target:
    """The Target a ``--target`` value describes, with a local interpreter where one fits.

    Hooks can run only in an interpreter of the target's version on a platform the
    target's wheels install on; without one the Target has ``interpreter=None`` and
    locking fails where an sdist would have to be built.
    """
    if spec.interpreter is not None:
        return target_for_interpreter(select_interpreter(spec.interpreter))
    assert spec.python_version is not None and spec.minor is not None
    if local.python_version == f"{spec.minor[0]}.{spec.minor[1]}" and local.interpreter:
        host: Target | None = local
    else:
        found = find(spec.minor)
        host = target_for_interpreter(found) if found is not None else None
    exact_patch = spec.python_version.micro != 0 or spec.text.count(".") >= 2
    if spec.platform is None:
        if host is not None and not exact_patch:
            return host
        base = host or local
        return replace(
            synthetic_target(str(spec.python_version), base.platform, base),
            interpreter=host.interpreter if host else None,
        )
    base = host or local
    version_text = (
        str(spec.python_version) if exact_patch or host is None else host.python_full_version
    )
    synthetic = synthetic_target(version_text, spec.platform, base)
    fits_here = host is not None and spec.platform in machine_platforms(host)
    return replace(
        synthetic,
        tags=_tags(spec.minor, spec.platform),
        interpreter=host.interpreter if host is not None and fits_here else None,
    )


def _tags(version: tuple[int, int], platform: str) -> tuple[Tag, ...]:
    """Every tag a wheel may carry to install on ``platform`` with CPython ``version``."""
    if platform.startswith("macosx_"):
        major, minor, arch = platform.split("_", 3)[1:]
        platforms: tuple[str, ...] = tuple(mac_platforms((int(major), int(minor)), arch))
    else:
        platforms = platform_tags(platform)
    interpreter = f"cp{version[0]}{version[1]}"
    return tuple(cpython_tags(version, platforms=platforms)) + tuple(
        compatible_tags(version, interpreter, platforms)
    )


def targets_for_specs(
    specs: Sequence[TargetSpec],
    *,
    local: Target,
    find: Callable[[tuple[int, int]], Path | None] = find_interpreter,
) -> tuple[Target, ...]:
    """The Targets of repeated ``--target`` values, refusing two with the same id."""
    targets: dict[str, Target] = {}
    texts: dict[str, str] = {}
    for spec in specs:
        target = target_for_spec(spec, local=local, find=find)
        ident = id_of(target)
        if ident in targets:
            raise TargetError(
                f"--target {texts[ident]!r} and --target {spec.text!r} are the same target "
                f"({ident}).",
                hint="Give each target once.",
            )
        targets[ident] = target
        texts[ident] = spec.text
    return tuple(targets.values())


# -- consumers: which target of a lock ------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetInfo:
    """What a consumer needs to know about one target of a lock to decide if it fits."""

    id: str
    implementation: str
    python_version: str  # "3.11"
    platform: str  # a normalized platform tag

    @classmethod
    def of(cls, implementation: str, python_version: str, platform: str) -> TargetInfo:
        platform = normalize_platform(platform) if platform != "any" else platform
        ident = target_id(implementation, python_version, platform) if platform != "any" else ""
        return cls(
            id=ident or f"{implementation}-{python_version}",
            implementation=implementation,
            python_version=python_version,
            platform=platform,
        )

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> TargetInfo:
        """From a lock's target table (``implementation``, ``python-version``, ``platform``)."""
        info = cls.of(
            str(record.get("implementation", "cpython")),
            str(record.get("python-version", "")),
            str(record.get("platform", "any")),
        )
        recorded = record.get("id")
        return replace(info, id=str(recorded)) if recorded else info

    def describe(self) -> str:
        return f"{self.id} ({self.implementation} {self.python_version} on {self.platform})"


@dataclass(frozen=True, kw_only=True, slots=True)
class Selection:
    """The target a consumer uses, and every other target the machine also satisfies."""

    chosen: TargetInfo
    also_fitting: tuple[TargetInfo, ...] = ()
    named: bool = False  # chosen by --target ID rather than by the machine

    def note(self) -> str | None:
        """What to tell the user when the choice was not the only possible one."""
        if not self.also_fitting:
            return None
        others = ", ".join(t.id for t in self.also_fitting)
        return (
            f"Using target {self.chosen.id}, the most specific this interpreter fits "
            f"(it also fits {others})."
        )


def fit_rank(info: TargetInfo, machine: Target) -> int | None:
    """How specifically ``machine`` satisfies ``info`` (lower is closer), or None if it does not.

    Same implementation and Python version, and a platform tag the machine installs: a
    manylinux floor at or below its glibc, a macOS version at or below its own.
    """
    if info.implementation != machine.implementation:
        return None
    if info.python_version != machine.python_version:
        return None
    platforms = machine_platforms(machine)
    if info.platform == "any":
        return len(platforms)
    return platforms.index(info.platform) if info.platform in platforms else None


def select_target(
    targets: Sequence[TargetInfo], machine: Target | None, wanted: str | None = None
) -> Selection:
    """The target of a lock a consumer acts on: ``wanted`` by id, else the best fit.

    A lock with one target gives that one (the consumer's own checks then say exactly
    what does not fit). With several, the most specific target ``machine`` satisfies
    wins; none fitting is a :class:`NoMatchingTargetError` listing them.
    """
    ids = tuple(t.id for t in targets)
    if wanted is not None:
        chosen = next((t for t in targets if t.id == wanted), None)
        if chosen is None:
            raise NoMatchingTargetError(_machine_text(machine), ids, wanted)
        return Selection(chosen=chosen, named=True)
    if len(targets) == 1:
        return Selection(chosen=targets[0])
    if machine is None:
        raise TargetError(
            "The lock has several targets (" + ", ".join(ids) + "); name one with --target ID.",
        )
    ranked = sorted(
        ((rank, t) for t in targets if (rank := fit_rank(t, machine)) is not None),
        key=lambda item: (item[0], item[1].id),
    )
    if not ranked:
        raise NoMatchingTargetError(_machine_text(machine), ids)
    return Selection(chosen=ranked[0][1], also_fitting=tuple(t for _, t in ranked[1:]))


def _machine_text(machine: Target | None) -> str:
    if machine is None:
        return "this machine"
    where = f" ({machine.interpreter})" if machine.interpreter else ""
    return f"{machine.describe()}{where}"
