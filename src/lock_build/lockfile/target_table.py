"""The ``[[target]]`` tables: each environment a lock is for, and the wheel tags it accepts.

:class:`LockTarget` is the lock's record of a :class:`lock_build.target.Target`
(implementation, Python version, platform, marker values), with an id the other tables
refer to. :func:`target_tags` turns those values into the tags an installer on the
target accepts, best first; it is memoised because every package of a lock is checked
against them. (Named ``target_table`` so as not to be mistaken for the top-level
``lock_build.targets``: ``--target`` values and the choice of target a consumer acts on.)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from packaging.tags import Tag, compatible_tags, cpython_tags

from lock_build.lockfile.reading import TARGET_ID, Path_, Reader, printable

__all__ = ["LockTarget", "target_tags"]

_IMPLEMENTATIONS = {"cpython": "cp", "pypy": "pp", "graalpy": "graalpy"}


@dataclass(frozen=True, kw_only=True, slots=True)
class LockTarget:
    """One environment the lock is for (a ``[[target]]`` table)."""

    id: str
    implementation: str
    python_version: str
    python_full_version: str
    platform: str
    markers: tuple[tuple[str, str], ...] = ()
    # The lowest glibc (manylinux level) on which every package still has a usable file;
    # None when the platform is not a manylinux one.
    glibc_floor: str | None = None

    @staticmethod
    def make_id(implementation: str, python_version: str, platform: str) -> str:
        short = _IMPLEMENTATIONS.get(implementation, implementation[:2] or "py")
        return f"{short}{python_version.replace('.', '')}-{platform}" if platform else short

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> LockTarget:
        """A target from what :meth:`lock_build.target.Target.to_dict` records."""
        implementation = str(values.get("implementation", ""))
        python_version = str(values.get("python-version", ""))
        platform = str(values.get("platform", ""))
        markers = values.get("markers", {})
        return cls(
            id=str(values.get("id") or cls.make_id(implementation, python_version, platform)),
            implementation=implementation,
            python_version=python_version,
            python_full_version=str(values.get("python-full-version", "")),
            platform=platform,
            markers=tuple(sorted((str(k), str(v)) for k, v in dict(markers).items())),
            glibc_floor=values.get("glibc-floor"),
        )

    @property
    def marker_environment(self) -> dict[str, str]:
        return dict(self.markers)

    def tags(self) -> tuple[Tag, ...]:
        """The wheel tags an installer on this target accepts, best first."""
        return target_tags(self.implementation, self.python_version, self.platform)

    def to_dict(self) -> dict[str, Any]:
        table: dict[str, Any] = {"id": self.id}
        for key, value in (
            ("implementation", self.implementation),
            ("python-version", self.python_version),
            ("python-full-version", self.python_full_version),
            ("platform", self.platform),
        ):
            if value:  # hand-made test locks may leave some out
                table[key] = value
        if self.glibc_floor is not None:
            table["glibc-floor"] = self.glibc_floor
        table["markers"] = dict(sorted(self.markers))
        return table

    @classmethod
    def _read(cls, data: Mapping[str, Any], path: Path_, r: Reader) -> LockTarget | None:
        values = {
            key: r.string(data, key, path)
            for key in ("id", "implementation", "python-version", "python-full-version", "platform")
        }
        ident = values["id"]
        if ident is not None and not TARGET_ID.fullmatch(ident):
            r.add((*path, "id"), f"{ident!r} is not a target id (letters, digits, . _ -)")
            return None
        version = values["python-version"]
        if version is not None and not re.fullmatch(r"\d+\.\d+", version):
            r.add((*path, "python-version"), f"{version!r} is not a version like 3.12")
        platform = values["platform"]
        if platform is not None and not TARGET_ID.fullmatch(platform):
            r.add((*path, "platform"), f"{platform!r} is not a platform tag")
        floor = r.string(data, "glibc-floor", path)
        if floor is not None and not re.fullmatch(r"\d+\.\d+", floor):
            r.add((*path, "glibc-floor"), f"{floor!r} is not a glibc version like 2.17")
            floor = None
        markers: dict[str, str] = {}
        table = r.table(data, "markers", path)
        for key, value in (table or {}).items():
            if isinstance(value, str) and printable(value):
                markers[key] = value
            else:
                r.add((*path, "markers", key), "must be a string without control characters")
        given = {k: v for k, v in values.items() if v}
        return replace(cls.from_values({**given, "markers": markers}), glibc_floor=floor)


@functools.lru_cache(maxsize=64)
def target_tags(implementation: str, python_version: str, platform: str) -> tuple[Tag, ...]:
    """The wheel tags an installer of ``implementation`` ``python_version`` on ``platform``
    accepts, best first (none for a version that is not ``X.Y``)."""
    from lock_build.target import platform_tags

    try:
        major, minor = (int(p) for p in python_version.split(".")[:2])
    except ValueError:
        return ()
    platforms = platform_tags(platform) if platform else ()
    interpreter = f"{_IMPLEMENTATIONS.get(implementation, 'cp')}{major}{minor}"
    tags: list[Tag] = []
    if implementation in ("cpython", ""):
        tags.extend(cpython_tags((major, minor), platforms=platforms))
    tags.extend(compatible_tags((major, minor), interpreter, platforms))
    return tuple(tags)
