"""What the lock records beyond the resolutions, gathered before assembly.

Every locked version lists all of its files with their sha256 (from the index data the
finder already holds; a find-links file without a hash is hashed once here), and local
projects say where their tree came from. Gathering is the last I/O of a compile, so
:func:`~lock_build.locking.assemble.assemble_lock` is a pure function of values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from lock_build.locking.builds import LockedBuild
from lock_build.locking.compile_source import ReleaseKey
from lock_build.locking.direct import VcsCheckout
from lock_build.models import Artifact, ArtifactKind, CoreMetadata, Release
from lock_build.resolution.model import PackageSource, Resolution


class FileFacts(Protocol):
    """Where every file of a version, and each file's sha256, come from (the finder)."""

    def complete(self, release: Release) -> Release: ...

    def sha256(self, artifact: Artifact) -> str: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class LockedFiles:
    """The files one version records: every wheel, and its sdist; each with its sha256."""

    wheels: tuple[Artifact, ...] = ()
    sdist: Artifact | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class LockFacts:
    files: Mapping[ReleaseKey, LockedFiles]  # index files; local projects have none
    metadata: Mapping[ReleaseKey, CoreMetadata]  # of build-only pins, as resolution used it
    vcs: Mapping[ReleaseKey, VcsCheckout]
    editable: frozenset[ReleaseKey]


def gather_facts(
    runtime: Resolution,
    builds: Sequence[LockedBuild],
    *,
    files: FileFacts,
    source: PackageSource,
    vcs: Mapping[ReleaseKey, VcsCheckout],
    editable: frozenset[ReleaseKey],
) -> LockFacts:
    """The facts of every version the runtime or a build environment pins."""
    releases: dict[ReleaseKey, Release] = {}
    for package in runtime.packages:
        release = package.candidate.release
        assert release is not None
        releases.setdefault((release.name, release.version), release)
    build_only: dict[ReleaseKey, CoreMetadata] = {}
    for build in builds:
        for release in build.pins.values():
            key = (release.name, release.version)
            if key not in releases:
                releases[key] = release
                build_only[key] = source.metadata(release)
    return LockFacts(
        files={
            key: _files(release, files)
            for key, release in releases.items()
            if release.artifact.kind is not ArtifactKind.DIRECTORY
        },
        metadata=build_only,
        vcs=vcs,
        editable=editable,
    )


def _files(release: Release, facts: FileFacts) -> LockedFiles:
    listed = facts.complete(release).files
    # The sdist among the listed files (the https copy where a local mirror has one too).
    chosen = release.sdist
    sdists = [a for a in listed if not a.is_wheel]
    sdist = next((a for a in sdists if chosen is None or a.filename == chosen.filename), chosen)
    return LockedFiles(
        wheels=tuple(_hashed(a, facts) for a in listed if a.is_wheel),
        sdist=_hashed(sdist, facts) if sdist is not None else None,
    )


def _hashed(artifact: Artifact, facts: FileFacts) -> Artifact:
    return replace(artifact, sha256=facts.sha256(artifact))


__all__ = ["FileFacts", "LockFacts", "LockedFiles", "gather_facts"]
