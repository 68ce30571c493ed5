"""The pins a previous lock holds, whichever tool wrote it: the way in for a pip-tools or uv
user (``compile INPUT --previous requirements.txt``) keeps every version.

A pip-compile or ``uv pip compile`` requirements.txt (hashes, extras, markers, ``# via``
comments and ``--allow-unsafe`` sections are all plain requirements syntax), a PEP 751
pylock.toml (read with ``packaging.pylock``), or a lock-build lock. Only exact pins count:
a line that pins nothing (a path, a URL, a range) gives the resolver nothing to keep.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from lock_build.errors import InputError, LockBuildError
from lock_build.inputs import parse_requirements_file
from lock_build.lockfile import Lock, read_lock

__all__ = ["PreviousPins", "looks_like_lock", "read_previous"]


@dataclass(frozen=True, kw_only=True, slots=True)
class PreviousPins:
    """Runtime pins from ``path``; ``lock`` is set when it was a lock-build lock (which
    also holds build pins)."""

    path: Path
    kind: str  # "requirements" | "pylock" | "lock"
    pins: tuple[tuple[NormalizedName, Version], ...]
    lock: Lock | None = None


class PreviousFileError(InputError):
    """A ``--previous`` file that is none of the formats it can be."""

    def __init__(self, message: str, *, path: Path, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


def looks_like_lock(path: Path) -> bool:
    """Whether ``path`` is a lock-build lock: TOML with an integer ``lock-version`` (a PEP 751
    pylock.toml has the string ``"1.0"``)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    version = data.get("lock-version")
    return isinstance(version, int) and not isinstance(version, bool)


def read_previous(path: Path, *, cwd: Path) -> PreviousPins:
    """Read the pins of ``path``, telling the three formats apart by content and name."""
    if looks_like_lock(path):
        lock = read_lock(path)
        pins = tuple(sorted((p.name, p.version) for p in lock.runtime_packages()))
        return PreviousPins(path=path, kind="lock", pins=pins, lock=lock)
    if path.suffix == ".toml":
        return PreviousPins(path=path, kind="pylock", pins=_pylock_pins(path))
    return PreviousPins(path=path, kind="requirements", pins=_requirements_pins(path, cwd))


def _pylock_pins(path: Path) -> tuple[tuple[NormalizedName, Version], ...]:
    # Imported here: every compile imports this module, few are given a pylock.toml.
    from packaging.pylock import Pylock, PylockUnsupportedVersionError, PylockValidationError

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        pylock = Pylock.from_dict(data)
    except (OSError, UnicodeDecodeError) as exc:
        raise PreviousFileError(f"Cannot read --previous {path}: {exc}.", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise PreviousFileError(f"--previous {path} is not valid TOML: {exc}.", path=path) from None
    except (PylockValidationError, PylockUnsupportedVersionError) as exc:
        raise PreviousFileError(
            f"--previous {path} is neither a lock-build lock nor a valid pylock.toml: {exc}.",
            path=path,
        ) from None
    pins = {p.name: p.version for p in pylock.packages if p.version is not None}
    return tuple(sorted((canonicalize_name(n), v) for n, v in pins.items()))


def _requirements_pins(path: Path, cwd: Path) -> tuple[tuple[NormalizedName, Version], ...]:
    try:
        parsed = parse_requirements_file(path, cwd=cwd)
    except LockBuildError as exc:
        raise PreviousFileError(
            f"--previous {path} is read as a requirements.txt, and: {exc.render()}", path=path
        ) from None
    pins: dict[NormalizedName, Version] = {}
    for item in parsed.requirements:
        specs = list(item.requirement.specifier)
        if item.link is not None or len(specs) != 1 or specs[0].operator not in ("==", "==="):
            continue
        try:
            version = Version(specs[0].version)
        except InvalidVersion:
            continue  # "==1.*" pins nothing
        # The same name twice under exclusive markers (one per platform) keeps the first:
        # a preference, not a constraint, so the resolver still decides.
        pins.setdefault(item.name, version)
    if not pins and parsed.requirements:
        raise PreviousFileError(
            f"--previous {path} pins no version (no 'name==version' line).",
            path=path,
            hint="Give the requirements.txt that pip-compile or uv wrote.",
        )
    return tuple(sorted(pins.items()))
