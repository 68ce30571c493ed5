"""Exports of a lock with several targets: one target's file, or one file for all.

``--target ID`` exports the lock as that target sees it (:func:`lock_for_target`), with
every hash of each pinned version. Without it, a multi-target requirements.txt has one
line per (package, version) with a PEP 508 marker naming the targets that use it, as
``uv pip compile --universal`` writes; a pylock.toml has one ``environments`` entry per
target and a marker on each package not every target uses. Markers can tell targets
apart only by Python version, OS, machine and implementation: targets that differ only
by their manylinux floor and pin different versions make a universal file impossible,
and the export says which and asks for ``--target``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from packaging.markers import Marker
from packaging.pylock import Package
from packaging.version import Version

from lock_build.errors import TargetError

# The single-target writers' pieces: the line and package shapes must be identical.
from lock_build.export import (
    ExportResult,
    RequirementsStyle,
    _environments,
    _index_lines,
    _pylock_package,
    _pylock_toml,
    export,
    pylock_build_warnings,
    requirement_lines,
    validated_pylock,
)
from lock_build.lockfile import Lock, LockedPackage
from lock_build.multilock import choose_target, lock_for_target
from lock_build.redaction import redact

_PLAIN = RequirementsStyle()
# What a marker can say about a target, in the order markers are written.
_DISTINGUISHING = ("python_version", "implementation_name", "sys_platform", "platform_machine")


class UniversalExportError(TargetError):
    """Targets a marker cannot tell apart pin different versions."""

    def __init__(self, targets: tuple[str, ...], fmt: str) -> None:
        super().__init__(
            f"One {fmt} file cannot serve the targets {', '.join(targets)}: they pin "
            "different versions, and differ only in ways PEP 508 markers cannot express "
            "(their manylinux floor).",
            hint="Export each with --target ID.",
        )
        self.targets = targets


def export_lock(
    lock: Lock,
    fmt: str,
    *,
    target_id: str | None = None,
    command: str | None = None,
    style: RequirementsStyle = _PLAIN,
) -> ExportResult:
    """``export``, for any number of targets; ``target_id`` picks one."""
    if target_id is not None:
        chosen = choose_target(lock, None, target_id).chosen.id
        return export(lock_for_target(lock, chosen), fmt, command=command, style=style)
    if len(lock.targets) <= 1 or fmt == "build-constraints":
        # One global build-constraints set must fit every target's builds anyway.
        return export(lock, fmt, command=command, style=style)
    if fmt == "requirements":
        return universal_requirements(lock, command=command, style=style)
    if fmt == "pylock":
        return universal_pylock(lock, command=command)
    raise ValueError(f"unknown export format {fmt!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class _Pinned:
    """One runtime (name, version) and the targets that install it."""

    package: LockedPackage
    targets: tuple[str, ...]


def _pinned(lock: Lock, fmt: str) -> tuple[tuple[_Pinned, ...], Mapping[str, str]]:
    """Every runtime pin with its targets, and each target's marker text."""
    ids = tuple(sorted(t.id for t in lock.targets))
    markers = target_markers(lock)
    users: dict[tuple[str, Version], set[str]] = {}
    chosen: dict[tuple[str, Version], LockedPackage] = {}
    for ident in ids:
        for pkg in lock_for_target(lock, ident).runtime_packages():
            users.setdefault((pkg.name, pkg.version), set()).add(ident)
            chosen.setdefault((pkg.name, pkg.version), pkg)
    by_marker: dict[str, list[str]] = {}
    for ident in ids:
        by_marker.setdefault(markers[ident], []).append(ident)
    for alike in by_marker.values():
        if len(alike) > 1:
            sets = {frozenset(k for k, who in users.items() if i in who) for i in alike}
            if len(sets) > 1:
                raise UniversalExportError(tuple(alike), fmt)
    pinned = tuple(
        _Pinned(package=chosen[key], targets=tuple(sorted(who)))
        for key, who in sorted(users.items(), key=lambda item: item[0])
    )
    return pinned, markers


def target_markers(lock: Lock) -> dict[str, str]:
    """A marker per target naming what sets it apart from the lock's other targets."""
    values: dict[str, dict[str, str]] = {}
    for target in lock.targets:
        env = dict(target.marker_environment)
        env.setdefault("python_version", target.python_version)
        values[target.id] = env
    varying = [
        key
        for key in _DISTINGUISHING
        if len({env.get(key) for env in values.values()}) > 1
        and all(env.get(key) for env in values.values())
    ]
    return {
        ident: " and ".join(f'{key} == "{env[key]}"' for key in varying)
        for ident, env in values.items()
    }


def _marker_for(users: tuple[str, ...], every: int, markers: Mapping[str, str]) -> str | None:
    if len(users) == every:
        return None
    clauses = sorted({markers[u] for u in users if markers[u]})
    if not clauses:
        return None
    if len(clauses) == 1:
        return clauses[0]
    return " or ".join(f"({c})" if " and " in c else c for c in clauses)


def universal_requirements(
    lock: Lock, *, command: str | None = None, style: RequirementsStyle = _PLAIN
) -> ExportResult:
    """One requirements.txt for every target: a marker on each line not all of them use.

    The lines are the single-target writer's (every hash of the version, ``# via``),
    each followed by its marker; ``style`` is applied the same way.
    """
    pinned, markers = _pinned(lock, "requirements")
    every = len(lock.targets)
    lines = _universal_header(lock, command, "requirements") if style.header else []
    lines.extend(_index_lines(lock, style))
    entries = ((i.package, _marker_for(i.targets, every, markers)) for i in pinned)
    body, warnings = requirement_lines(entries, style)
    lines.extend(body)
    return ExportResult(text="\n".join(lines) + "\n", warnings=warnings)


def universal_pylock(lock: Lock, *, command: str | None = None) -> ExportResult:
    """One PEP 751 file for every target, validated with ``packaging.pylock``."""
    pinned, markers = _pinned(lock, "pylock")
    every = len(lock.targets)
    packages: list[Package] = []
    for item in pinned:
        package = _pylock_package(item.package)
        marker = _marker_for(item.targets, every, markers)
        packages.append(replace(package, marker=Marker(marker)) if marker else package)
    environments: list[Marker] = []
    for target in sorted(lock.targets, key=lambda t: t.id):
        environments.extend(_environments(target.to_dict()) or ())
    pylock = validated_pylock(packages, environments or None)
    warnings = pylock_build_warnings(lock)
    header = "\n".join(_universal_header(lock, command, "pylock")) + "\n"
    return ExportResult(text=header + _pylock_toml(pylock.to_dict()), warnings=tuple(warnings))


def _universal_header(lock: Lock, command: str | None, what: str) -> list[str]:
    ids = ", ".join(sorted(t.id for t in lock.targets))
    lines = [
        "#",
        f"# This file is autogenerated by lock-build for the targets {ids}",
        "# by the following command:",
        "#",
        f"#    {command or f'lock-build export --format {what}'}",
        "#",
    ]
    if lock.command:
        lines += [f"# from a lockfile made by: {redact(lock.command, keep_user=False)}", "#"]
    return lines


__all__ = [
    "UniversalExportError",
    "export_lock",
    "target_markers",
    "universal_pylock",
    "universal_requirements",
]
