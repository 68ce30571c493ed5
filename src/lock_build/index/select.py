"""Pure selection: which files of a project the target can use, grouped into releases."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from lock_build.models import Artifact, Release
from lock_build.settings import BinaryPolicy
from lock_build.target import Target


def newer_than(artifact: Artifact, cutoff: datetime, *, keep_unknown: bool) -> bool:
    """Whether ``--exclude-newer`` drops ``artifact``.

    Files without an upload time are kept only where ``keep_unknown`` (local and
    find-links locations, which never report one); from a remote index an unknown
    time could hide a newer upload, so they are dropped, as uv does.
    """
    if artifact.upload_time is None:
        return not keep_unknown
    return _aware(artifact.upload_time) > _aware(cutoff)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def usable(artifact: Artifact, target: Target, binary: BinaryPolicy) -> bool:
    """Whether ``artifact`` may be installed (or built) on ``target`` under ``binary``."""
    spec = artifact.requires_python
    if spec is not None and not _python_fits(spec, target.python_full_version):
        return False
    if artifact.is_wheel:
        return binary.allows_wheel(artifact.name) and wheel_rank(artifact, target) is not None
    return binary.allows_sdist(artifact.name)


@functools.lru_cache(maxsize=4096)
def _python_fits(spec: SpecifierSet, python_full_version: str) -> bool:
    # A project's files repeat a handful of specifiers thousands of times (botocore).
    return spec.contains(python_full_version, prereleases=True)


def wheel_rank(artifact: Artifact, target: Target) -> int | None:
    """The best (lowest) tag priority among a wheel's tags; ``None`` if none fits."""
    ranks = [r for r in (target.tag_priority(tag) for tag in artifact.tags) if r is not None]
    return min(ranks) if ranks else None


def group_releases(
    name: NormalizedName,
    artifacts: Iterable[Artifact],
    target: Target,
    binary: BinaryPolicy,
) -> tuple[Release, ...]:
    """Releases usable on ``target``, newest first; pre-releases are left to the resolver."""
    by_version: dict[Version, list[Artifact]] = {}
    # A page's files share a few Requires-Python objects (parsed once per string) and
    # hashing a SpecifierSet costs more than comparing it: decide each object once.
    python_fits: dict[int, bool] = {}
    full_version = target.python_full_version
    for artifact in artifacts:
        if artifact.name != name:
            continue
        spec = artifact.requires_python
        if spec is not None:
            fits = python_fits.get(id(spec))
            if fits is None:
                fits = python_fits[id(spec)] = _python_fits(spec, full_version)
            if not fits:
                continue
        if artifact.is_wheel:
            keep = binary.allows_wheel(name) and wheel_rank(artifact, target) is not None
        else:
            keep = binary.allows_sdist(name)
        if keep:
            by_version.setdefault(artifact.version, []).append(artifact)
    releases = []
    for version in sorted(by_version, reverse=True):
        files = by_version[version]
        live = [a for a in files if not a.is_yanked]
        # A yanked file only counts when nothing else of that version is left.
        chosen_from = live or files
        wheel = _best_wheel([a for a in chosen_from if a.is_wheel], target)
        sdist = _best_sdist([a for a in chosen_from if not a.is_wheel])
        chosen = wheel or sdist
        assert chosen is not None
        releases.append(
            Release(
                name=name,
                version=version,
                wheel=wheel,
                sdist=sdist,
                yanked=not live,
                requires_python=chosen.requires_python,
            )
        )
    return tuple(releases)


def _best_wheel(wheels: list[Artifact], target: Target) -> Artifact | None:
    if not wheels:
        return None
    # Ties go to the filename, then to the earlier index (min() keeps the first).
    return min(wheels, key=lambda w: (wheel_rank(w, target), w.filename))


def _best_sdist(sdists: list[Artifact]) -> Artifact | None:
    if not sdists:
        return None
    return min(sdists, key=lambda s: (not s.filename.endswith(".tar.gz"), s.filename))


__all__ = [
    "group_releases",
    "newer_than",
    "usable",
    "wheel_rank",
]
