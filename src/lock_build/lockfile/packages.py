"""The ``[[package]]`` entries: each locked (name, version) with its files and sources.

:class:`LockedPackage` holds every wheel the index lists for a version (all platforms)
and its sdist as :class:`LockedFile` values, or a :class:`LocalSource` (a directory or
VCS checkout, the only entries without a sha256); its ``via`` strings type as
:class:`Origin`. Reading checks that hashes, filenames and URLs are plain enough that
nothing from a lock can name a path outside the cache, and that each filename names the
very package and version it is listed under. Picking the wheel for a target's tags
(:meth:`LockedPackage.wheel_for`) lives here too, as the entry's own question.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidName,
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from lock_build.lockfile.reading import (
    Path_,
    Reader,
    kind_of,
    last_segment,
    read_one,
    url_problem,
)

__all__ = [
    "LocalSource",
    "LockedFile",
    "LockedPackage",
    "Origin",
    "OriginKind",
    "SourceKind",
]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
# Characters a wheel or sdist filename may hold (a version's local part, an epoch's "!"):
# nothing a shell, a path or a URL would read specially.
_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*")
_SDIST_SUFFIXES = (".tar.gz", ".zip")


@dataclass(frozen=True, kw_only=True, slots=True)
class LockedFile:
    """A file we fetch: a wheel to install or an sdist/archive to build.

    ``yanked`` is None when the file is not yanked, else the reason ("" if none given).
    """

    filename: str
    url: str  # never holds credentials; a path relative to the lock for files beside it
    sha256: str
    size: int | None = None
    upload_time: datetime | None = None
    yanked: str | None = None
    index: str | None = None  # the index or find-links location it came from

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def tags(self) -> frozenset[Tag]:
        """A wheel's tags (empty for an sdist)."""
        return _wheel_tags(self.filename) if self.is_wheel else frozenset()

    def to_dict(self) -> dict[str, Any]:
        table: dict[str, Any] = {"filename": self.filename, "url": self.url}
        table["sha256"] = self.sha256
        if self.size is not None:
            table["size"] = self.size
        if self.upload_time is not None:
            table["upload-time"] = self.upload_time
        if self.yanked is not None:
            table["yanked"] = self.yanked
        if self.index:
            table["index"] = self.index
        return table

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LockedFile:
        return read_one(cls._read, data)

    @classmethod
    def _read(cls, data: Mapping[str, Any], path: Path_, r: Reader) -> LockedFile | None:
        filename = r.string(data, "filename", path, required=True)
        url = r.string(data, "url", path, required=True)
        sha256 = r.string(data, "sha256", path, required=True)
        if sha256 is not None and not _SHA256.fullmatch(sha256):
            r.add((*path, "sha256"), "must be 64 lowercase hex digits")
            sha256 = None
        if filename is not None and not _FILENAME.fullmatch(filename):
            r.add((*path, "filename"), f"{filename!r} is not a plain file name")
            filename = None
        if url is not None:
            problem = url_problem(url)
            if problem:
                r.add((*path, "url"), problem)
                url = None
            elif filename is not None and last_segment(url) != filename:
                r.add(
                    (*path, "url"),
                    f"ends in {last_segment(url)!r}, which is not the filename {filename!r}",
                )
        size = data.get("size")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            r.add((*path, "size"), "must be a non-negative integer")
            size = None
        upload_time = data.get("upload-time")
        if isinstance(upload_time, str):
            try:
                upload_time = datetime.fromisoformat(upload_time)
            except ValueError:
                r.add((*path, "upload-time"), f"{upload_time!r} is not a date-time")
                upload_time = None
        elif upload_time is not None and not isinstance(upload_time, datetime):
            r.add((*path, "upload-time"), f"must be a date-time, not {kind_of(upload_time)}")
            upload_time = None
        yanked = data.get("yanked")
        if isinstance(yanked, bool):
            yanked = "" if yanked else None
        elif yanked is not None:
            yanked = r.string(data, "yanked", path)
        index = r.string(data, "index", path)
        if index is not None and _index_problem(index) == "must not contain credentials":
            r.add((*path, "index"), "must not contain credentials")
        if filename is None or url is None or sha256 is None:
            return None
        return cls(
            filename=filename,
            url=url,
            sha256=sha256,
            size=size,
            upload_time=upload_time,
            yanked=yanked,
            index=index,
        )


