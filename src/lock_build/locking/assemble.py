"""Resolution results and gathered facts → the :class:`~lock_build.lockfile.Lock` value.

A pure function: every fact it records (files, hashes, metadata, where local trees came
from) was gathered before (:mod:`lock_build.locking.facts`).

Every (name, version) becomes one ``[[package]]`` entry, whether the runtime, a build
environment or both use it: a shared pin is one artifact with one hash.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

from packaging.utils import NormalizedName
from packaging.version import Version

from lock_build.index.http import file_url_to_path, redact, strip_credentials
from lock_build.lockfile import (
    BuildEnvironment,
    LocalSource,
    Lock,
    LockedFile,
    LockedPackage,
    LockTarget,
)
from lock_build.lockfile.model import glibc_floor
from lock_build.locking.builds import LockedBuild
from lock_build.locking.facts import LockFacts
from lock_build.locking.request import CompileRequest
from lock_build.models import Artifact, ArtifactKind, CoreMetadata, Release
from lock_build.resolution.model import Resolution


@dataclass(kw_only=True, slots=True)
class _Entry:
    """What is known about one (name, version) while the lock is being put together."""

    release: Release
    runtime: bool
    metadata: CoreMetadata | None = None
    via: set[str] = field(default_factory=set)
    dependencies: set[NormalizedName] = field(default_factory=set)


def assemble_lock(
    request: CompileRequest,
    runtime: Resolution,
    builds: Sequence[LockedBuild],
    facts: LockFacts,
) -> Lock:
    """The lock of a finished compile."""
    entries: dict[tuple[NormalizedName, Version], _Entry] = {}

    def entry(release: Release, is_runtime: bool) -> _Entry:
        key = (release.name, release.version)
        if key not in entries:
            entries[key] = _Entry(release=release, runtime=is_runtime)
        return entries[key]

    for package in runtime.packages:
        assert package.candidate.release is not None
        item = entry(package.candidate.release, True)
        item.metadata = package.metadata
        item.via.update(package.via)
        item.dependencies.update(package.dependencies)

    for build in builds:
        context = f"{build.sdist.name} {build.sdist.version} (build)"
        for name, release in build.pins.items():
            item = entry(release, False)
            for reason in build.via.get(name, ()):
                # Direct build requirements read "cftime (build)", like pip-compile's via.
                item.via.add(f"{build.sdist.name} (build)" if reason == context else reason)
            if not item.runtime:
                item.dependencies.update(build.dependencies.get(name, ()))
            if item.metadata is None:
                item.metadata = facts.metadata[(release.name, release.version)]

    lock = Lock(
        inputs_digest=request.inputs.digest(),
        input_files=request.input_files,
        command=request.command,
        targets=(LockTarget.from_values(request.target.to_dict()),),
        options=_options(request),
        packages=tuple(
            _locked_package(name, version, item, facts, request.output_dir)
            for (name, version), item in entries.items()
        ),
        builds=tuple(_build_environment(build) for build in builds),
    )
    targets = tuple(replace(t, glibc_floor=glibc_floor(lock, t)) for t in lock.targets)
    return replace(lock, targets=targets)


def _locked_package(
    name: NormalizedName,
    version: Version,
    item: _Entry,
    facts: LockFacts,
    lock_dir: Path,
) -> LockedPackage:
    release = item.release
    requires_dist = item.metadata.requires_dist if item.metadata else ()
    if release.artifact.kind is ArtifactKind.DIRECTORY:
        return LockedPackage(
            name=name,
            version=version,
            runtime=item.runtime,
            source=_local_source(release, facts, lock_dir),
            requires_dist=requires_dist,
            dependencies=tuple(sorted(item.dependencies)),
            via=tuple(sorted(item.via)),
        )
    files = facts.files[(name, version)]
    return LockedPackage(
        name=name,
        version=version,
        runtime=item.runtime,
        wheels=tuple(_locked_file(a, lock_dir) for a in files.wheels),
        sdist=_locked_file(files.sdist, lock_dir) if files.sdist else None,
        requires_python=release.requires_python,
        requires_dist=requires_dist,
        dependencies=tuple(sorted(item.dependencies)),
        via=tuple(sorted(item.via)),
    )


def _build_environment(build: LockedBuild) -> BuildEnvironment:
    return BuildEnvironment(
        package=build.sdist.name,
        version=build.sdist.version,
        backend=build.build_system.backend,
        backend_path=build.build_system.backend_path,
        requires=tuple(str(r) for r in build.build_system.requires),
        dynamic_requires=tuple(str(r) for r in build.dynamic),
        extra_requires=tuple(str(r) for r in build.extra),
        pins=tuple(f"{n}=={r.version}" for n, r in sorted(build.pins.items())),
        shared=tuple(sorted(build.shared)),
        substitutions=build.substitutions,
        config_settings=build.config_settings,
        isolated=build.isolated,
        abi=build.abi,
    )


def _options(request: CompileRequest) -> dict[str, object]:
    settings = request.settings
    options: dict[str, object] = {
        "index-urls": [redact(strip_credentials(u)) for u in settings.index_urls],
        "find-links": [_portable_location(u, request.output_dir) for u in settings.find_links],
        "index-strategy": settings.index_strategy.value,
        **request.options_record,
    }
    if settings.exclude_newer is not None:
        options["exclude-newer"] = settings.exclude_newer.isoformat()
    return options


def _local_source(release: Release, facts: LockFacts, lock_dir: Path) -> LocalSource:
    key = (release.name, release.version)
    editable = key in facts.editable
    vcs = facts.vcs.get(key)
    if vcs is not None:
        return LocalSource(
            kind="vcs",
            url=vcs.url,
            commit=vcs.commit,
            subdirectory=vcs.subdirectory,
            editable=editable,
        )
    path = file_url_to_path(release.artifact.url)
    try:
        shown = os.path.relpath(path, lock_dir)
    except ValueError:  # another drive on Windows
        shown = str(path)
    return LocalSource(kind="directory", url=Path(shown).as_posix(), editable=editable)


def _locked_file(artifact: Artifact, lock_dir: Path) -> LockedFile:
    assert artifact.sha256 is not None, "gathered with its hash"
    return LockedFile(
        # Lock files never hold credentials: strip them, do not merely mask them. Local
        # files beside the lock (a ./wheels find-links dir) are written relative to it.
        url=_portable_url(strip_credentials(artifact.url), lock_dir),
        sha256=artifact.sha256,
        filename=artifact.filename,
        index=_portable_location(artifact.index, lock_dir) if artifact.index else None,
        size=artifact.size,
        upload_time=artifact.upload_time,
        yanked=artifact.yanked,
    )


def _portable_url(url: str, lock_dir: Path) -> str:
    if not url.startswith("file:"):
        return url
    path = Path(os.path.normpath(file_url_to_path(url)))
    if path.is_relative_to(lock_dir):
        # A relative URL: percent-encoded like any URL (a directory with a space in it).
        return quote(Path(os.path.relpath(path, lock_dir)).as_posix())
    return url


def _portable_location(location: str, base: Path) -> str:
    """Local find-links paths relative to the lock, so another checkout writes the same lock."""
    if "://" in location and not location.startswith("file:"):
        return strip_credentials(redact(location))
    path = file_url_to_path(location) if location.startswith("file:") else Path(location)
    path = Path(os.path.normpath(path.absolute()))
    if path.is_relative_to(base):
        return Path(os.path.relpath(path, base)).as_posix()
    return str(path)


__all__ = [
    "assemble_lock",
]
