"""The wheel about to be installed must be the distribution compile locked.

An index's PEP 658 ``.metadata`` file (or a range read of the wheel) is what compile
resolved against; the wheel itself is what gets installed. A consistent but wrong
``.metadata`` (its hash on the page matches it, not the wheel) would lock one
dependency set and install another, and only ``pip check`` would notice, after the
environment changed. So sync reads each wheel's METADATA before anything is installed
and compares its name, version and Requires-Dist with the lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from lock_build.errors import MetadataError, SyncError
from lock_build.lockfile import Lock, LockedPackage
from lock_build.metadata import (
    core_metadata_from_headers,
    core_metadata_headers,
    read_wheel_metadata,
)
from lock_build.sync.installers import LocalWheel


def _key(requirement: Requirement) -> str:
    """A Requires-Dist entry compared as packaging reads it, not as it is spelled."""
    extras = ",".join(sorted(canonicalize_name(e) for e in requirement.extras))
    return " ".join(
        part
        for part in (
            canonicalize_name(requirement.name) + (f"[{extras}]" if extras else ""),
            str(requirement.specifier),
            f"@ {requirement.url}" if requirement.url else "",
            f"; {requirement.marker}" if requirement.marker else "",
        )
        if part
    )


def _spelled_as_locked(raw: dict[str, Any], pkg: LockedPackage) -> bool:
    """The wheel's name, version and every Requires-Dist written exactly as the lock
    writes them: then they are what was locked, without parsing each requirement (the
    lock holds ``str()`` of each; anything spelled otherwise is compared parsed)."""
    name, version = raw.get("name"), raw.get("version")
    if not isinstance(name, str) or canonicalize_name(name) != pkg.name:
        return False
    if version != str(pkg.version):
        return False
    try:  # a malformed Requires-Python is the full reading's to report
        SpecifierSet(raw.get("requires_python") or "")
    except InvalidSpecifier:
        return False
    return set(raw.get("requires_dist", ())) == {str(r) for r in pkg.requires_dist}


def check_wheels(
    lock: Lock,
    wheels: Iterable[LocalWheel],
    built: frozenset[str],
    known: Mapping[Path, str | None] | None = None,
) -> None:
    """Refuse, before the target changes, a wheel whose metadata is not what was locked.

    ``built``: ``name==version`` of wheels built from source this run; their
    Requires-Dist may legitimately differ from the sdist's (an old setup.py writes
    the build's numpy into it), so only their name and version are compared.
    ``known``: :func:`wheel_problem` of downloaded (not built) wheels, found while the
    rest arrived.
    """
    known = known or {}
    problems = []
    for wheel in wheels:
        problem = (
            known[wheel.path]
            if wheel.path in known
            else wheel_problem(lock, wheel, built=f"{wheel.name}=={wheel.version}" in built)
        )
        if problem:
            problems.append(problem)
    if problems:
        raise SyncError(
            "The metadata of " + "; of ".join(problems) + ". Nothing was installed.",
            hint="The index serves metadata that does not match its files; re-lock, or "
            "report it to the index.",
        )


def wheel_problem(lock: Lock, wheel: LocalWheel, *, built: bool) -> str | None:
    """What is wrong with ``wheel``'s metadata for ``lock`` (None: nothing, or the lock
    does not name it); ``built``: built from source this run (see check_wheels)."""
    pkg = lock.package(canonicalize_name(wheel.name))
    return None if pkg is None else _compare(lock, pkg, wheel, built)


def _compare(lock: Lock, pkg: LockedPackage, wheel: LocalWheel, built: bool) -> str | None:
    try:
        raw = core_metadata_headers(read_wheel_metadata(wheel.path, pkg.name), wheel.path.name)
        if not built and _spelled_as_locked(raw, pkg):
            return None
        metadata = core_metadata_from_headers(raw, wheel.path.name)
    except MetadataError as exc:
        return f"{wheel.path.name} cannot be read ({exc.message})"
    if metadata.name != pkg.name:
        return f"{wheel.path.name} names the project {metadata.name!r}, the lock {pkg.name!r}"
    if metadata.version != pkg.version:
        return f"{wheel.path.name} says version {metadata.version}, the lock {pkg.version}"
    if built or lock.lock_version < 2:
        return None  # version-1 locks did not record Requires-Dist
    have = {_key(r) for r in metadata.requires_dist}
    locked = {_key(r) for r in pkg.requires_dist}
    if have != locked:
        extra = sorted(have - locked)
        missing = sorted(locked - have)
        parts = ([f"requires {', '.join(extra)} that compile did not see"] if extra else []) + (
            [f"lacks {', '.join(missing)} that compile locked"] if missing else []
        )
        return f"{wheel.path.name} differs from what compile used: it " + " and ".join(parts)
    return None


__all__ = [
    "check_wheels",
    "wheel_problem",
]
