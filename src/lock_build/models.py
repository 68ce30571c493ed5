"""Value objects that flow between the index, resolution, lockfile and sync layers."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, parse_tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version


class ArtifactKind(StrEnum):
    WHEEL = "wheel"
    SDIST = "sdist"
    # A local project directory or a VCS checkout: built like an sdist, never hashed.
    DIRECTORY = "directory"


@dataclass(frozen=True, kw_only=True, slots=True)
class Artifact:
    """One file offered by an index, a find-links location or a direct URL.

    ``url`` may carry credentials (it is what we fetch); anything shown to a user or
    written to a lock goes through :func:`lock_build.index.http.redact`.
    """

    filename: str
    url: str
    name: NormalizedName
    version: Version
    kind: ArtifactKind
    sha256: str | None = None
    index: str = ""  # the index or find-links location this came from (redacted)
    requires_python: SpecifierSet | None = None
    yanked: str | None = None  # None: not yanked; "" or a reason: yanked
    upload_time: datetime | None = None
    size: int | None = None
    tags: frozenset[Tag] = field(default_factory=frozenset)  # wheels only
    # PEP 658/714: the index serves `<url>.metadata`; its sha256 if the index gave one.
    has_metadata_file: bool = False
    metadata_sha256: str | None = None

    @property
    def is_wheel(self) -> bool:
        return self.kind is ArtifactKind.WHEEL

    @property
    def is_yanked(self) -> bool:
        return self.yanked is not None

    @property
    def is_local(self) -> bool:
        return urlsplit(self.url).scheme == "file"


def artifact_from_filename(filename: str, url: str, **fields: object) -> Artifact | None:
    """Parse a wheel or sdist filename into an :class:`Artifact`; ``None`` if it is neither.

    Files that are not distributions (``.exe``, ``.egg``, bad names) are skipped, as
    installers skip them.
    """
    try:
        if filename.endswith(".whl"):
            name, version, tags = _parse_wheel_filename(filename)
            return Artifact(
                filename=filename,
                url=url,
                name=name,
                version=version,
                kind=ArtifactKind.WHEEL,
                tags=tags,
                **fields,  # type: ignore[arg-type]
            )
        if filename.endswith((".tar.gz", ".zip")):
            name, version = _parse_sdist_filename(filename)
            return Artifact(
                filename=filename,
                url=url,
                name=name,
                version=version,
                kind=ArtifactKind.SDIST,
                **fields,  # type: ignore[arg-type]
            )
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


@dataclass(frozen=True, kw_only=True, slots=True)
class CoreMetadata:
    """The parts of a distribution's core metadata that resolution needs."""

    name: NormalizedName
    version: Version
    requires_dist: tuple[Requirement, ...] = ()
    requires_python: SpecifierSet | None = None
    provides_extra: frozenset[NormalizedName] = frozenset()
    dynamic: frozenset[str] = frozenset()  # lower-cased field names, PEP 643


@dataclass(frozen=True, kw_only=True, slots=True)
class Release:
    """One version of a project as usable on the target: the files we would lock.

    ``wheel`` is the best-ranked compatible wheel, ``sdist`` the source archive (kept
    even when a wheel exists, for --no-binary and for metadata fallbacks). ``files``,
    filled by :meth:`PackageFinder.complete` for locked versions only, is every file
    the indexes list for the version, wheels for other platforms included: the lock
    records them all so that it serves other environments.
    """

    name: NormalizedName
    version: Version
    wheel: Artifact | None = None
    sdist: Artifact | None = None
    yanked: bool = False
    requires_python: SpecifierSet | None = None
    files: tuple[Artifact, ...] = ()

    @property
    def needs_build(self) -> bool:
        return self.wheel is None

    @property
    def artifact(self) -> Artifact:
        """The file that would be installed (or built, when there is no wheel)."""
        chosen = self.wheel or self.sdist
        assert chosen is not None, "a Release always holds at least one file"
        return chosen


def _parse_wheel_filename(filename: str) -> tuple[NormalizedName, Version, frozenset[Tag]]:
    """``parse_wheel_filename`` with its slow parts memoised: index pages list thousands
    of wheels that share a handful of versions and tag triples."""
    parts = filename[:-4].split("-")
    if len(parts) not in (5, 6):
        raise InvalidWheelFilename(f"Invalid wheel filename (wrong number of parts): {filename!r}")
    if len(parts) == 6:
        # A build tag: rare; let packaging validate the whole name.
        name, version, _build, tags = parse_wheel_filename(filename)
        return name, version, frozenset(tags)
    return _wheel_name(parts[0]), _version(parts[1]), _tags("-".join(parts[2:]))


def _parse_sdist_filename(filename: str) -> tuple[NormalizedName, Version]:
    """``parse_sdist_filename`` with the version memoised: a page's sdists mostly share
    their versions with its wheels, parsed already."""
    stem = filename[: -len(".tar.gz")] if filename.endswith(".tar.gz") else filename[:-4]
    name, dash, version = stem.rpartition("-")
    if not dash or not name:
        return parse_sdist_filename(filename)  # raises, with packaging's own message
    try:
        return _sdist_name(name), _version(version)
    except InvalidVersion:
        return parse_sdist_filename(filename)  # raises InvalidSdistFilename


@functools.lru_cache(maxsize=8192)
def _sdist_name(text: str) -> NormalizedName:
    return canonicalize_name(text)


@functools.lru_cache(maxsize=8192)
def _wheel_name(text: str) -> NormalizedName:
    name, _version_, _build, _tags_ = parse_wheel_filename(f"{text}-0-py3-none-any.whl")
    return name


@functools.lru_cache(maxsize=65536)
def _version(text: str) -> Version:
    return Version(text)


@functools.lru_cache(maxsize=8192)
def _tags(text: str) -> frozenset[Tag]:
    return frozenset(parse_tag(text))


__all__ = ["Artifact", "ArtifactKind", "CoreMetadata", "Release", "artifact_from_filename"]
