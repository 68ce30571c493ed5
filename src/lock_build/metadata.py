"""Core metadata: read it out of wheels and sdists, parse it into :class:`CoreMetadata`.

Pure helpers over bytes and local files; fetching (PEP 658 files, range requests,
downloads) lives in :mod:`lock_build.index`, building (PEP 517 hooks) in
:mod:`lock_build.building`.
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from lock_build.errors import ArchiveError, MetadataError
from lock_build.models import CoreMetadata

# PEP 643: fields whose Dynamic status decides whether an sdist's PKG-INFO is usable.
_RESOLUTION_FIELDS = frozenset({"requires-dist", "requires-python"})


def core_metadata_headers(data: bytes, source: str) -> dict[str, Any]:
    """The raw fields of METADATA / PKG-INFO bytes (packaging's ``RawMetadata`` keys),
    nothing parsed further; unreadable bytes are a :class:`MetadataError`."""
    try:
        raw, _unparsed = parse_email(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MetadataError(
            f"The core metadata of {source} cannot be read ({exc}).", source=source
        ) from exc
    return dict(raw)


def parse_core_metadata(data: bytes, source: str) -> CoreMetadata:
    """Parse METADATA / PKG-INFO bytes tolerantly, but fail on what resolution relies on.

    ``source`` names the distribution or file in error messages.
    """
    return core_metadata_from_headers(core_metadata_headers(data, source), source)


def core_metadata_from_headers(raw: dict[str, Any], source: str) -> CoreMetadata:
    """:func:`parse_core_metadata` of headers read already (:func:`core_metadata_headers`)."""
    name, version = raw.get("name"), raw.get("version")
    if not name or not version:
        raise MetadataError(
            f"The core metadata of {source} has no Name or Version.",
            source=source,
            package=canonicalize_name(name) if name else None,
        )
    try:
        parsed_version = Version(version)
    except InvalidVersion as exc:
        raise MetadataError(
            f"The core metadata of {source} has an invalid Version {version!r}.",
            source=source,
            package=canonicalize_name(name),
        ) from exc
    requirements = []
    for text in raw.get("requires_dist", ()):
        try:
            requirements.append(Requirement(text))
        except InvalidRequirement as exc:
            raise MetadataError(
                f"{source} declares a malformed dependency {text!r} ({exc}).",
                source=source,
                package=canonicalize_name(name),
                version=parsed_version,
                hint="The distribution's metadata is broken; pin another version of it.",
            ) from exc
    requires_python = None
    if raw.get("requires_python"):
        try:
            requires_python = SpecifierSet(raw["requires_python"])
        except InvalidSpecifier as exc:
            raise MetadataError(
                f"{source} declares a malformed Requires-Python {raw['requires_python']!r}.",
                source=source,
                package=canonicalize_name(name),
                version=parsed_version,
            ) from exc
    return CoreMetadata(
        name=canonicalize_name(name),
        version=parsed_version,
        requires_dist=tuple(requirements),
        requires_python=requires_python,
        provides_extra=frozenset(canonicalize_name(e) for e in raw.get("provides_extra", ())),
        dynamic=frozenset(d.lower() for d in raw.get("dynamic", ())),
    )


def metadata_is_static(raw: bytes) -> bool:
    """PEP 643: PKG-INFO is trustworthy when it is 2.2+ and does not mark deps dynamic."""
    try:
        headers = core_metadata_headers(raw, "PKG-INFO")
    except MetadataError:
        return False
    try:
        metadata_version = Version(headers.get("metadata_version", "1.0"))
    except InvalidVersion:
        return False
    if metadata_version < Version("2.2"):
        return False
    dynamic = {d.lower() for d in headers.get("dynamic", ())}
    return not (dynamic & _RESOLUTION_FIELDS)


def find_metadata_member(names: Iterable[str], project: str | None = None) -> str | None:
    """The ``<dist>.dist-info/METADATA`` member of a wheel; the one matching ``project`` if given.

    Wheels vendoring another package's dist-info exist, so the name is matched when
    there is more than one.
    """
    candidates = sorted(n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
    if project is not None and len(candidates) > 1:
        wanted = canonicalize_name(project)
        matching = [c for c in candidates if _dist_info_project(c) == wanted]
        candidates = matching or candidates
    return candidates[0] if candidates else None


def _dist_info_project(member: str) -> str:
    stem = member.split("/", 1)[0][: -len(".dist-info")]
    return canonicalize_name(stem.rsplit("-", 1)[0])


def read_wheel_metadata(zip_path: Path, project: str | None = None) -> bytes:
    """The METADATA file of a wheel on disk."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            member = find_metadata_member(zf.namelist(), project)
            if member is None:
                raise MetadataError(
                    f"The wheel {zip_path.name} has no .dist-info/METADATA.", source=zip_path.name
                )
            return zf.read(member)
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        raise ArchiveError(
            f"The wheel {zip_path.name} cannot be read ({exc}).", path=zip_path
        ) from exc


def read_sdist_pkg_info(path: Path) -> bytes | None:
    """The top-level ``<name>-<version>/PKG-INFO`` of an sdist; ``None`` if it has none."""
    try:
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                member = _top_level_pkg_info(zf.namelist())
                return zf.read(member) if member else None
        with tarfile.open(path) as tf:
            names = [m.name for m in tf.getmembers() if m.isfile()]
            member = _top_level_pkg_info(names)
            if member is None:
                return None
            handle = tf.extractfile(member)
            return handle.read() if handle else None
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"The sdist {path.name} cannot be read ({exc}).", path=path) from exc


def _top_level_pkg_info(names: Iterable[str]) -> str | None:
    found = sorted(n for n in names if n.count("/") == 1 and n.endswith("/PKG-INFO"))
    return found[0] if found else None


__all__ = [
    "core_metadata_from_headers",
    "core_metadata_headers",
    "find_metadata_member",
    "metadata_is_static",
    "parse_core_metadata",
    "read_sdist_pkg_info",
    "read_wheel_metadata",
]
