"""An sdist's ``[build-system]`` table, read the way pip reads it.

Parsing is strict: a build requirement we cannot read is a requirement we cannot
lock, so every malformed field becomes a :class:`BuildError` that names the sdist
and the field instead of a silent fallback.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from lock_build.building.failure_hints import sdist_error
from lock_build.errors import BuildError

__all__ = [
    "LEGACY_BACKEND",
    "LEGACY_REQUIRES",
    "BuildSystem",
    "parse_build_system",
    "read_build_system",
]

# What pip assumes for projects without pyproject.toml or without [build-system]
# (PEP 517 "legacy" mode: setup.py driven through setuptools' __legacy__ backend).
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
LEGACY_REQUIRES = ("setuptools>=40.8.0",)


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildSystem:
    """The static half of an sdist's build requirements (the backend may add more)."""

    requires: tuple[Requirement, ...]
    backend: str
    backend_path: tuple[str, ...] = ()
    # True when no `build-backend` was named, so pip's setup.py fallback backend runs
    # (no pyproject.toml, no [build-system] table, or a table with `requires` only).
    legacy: bool = False

    @classmethod
    def default(cls) -> BuildSystem:
        return cls(
            requires=tuple(Requirement(r) for r in LEGACY_REQUIRES),
            backend=LEGACY_BACKEND,
            backend_path=(),
            legacy=True,
        )


def read_build_system(source_dir: Path) -> BuildSystem:
    """Read ``source_dir/pyproject.toml``; pip's legacy defaults where it says nothing."""
    label = source_dir.name
    pyproject = source_dir / "pyproject.toml"
    if not pyproject.is_file():
        return BuildSystem.default()
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise sdist_error(
            label,
            f"{label}: pyproject.toml is not valid TOML ({exc}).",
            hint="The sdist is broken; pin another version or report it upstream.",
        ) from exc
    except OSError as exc:
        raise sdist_error(label, f"{label}: cannot read pyproject.toml ({exc}).") from exc
    return parse_build_system(data, label=label)


def parse_build_system(data: dict[str, Any], *, label: str) -> BuildSystem:
    """Validate an already-parsed pyproject mapping; ``label`` names the sdist in errors."""
    if "build-system" not in data:
        return BuildSystem.default()
    table = data["build-system"]
    if not isinstance(table, dict):
        raise _field_error(label, "", "a table", table)

    if "requires" not in table:
        # PEP 518 makes `requires` mandatory once the table exists; pip refuses too.
        raise sdist_error(
            label,
            f"{label}: pyproject.toml has a [build-system] table without `requires`.",
            hint="The sdist is broken; pin another version or report it upstream.",
        )
    raw_requires = table["requires"]
    if not isinstance(raw_requires, list) or not all(isinstance(r, str) for r in raw_requires):
        raise _field_error(label, ".requires", "a list of strings", raw_requires)
    requires = []
    for raw in raw_requires:
        try:
            requires.append(Requirement(raw))
        except InvalidRequirement as exc:
            raise sdist_error(
                label,
                f"{label}: [build-system].requires has an invalid requirement {raw!r} ({exc}).",
                hint="The sdist is broken; pin another version or report it upstream.",
            ) from exc

    backend = table.get("build-backend", LEGACY_BACKEND)
    if not isinstance(backend, str) or not backend.strip():
        raise _field_error(label, ".build-backend", "a non-empty string", backend)

    raw_path = table.get("backend-path", [])
    if not isinstance(raw_path, list) or not all(isinstance(p, str) for p in raw_path):
        raise _field_error(label, ".backend-path", "a list of strings", raw_path)
    for entry in raw_path:
        if not _stays_inside(entry):
            raise sdist_error(
                label,
                f"{label}: [build-system].backend-path entry {entry!r} points outside the "
                "source tree.",
                hint="PEP 517 requires relative paths inside the sdist.",
            )

    return BuildSystem(
        requires=tuple(requires),
        backend=backend.strip(),
        backend_path=tuple(raw_path),
        legacy="build-backend" not in table,
    )


def _stays_inside(entry: str) -> bool:
    if not entry or PurePosixPath(entry).is_absolute() or PureWindowsPath(entry).is_absolute():
        return False
    if PureWindowsPath(entry).drive:
        return False
    # Normalise lexically (the tree may not exist yet) and refuse any climb out.
    normal = os.path.normpath(entry.replace("\\", "/"))
    return normal != ".." and not normal.startswith("../") and not os.path.isabs(normal)


def _field_error(label: str, field: str, expected: str, value: object) -> BuildError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return sdist_error(
        label,
        f"{label}: [build-system]{field} must be {expected}, not {shown}.",
        hint="The sdist is broken; pin another version or report it upstream.",
    )