def _wheel_tags(filename: str) -> frozenset[Tag]:
    try:
        return frozenset(_parse_wheel_filename(filename)[3])
    except (InvalidWheelFilename, InvalidVersion):
        return frozenset()


# Every wheel of a page names the same index: its check is made once.
_index_problem = functools.lru_cache(maxsize=256)(url_problem)

# Reading a lock checks each wheel's name and version and then ranks its tags: one parse of
# each filename serves both (an invalid one raises each time, as it is not cached).
_parse_wheel_filename = functools.lru_cache(maxsize=4096)(parse_wheel_filename)


SourceKind = Literal["directory", "vcs"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalSource:
    """A local directory or a VCS checkout: the only entries without a sha256."""

    kind: SourceKind
    url: str  # a path relative to the lock for directories, the repository URL for VCS
    editable: bool = False
    commit: str | None = None  # VCS: the full commit the reference resolved to
    subdirectory: str | None = None

    def to_dict(self) -> dict[str, Any]:
        table: dict[str, Any] = {"kind": self.kind, "url": self.url}
        if self.editable:
            table["editable"] = True
        if self.commit:
            table["commit"] = self.commit
        if self.subdirectory:
            table["subdirectory"] = self.subdirectory
        return table

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LocalSource:
        return read_one(cls._read, data)

    @classmethod
    def _read(cls, data: Mapping[str, Any], path: Path_, r: Reader) -> LocalSource | None:
        kind = r.string(data, "kind", path, required=True)
        if kind is not None and kind not in ("directory", "vcs"):
            r.add((*path, "kind"), f"{kind!r} is not 'directory' or 'vcs'")
            kind = None
        url = r.string(data, "url", path, required=True)
        if url is not None and (any(c.isspace() for c in url) or not url):
            r.add((*path, "url"), "must be a non-empty location without whitespace")
            url = None
        elif url is not None and kind == "vcs":
            vcs_url = url.split("+", 1)[-1] if "+" in url.split(":", 1)[0] else url
            problem = url_problem(vcs_url) if "://" in vcs_url else None
            if problem == "must not contain credentials":
                r.add((*path, "url"), problem)
                url = None
        editable = r.boolean(data, "editable", path, False)
        commit = r.string(data, "commit", path)
        if commit is not None and not _COMMIT.fullmatch(commit):
            r.add((*path, "commit"), "must be a full commit id (40 lowercase hex digits)")
            commit = None
        subdirectory = r.string(data, "subdirectory", path)
        if subdirectory is not None and (
            subdirectory.startswith("/") or ".." in Path(subdirectory).parts
        ):
            r.add((*path, "subdirectory"), "must be a relative path inside the source")
            subdirectory = None
        if kind is None or url is None:
            return None
        return cls(
            kind=kind,  # type: ignore[arg-type]
            url=url,
            editable=editable,
            commit=commit,
            subdirectory=subdirectory,
        )


OriginKind = Literal["input", "constraint", "package", "build"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Origin:
    """One ``via`` entry, typed: why a package is in the lock.

    ``input``: a requirements file, pyproject.toml or another source of requirements
    (``text`` names it); ``constraint``: a constraints file (``-c``), which only narrows;
    ``package``: a dependency of ``name``; ``build``: a build requirement of ``name``.
    The lock keeps pip-compile's text (``str(origin)``); :meth:`Lock.origins` types it.
    """

    kind: OriginKind
    text: str
    name: NormalizedName | None = None

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str, names: frozenset[NormalizedName]) -> Origin:
        """The origin ``text`` says, given the lock's package ``names``."""
        if text.endswith(" (build)"):
            name = _valid_name(text.removesuffix(" (build)"))
            if name is not None:
                return cls(kind="build", text=text, name=name)
        if text.startswith("-c"):
            return cls(kind="constraint", text=text)
        name = _valid_name(text)
        if name is not None and name in names:
            return cls(kind="package", text=text, name=name)
        return cls(kind="input", text=text)


def _valid_name(text: str) -> NormalizedName | None:
    try:
        return canonicalize_name(text, validate=True)
    except InvalidName:
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class LockedPackage:
    """One (name, version) in the lock, with every file the index lists for it.

    ``wheels`` holds every wheel of the version (all platforms); a consumer picks the
    one for its environment with :meth:`wheel_for`. Without a fitting wheel the
    ``sdist`` (or the local ``source``) is built in the package's ``[[build]]``
    environment.
    """

    name: NormalizedName
    version: Version
    # True: a runtime pin on every target that uses the entry; False: used only inside
    # build environments; target ids: a runtime pin on those targets, build-only on the
    # other targets that use it (multi-target locks only; see :meth:`runtime_on`).
    runtime: bool | tuple[str, ...] = True
    wheels: tuple[LockedFile, ...] = ()
    sdist: LockedFile | None = None
    source: LocalSource | None = None
    requires_python: SpecifierSet | None = None
    # The full Requires-Dist of the metadata compile used, markers included.
    requires_dist: tuple[Requirement, ...] = ()
    # Runtime dependencies by normalized name (each is another [[package]] with runtime=true,
    # or, for a build-only package, a package in the same build environments).
    dependencies: tuple[NormalizedName, ...] = ()
    # Why it is here, pip-compile style: "-r requirements.in", "requests", "cftime (build)".
    via: tuple[str, ...] = ()
    # The [[target]] ids this entry is for; empty means every target of the lock.
    targets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # One canonical order, so that equal locks compare equal however they were built.
        ordered = tuple(sorted(self.wheels, key=lambda w: (w.filename, w.url)))
        if ordered != self.wheels:
            object.__setattr__(self, "wheels", ordered)
        if not isinstance(self.runtime, bool) and not self.runtime:
            object.__setattr__(self, "runtime", False)  # runtime on no target

    @property
    def key(self) -> str:
        return f"{self.name}=={self.version}"

    def used_on(self, target_id: str) -> bool:
        """Whether the target ``target_id`` uses this entry at all (runtime or build)."""
        return not self.targets or target_id in self.targets

    def runtime_on(self, target_id: str) -> bool:
        """Whether ``target_id`` installs this entry into its runtime environment."""
        if not self.used_on(target_id):
            return False
        return self.runtime if isinstance(self.runtime, bool) else target_id in self.runtime

    def wheel_for(self, tags: Sequence[Tag]) -> LockedFile | None:
        """The wheel an installer with ``tags`` (most preferred first) would pick.

        A yanked wheel counts only when no other fits (as the index selection treats
        yanked files); then the best tag, then the filename, decide.
        """
        rank = _tag_rank(tuple(tags))
        best: tuple[bool, int, str] | None = None
        chosen = None
        for wheel in self.wheels:
            ranks = [rank[t] for t in wheel.tags if t in rank]
            if not ranks:
                continue
            key = (wheel.yanked is not None, min(ranks), wheel.filename)
            if best is None or key < best:
                best, chosen = key, wheel
        return chosen

    def file_for(self, tags: Sequence[Tag]) -> LockedFile | None:
        """The file a consumer with ``tags`` uses: its wheel, else the sdist it builds."""
        return self.wheel_for(tags) or self.sdist

    def needs_build_for(self, tags: Sequence[Tag]) -> bool:
        return self.wheel_for(tags) is None

    def to_dict(self) -> dict[str, Any]:
        table: dict[str, Any] = {"name": self.name, "version": str(self.version)}
        table["runtime"] = self.runtime if isinstance(self.runtime, bool) else sorted(self.runtime)
        if self.requires_python is not None:
            table["requires-python"] = str(self.requires_python)
        if self.targets:
            table["targets"] = sorted(self.targets)
        table["requires-dist"] = sorted({str(r) for r in self.requires_dist})
        table["dependencies"] = sorted(set(self.dependencies))
        table["via"] = sorted(set(self.via))
        if self.sdist:
            table["sdist"] = self.sdist.to_dict()
        if self.source:
            table["source"] = self.source.to_dict()
        if self.wheels:
            table["wheels"] = [w.to_dict() for w in sorted(self.wheels, key=lambda w: w.filename)]
        return table

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LockedPackage:
        return read_one(cls._read, data)

    @classmethod
    def _read(cls, data: Mapping[str, Any], path: Path_, r: Reader) -> LockedPackage | None:
        name = r.name(r.string(data, "name", path, required=True), (*path, "name"))
        version = r.version(r.string(data, "version", path, required=True), (*path, "version"))
        runtime: bool | tuple[str, ...] = True
        if isinstance(data.get("runtime"), (list, tuple)):
            runtime = r.target_ids(data, "runtime", path)
        elif data.get("runtime") is not None and not isinstance(data.get("runtime"), bool):
            r.add(
                (*path, "runtime"),
                f"must be true, false or an array of target ids, not {kind_of(data['runtime'])}",
            )
        else:
            runtime = r.boolean(data, "runtime", path, True)
        requires_python = r.specifier(
            r.string(data, "requires-python", path), (*path, "requires-python")
        )
        wheels = []
        for i, table in r.tables(data, "wheels", path):
            wheels.append(LockedFile._read(table, (*path, "wheels", i), r))
        if "wheel" in data:  # lock-version 1: the one wheel chosen for its target
            v1_wheel = r.table(data, "wheel", path)
            if v1_wheel is not None:
                wheels.append(LockedFile._read(v1_wheel, (*path, "wheel"), r))
        sdist_table = r.table(data, "sdist", path)
        sdist = None
        if sdist_table is not None:
            sdist = LockedFile._read(sdist_table, (*path, "sdist"), r)
        source_table = r.table(data, "source", path)
        source = None
        if source_table is not None:
            source = LocalSource._read(source_table, (*path, "source"), r)
        if not wheels and sdist_table is None and source_table is None:
            r.add(path, "has no wheels, no sdist and no source: nothing to install")
        requires_dist = r.requirements(data, "requires-dist", path)
        dependencies = r.names(data, "dependencies", path)
        via = r.strings(data, "via", path)
        targets = r.target_ids(data, "targets", path)
        for i, wheel in enumerate(wheels):
            if wheel is not None and name is not None and version is not None:
                where = (*path, "wheels", i) if "wheels" in data else (*path, "wheel")
                _check_filename(wheel, name, version, (*where, "filename"), r, wheel=True)
        if sdist is not None and name is not None and version is not None:
            _check_filename(sdist, name, version, (*path, "sdist", "filename"), r, wheel=False)
        if name is None or version is None:
            return None
        return cls(
            name=name,
            version=version,
            runtime=runtime,
            wheels=tuple(w for w in wheels if w is not None),
            sdist=sdist,
            source=source,
            requires_python=requires_python,
            requires_dist=requires_dist,
            dependencies=dependencies,
            via=via,
            targets=targets,
        )


def _check_filename(
    file: LockedFile,
    name: NormalizedName,
    version: Version,
    path: Path_,
    r: Reader,
    *,
    wheel: bool,
) -> None:
    """A wheel's or sdist's filename must name this very package and version."""
    try:
        if wheel:
            found_name, found_version, _build, _tags = _parse_wheel_filename(file.filename)
        elif file.filename.endswith(_SDIST_SUFFIXES):
            found_name, found_version = parse_sdist_filename(file.filename)
        else:
            # A direct archive URL's file may have any archive name; it is hashed.
            return
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as exc:
        r.add(
            path, f"{file.filename!r} is not a valid {'wheel' if wheel else 'sdist'} name ({exc})"
        )
        return
    if found_name != name or found_version != version:
        r.add(path, f"{file.filename!r} is {found_name} {found_version}, not {name} {version}")


def _tag_rank(tags: tuple[Tag, ...]) -> Mapping[Tag, int]:
    """Each tag's preference (0 is best). Memoised: every package of a lock is ranked
    against the same few targets' tag lists, hundreds of tags long.

    First by identity: hashing a tuple of a thousand tags (each ``Tag.__hash__`` a Python
    call) for every package of every check was a sync's slowest step. The entry holds the
    tuple, so its id cannot be reused while it is memoised."""
    found = _RANKS_BY_ID.get(id(tags))
    if found is not None and found[0] is tags:
        return found[1]
    rank = _rank_by_value(tags)
    if len(_RANKS_BY_ID) >= 32:
        _RANKS_BY_ID.clear()
    _RANKS_BY_ID[id(tags)] = (tags, rank)
    return rank


_RANKS_BY_ID: dict[int, tuple[tuple[Tag, ...], Mapping[Tag, int]]] = {}


@functools.lru_cache(maxsize=32)
def _rank_by_value(tags: tuple[Tag, ...]) -> Mapping[Tag, int]:
    return {tag: i for i, tag in reversed(list(enumerate(tags)))}
