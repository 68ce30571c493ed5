"""The lock as typed values: what a lockfile says, validated once, independent of TOML.

Modelled on ``packaging.pylock``: frozen keyword-only dataclasses, each with
``from_dict`` (plain data as ``tomllib`` gives it → a value, every problem collected
with the path where it is) and ``to_dict`` (a value → plain data, canonical order).
:func:`Lock.validate` checks what no single table can (cross references, filenames
against the package they belong to). The text ⇄ data half, with line numbers for
the paths, is :mod:`lock_build.lockfile.codec`.

Everything read here is untrusted: a lock arrives through pull requests and CI reads
it unattended. Names, versions, filenames and URLs are checked tightly enough that
nothing from a lock can name a path outside the cache or smuggle shell syntax.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
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

LOCK_VERSION = 2
READABLE_VERSIONS = (1, 2)

# A path into the lock's data: ("package", 3, "wheels", 1, "sha256").
Path_ = tuple[str | int, ...]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
# Characters a wheel or sdist filename may hold (a version's local part, an epoch's "!"):
# nothing a shell, a path or a URL would read specially.
_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*")
_TARGET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_BACKEND = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][\w.]*)?")
_SDIST_SUFFIXES = (".tar.gz", ".zip")
# RFC 3986: unreserved, reserved and percent signs; nothing else belongs in a URL.
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a lock, and where: the codec turns ``path`` into a line."""

    path: Path_
    message: str


class LockValidationError(Exception):
    """Every problem found in a lock's data (the codec renders them, located)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{render_path(p.path)}: {p.message}" for p in problems))
        self.problems = tuple(problems)


def render_path(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# --- reading plain data, collecting problems ------------------------------------------


class _Reader:
    """Typed reads of plain data; every failure is recorded, none raises."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: Path_, message: str) -> None:
        self.problems.append(Problem(path, message))

    def table(self, data: Mapping[str, Any], key: str, path: Path_) -> Mapping[str, Any] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.add((*path, key), f"must be a table, not {_kind(value)}")
            return None
        return value

    def string(
        self, data: Mapping[str, Any], key: str, path: Path_, *, required: bool = False
    ) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.add((*path, key), "is missing")
            return None
        if not isinstance(value, str):
            self.add((*path, key), f"must be a string, not {_kind(value)}")
            return None
        if not _printable(value):
            self.add((*path, key), "holds control characters")
            return None
        return value

    def boolean(self, data: Mapping[str, Any], key: str, path: Path_, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.add((*path, key), f"must be true or false, not {_kind(value)}")
            return default
        return value

    def target_ids(self, data: Mapping[str, Any], key: str, path: Path_) -> tuple[str, ...]:
        """An array of ``[[target]]`` ids (that they name targets is a cross check)."""
        found = []
        for i, ident in enumerate(self.strings(data, key, path)):
            if _TARGET_ID.fullmatch(ident):
                found.append(ident)
            else:
                self.add((*path, key, i), f"{ident!r} is not a target id")
        return tuple(found)

    def strings(self, data: Mapping[str, Any], key: str, path: Path_) -> tuple[str, ...]:
        value = data.get(key, ())
        if not isinstance(value, (list, tuple)):
            self.add((*path, key), f"must be an array of strings, not {_kind(value)}")
            return ()
        found = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.add((*path, key, i), f"must be a string, not {_kind(item)}")
            elif not _printable(item):
                self.add((*path, key, i), "holds control characters")
            else:
                found.append(item)
        return tuple(found)

    def tables(
        self, data: Mapping[str, Any], key: str, path: Path_
    ) -> Iterator[tuple[int, Mapping[str, Any]]]:
        value = data.get(key, ())
        if not isinstance(value, (list, tuple)):
            self.add((*path, key), f"must be an array of tables, not {_kind(value)}")
            return
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                yield i, item
            else:
                self.add((*path, key, i), f"must be a table, not {_kind(item)}")

    def name(self, value: str | None, path: Path_) -> NormalizedName | None:
        if value is None:
            return None
        try:
            return canonicalize_name(value, validate=True)
        except InvalidName:
            self.add(path, f"{value!r} is not a valid project name")
            return None

    def version(self, value: str | None, path: Path_) -> Version | None:
        if value is None:
            return None
        try:
            return Version(value)
        except InvalidVersion:
            self.add(path, f"{value!r} is not a valid version")
            return None

    def specifier(self, value: str | None, path: Path_) -> SpecifierSet | None:
        if value is None:
            return None
        try:
            return SpecifierSet(value)
        except InvalidSpecifier:
            self.add(path, f"{value!r} is not a valid version specifier")
            return None

    def requirements(
        self, data: Mapping[str, Any], key: str, path: Path_
    ) -> tuple[Requirement, ...]:
        found = []
        raw = data.get(key, ())
        for i, text in enumerate(self.strings(data, key, path)):
            try:
                found.append(Requirement(text))
            except InvalidRequirement:
                index = list(raw).index(text) if isinstance(raw, list) else i
                self.add((*path, key, index), f"{text!r} is not a valid requirement")
        return tuple(found)

    def names(self, data: Mapping[str, Any], key: str, path: Path_) -> tuple[NormalizedName, ...]:
        found = []
        for i, text in enumerate(self.strings(data, key, path)):
            name = self.name(text, (*path, key, i))
            if name is not None:
                found.append(name)
        return tuple(found)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, datetime):
        return "a date-time"
    return type(value).__name__


def _printable(text: str) -> bool:
    return not any(ord(c) < 32 or ord(c) == 127 for c in text)


def _url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a lock's URL (None if it can): no credentials, no spaces."""
    if any(c.isspace() for c in url):
        return "must not contain whitespace"
    if not _URL_CHARACTERS.fullmatch(url):
        return "holds characters a URL cannot (quotes, backticks, |, <, >, \\, braces)"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme and parts.scheme not in ("http", "https", "file"):
        return f"has the scheme {parts.scheme!r}; only https, http and file are allowed"
    if parts.username or parts.password:
        return "must not contain credentials"
    decoded = unquote(url)
    if not parts.scheme and (decoded.startswith("/") or "\\" in decoded or ":" in decoded):
        return "must be a URL or a path relative to the lock"
    if not parts.scheme and ".." in Path(decoded).parts:
        return "must not leave the lock's directory (..)"
    return None


def last_segment(url: str) -> str:
    """The percent-decoded last path segment of a URL (or relative path)."""
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


# --- values -------------------------------------------------------------------------------


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
        return _read_one(cls._read, data)

    @classmethod
    def _read(cls, data: Mapping[str, Any], path: Path_, r: _Reader) -> LockedFile | None:
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
            problem = _url_problem(url)
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
            r.add((*path, "upload-time"), f"must be a date-time, not {_kind(upload_time)}")
            upload_time = None
        yanked = data.get("yanked")
        if isinstance(yanked, bool):
            yanked = "" if yanked else None
        elif yanked is not None:
            yanked = r.string(data, "yanked", path)
        index = r.string(data, "index", path)
        if index is not None and _url_problem(index) == "must not contain credentials":
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


@functools.lru_cache(maxsize=4096)
def _wheel_tags(filename: str) -> frozenset[Tag]:
    try:
        return frozenset(parse_wheel_filename(filename)[3])
    except (InvalidWheelFilename, InvalidVersion):
        return frozenset()


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
        return _read_one(cls._read, data)

    @classmethod
    def _read(cls, data: Mapping[str, Any], path: Path_, r: _Reader) -> LocalSource | None:
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
            problem = _url_problem(vcs_url) if "://" in vcs_url else None
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
        return _read_one(cls._read, data)

    @classmethod
    def _read(cls, data: Mapping[str, Any], path: Path_, r: _Reader) -> LockedPackage | None:
        name = r.name(r.string(data, "name", path, required=True), (*path, "name"))
        version = r.version(r.string(data, "version", path, required=True), (*path, "version"))
        runtime: bool | tuple[str, ...] = True
        if isinstance(data.get("runtime"), (list, tuple)):
            runtime = r.target_ids(data, "runtime", path)
        elif data.get("runtime") is not None and not isinstance(data.get("runtime"), bool):
            r.add(
                (*path, "runtime"),
                f"must be true, false or an array of target ids, not {_kind(data['runtime'])}",
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
    r: _Reader,
    *,
    wheel: bool,
) -> None:
    """A wheel's or sdist's filename must name this very package and version."""
    try:
        if wheel:
            found_name, found_version, _build, _tags = parse_wheel_filename(file.filename)
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


@functools.lru_cache(maxsize=64)
@functools.lru_cache(maxsize=32)
def _tag_rank(tags: tuple[Tag, ...]) -> Mapping[Tag, int]:
    """Each tag's preference (0 is best). Memoised: every package of a lock is ranked
    against the same few targets' tag lists, hundreds of tags long."""
    return {tag: i for i, tag in reversed(list(enumerate(tags)))}


@dataclass(frozen=True, kw_only=True, slots=True)
class Substitution:
    """A build pin that differs from what the sdist declared: built against the runtime version."""

    package: NormalizedName  # the ABI package, e.g. numpy
    # What the declared requirements asked for, with the chain:
    # "numpy==1.23.2 via oldest-supported-numpy 2023.12.21".
    declared: str
    used: Version  # the runtime version the build uses instead

    def to_dict(self) -> dict[str, Any]:
        return {"package": self.package, "declared": self.declared, "used": str(self.used)}

    @classmethod
    def _read(cls, data: Mapping[str, Any], path: Path_, r: _Reader) -> Substitution | None:
        package = r.name(r.string(data, "package", path, required=True), (*path, "package"))
        declared = r.string(data, "declared", path, required=True)
        used = r.version(r.string(data, "used", path, required=True), (*path, "used"))
        if package is None or declared is None or used is None:
            return None
        return cls(package=package, declared=declared, used=used)


@dataclass(frozen=True, kw_only=True, slots=True)
class AbiRecord:
    """How one ABI package of a build relates to the runtime: built against ``built``,
    runs with ``runtime``, which ``runs_with`` (by ``rule``) allows."""

    package: NormalizedName
    built: Version
    runtime: Version
    runs_with: SpecifierSet
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "built": str(self.built),
            "runtime": str(self.runtime),
            "runs-with": str(self.runs_with),
            "rule": self.rule,
        }

    @classmethod
    def _read(cls, data: Mapping[str, Any], path: Path_, r: _Reader) -> AbiRecord | None:
        package = r.name(r.string(data, "package", path, required=True), (*path, "package"))
        built = r.version(r.string(data, "built", path, required=True), (*path, "built"))
        runtime = r.version(r.string(data, "runtime", path, required=True), (*path, "runtime"))
        runs_with = r.specifier(
            r.string(data, "runs-with", path, required=True), (*path, "runs-with")
        )
        rule = r.string(data, "rule", path, required=True)
        if None in (package, built, runtime, runs_with, rule):
            return None
        return cls(package=package, built=built, runtime=runtime, runs_with=runs_with, rule=rule)  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildEnvironment:
    """The locked build environment of one sdist (name, version)."""

    package: NormalizedName
    version: Version
    backend: str
    backend_path: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()  # static, from [build-system].requires (or the legacy default)
    dynamic_requires: tuple[str, ...] = ()  # from get_requires_for_build_wheel
    extra_requires: tuple[str, ...] = ()  # from --extra-build-requires
    # Every package in the environment, "name==version"; each is a [[package]] entry.
    pins: tuple[str, ...] = ()
    # Pins that are the very runtime artifact (same version, same hash).
    shared: tuple[NormalizedName, ...] = ()
    substitutions: tuple[Substitution, ...] = ()
    config_settings: tuple[tuple[str, str], ...] = ()
    # --no-build-isolation-package: built against the runtime versions of its requirements.
    isolated: bool = True
    # How each ABI package the build compiles against may differ at runtime.
    abi: tuple[AbiRecord, ...] = ()
    # The [[target]] ids that build the sdist in this environment; empty: every target.
    targets: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.package}=={self.version}"

    def order(self) -> tuple[NormalizedName, Version, tuple[str, ...]]:
        """The lock's order of build environments: one sdist's for several targets by
        their target ids."""
        return self.package, self.version, tuple(sorted(self.targets))

    def used_on(self, target_id: str) -> bool:
        """Whether the target ``target_id`` builds the sdist in this environment."""
        return not self.targets or target_id in self.targets

    def pin_versions(self) -> dict[NormalizedName, Version]:
        result: dict[NormalizedName, Version] = {}
        for pin in self.pins:
            name, _, version = pin.partition("==")
            result[canonicalize_name(name)] = Version(version)
        return result

    def to_dict(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            "package": self.package,
            "version": str(self.version),
            "backend": self.backend,
        }
        if self.targets:
            table["targets"] = sorted(self.targets)
        if self.backend_path:
            table["backend-path"] = list(self.backend_path)
        table["requires"] = sorted(self.requires)
        table["dynamic-requires"] = sorted(self.dynamic_requires)
        if self.extra_requires:
            table["extra-requires"] = sorted(self.extra_requires)
        table["pins"] = sorted(self.pins)
        table["shared"] = sorted(self.shared)
        if not self.isolated:
            table["isolated"] = False
        if self.config_settings:
            table["config-settings"] = dict(sorted(self.config_settings))
        if self.substitutions:
            table["substitutions"] = [
                s.to_dict() for s in sorted(self.substitutions, key=lambda s: s.package)
            ]
        if self.abi:
            table["abi"] = [a.to_dict() for a in sorted(self.abi, key=lambda a: a.package)]
        return table

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BuildEnvironment:
        return _read_one(cls._read, data)

    @classmethod
    def _read(cls, data: Mapping[str, Any], path: Path_, r: _Reader) -> BuildEnvironment | None:
        package = r.name(r.string(data, "package", path, required=True), (*path, "package"))
        version = r.version(r.string(data, "version", path, required=True), (*path, "version"))
        backend = r.string(data, "backend", path, required=True)
        if backend is not None and not _BACKEND.fullmatch(backend):
            r.add((*path, "backend"), f"{backend!r} is not a module:object reference")
            backend = None
        backend_path = r.strings(data, "backend-path", path)
        for i, entry in enumerate(backend_path):
            if entry.startswith("/") or ".." in Path(entry).parts:
                r.add((*path, "backend-path", i), "must be a relative path inside the sdist")
        requires = tuple(str(q) for q in r.requirements(data, "requires", path))
        dynamic = tuple(str(q) for q in r.requirements(data, "dynamic-requires", path))
        extra = tuple(str(q) for q in r.requirements(data, "extra-requires", path))
        pins = []
        for i, pin in enumerate(r.strings(data, "pins", path)):
            pin_name, sep, pin_version = pin.partition("==")
            valid_name = r.name(pin_name, (*path, "pins", i)) if sep else None
            valid_version = r.version(pin_version, (*path, "pins", i)) if sep else None
            if not sep:
                r.add((*path, "pins", i), f"{pin!r} is not name==version")
            elif valid_name is not None and valid_version is not None:
                pins.append(f"{valid_name}=={valid_version}")
        substitutions = []
        for i, table in r.tables(data, "substitutions", path):
            substitutions.append(Substitution._read(table, (*path, "substitutions", i), r))
        abi = []
        for i, table in r.tables(data, "abi", path):
            abi.append(AbiRecord._read(table, (*path, "abi", i), r))
        settings: list[tuple[str, str]] = []
        config = r.table(data, "config-settings", path)
        for key, value in (config or {}).items():
            if not isinstance(value, str) or not _printable(value) or not _printable(key):
                r.add(
                    (*path, "config-settings", key), "must be a string without control characters"
                )
            else:
                settings.append((key, value))
        targets = r.target_ids(data, "targets", path)
        if package is None or version is None or backend is None:
            return None
        return cls(
            package=package,
            version=version,
            backend=backend,
            backend_path=backend_path,
            requires=requires,
            dynamic_requires=dynamic,
            extra_requires=extra,
            pins=tuple(pins),
            shared=r.names(data, "shared", path),
            substitutions=tuple(s for s in substitutions if s is not None),
            config_settings=tuple(sorted(settings)),
            isolated=r.boolean(data, "isolated", path, True),
            abi=tuple(a for a in abi if a is not None),
            targets=targets,
        )


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
        return _target_tags(self.implementation, self.python_version, self.platform)

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
    def _read(cls, data: Mapping[str, Any], path: Path_, r: _Reader) -> LockTarget | None:
        values = {
            key: r.string(data, key, path)
            for key in ("id", "implementation", "python-version", "python-full-version", "platform")
        }
        ident = values["id"]
        if ident is not None and not _TARGET_ID.fullmatch(ident):
            r.add((*path, "id"), f"{ident!r} is not a target id (letters, digits, . _ -)")
            return None
        version = values["python-version"]
        if version is not None and not re.fullmatch(r"\d+\.\d+", version):
            r.add((*path, "python-version"), f"{version!r} is not a version like 3.12")
        platform = values["platform"]
        if platform is not None and not _TARGET_ID.fullmatch(platform):
            r.add((*path, "platform"), f"{platform!r} is not a platform tag")
        floor = r.string(data, "glibc-floor", path)
        if floor is not None and not re.fullmatch(r"\d+\.\d+", floor):
            r.add((*path, "glibc-floor"), f"{floor!r} is not a glibc version like 2.17")
            floor = None
        markers: dict[str, str] = {}
        table = r.table(data, "markers", path)
        for key, value in (table or {}).items():
            if isinstance(value, str) and _printable(value):
                markers[key] = value
            else:
                r.add((*path, "markers", key), "must be a string without control characters")
        given = {k: v for k, v in values.items() if v}
        return replace(cls.from_values({**given, "markers": markers}), glibc_floor=floor)


@functools.lru_cache(maxsize=64)
def _target_tags(implementation: str, python_version: str, platform: str) -> tuple[Tag, ...]:
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


@dataclass(frozen=True, kw_only=True, slots=True)
class Lock:
    """A whole lockfile."""

    inputs_digest: str
    input_files: tuple[str, ...]
    command: str  # the command line that regenerates it, for the header
    targets: tuple[LockTarget, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    packages: tuple[LockedPackage, ...] = ()
    builds: tuple[BuildEnvironment, ...] = ()
    # The format the lock was read from (a lock made now is LOCK_VERSION).
    lock_version: int = LOCK_VERSION
    # The text it was read from, to locate problems found later (a source it may not use).
    text: str | None = field(default=None, compare=False, repr=False)
    source: str | None = field(default=None, compare=False, repr=False)  # its path, if read

    @property
    def target(self) -> Mapping[str, Any]:
        """The first (today: the only) target as plain values, for code that reads keys."""
        if not self.targets:
            return {}
        return self.targets[0].to_dict()

    def tags(self) -> tuple[Tag, ...]:
        """The wheel tags of the lock's (first) target, best first."""
        return self.targets[0].tags() if self.targets else ()

    def runtime_packages(self) -> tuple[LockedPackage, ...]:
        return tuple(p for p in self.packages if p.runtime)

    def origins(self, pkg: LockedPackage) -> tuple[Origin, ...]:
        """``pkg.via`` typed: inputs, constraints, parent packages and builds."""
        names = frozenset(p.name for p in self.packages)
        return tuple(Origin.parse(text, names) for text in pkg.via)

    def package(self, name: str, version: Version | str | None = None) -> LockedPackage | None:
        """The runtime entry for ``name``, or the exact (name, version) entry."""
        wanted = canonicalize_name(name)
        exact = Version(str(version)) if version is not None else None
        for pkg in self.packages:
            if pkg.name != wanted:
                continue
            if exact is None and pkg.runtime:
                return pkg
            if exact is not None and pkg.version == exact:
                return pkg
        return None

    def with_absolute_files(self, lock_dir: Path) -> Lock:
        """The lock with file paths relative to it (a ./wheels find-links dir) made absolute
        ``file:`` URLs, for consumers that do not run beside the lock (a plan script)."""

        def absolute(file: LockedFile) -> LockedFile:
            if "://" in file.url or file.url.startswith("file:"):
                return file
            return replace(file, url=(lock_dir / unquote(file.url)).resolve().as_uri())

        packages = tuple(
            replace(
                p,
                wheels=tuple(absolute(w) for w in p.wheels),
                sdist=absolute(p.sdist) if p.sdist else None,
            )
            for p in self.packages
        )
        return replace(self, packages=packages)

    def build_for(self, name: str, version: Version) -> BuildEnvironment | None:
        wanted = canonicalize_name(name)
        return next((b for b in self.builds if b.package == wanted and b.version == version), None)

    def build_packages(self, build: BuildEnvironment) -> tuple[LockedPackage, ...]:
        """The [[package]] entries a build environment installs, in pin order."""
        from lock_build.errors import LockfileError

        found = []
        for name, version in sorted(build.pin_versions().items()):
            pkg = self.package(name, version)
            if pkg is None:
                raise LockfileError(
                    f"The build environment of {build.key} pins {name}=={version}, "
                    "which has no [[package]] entry.",
                    hint="The lock is corrupt; regenerate it with lock-build compile.",
                )
            found.append(pkg)
        return tuple(found)

    # -- plain data ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data in canonical order (the header comment is the codec's)."""
        data: dict[str, Any] = {"lock-version": LOCK_VERSION}
        data["inputs"] = {"digest": self.inputs_digest, "files": sorted(self.input_files)}
        if self.options:
            data["options"] = _canonical(self.options)
        data["target"] = [t.to_dict() for t in sorted(self.targets, key=lambda t: t.id)]
        data["package"] = [
            p.to_dict() for p in sorted(self.packages, key=lambda p: (p.name, p.version))
        ]
        if self.builds:
            data["build"] = [b.to_dict() for b in sorted(self.builds, key=BuildEnvironment.order)]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, command: str = "lock-build compile") -> Lock:
        """The lock ``data`` describes; :class:`LockValidationError` lists every problem."""
        r = _Reader()
        version = data.get("lock-version")
        if isinstance(version, bool) or version not in READABLE_VERSIONS:
            r.add(
                ("lock-version",),
                f"is {version!r}; this lock-build reads lock versions "
                + " and ".join(str(v) for v in READABLE_VERSIONS),
            )
            raise LockValidationError(r.problems)
        unknown = sorted(set(data) - _TOP_LEVEL_KEYS)
        for key in unknown:
            r.add((key,), "is not a key of a lock-build lock")
        inputs = r.table(data, "inputs", ()) or {}
        digest = r.string(inputs, "digest", ("inputs",)) or ""
        files = r.strings(inputs, "files", ("inputs",))
        r.string(data, "created-by", ())
        options = r.table(data, "options", ()) or {}
        for key in ("index-urls", "find-links"):
            for i, location in enumerate(r.strings(options, key, ("options",))):
                if _url_problem(location) == "must not contain credentials":
                    r.add(("options", key, i), "must not contain credentials")
        targets = []
        if version == 1:
            table = r.table(data, "target", ())
            if table is not None:
                targets.append(LockTarget._read(table, ("target",), r))
        else:
            for i, table in r.tables(data, "target", ()):
                targets.append(LockTarget._read(table, ("target", i), r))
        packages = []
        for i, table in r.tables(data, "package", ()):
            packages.append(LockedPackage._read(table, ("package", i), r))
        builds = []
        for i, table in r.tables(data, "build", ()):
            builds.append(BuildEnvironment._read(table, ("build", i), r))
        lock = cls(
            inputs_digest=digest,
            input_files=files,
            command=command,
            targets=tuple(t for t in targets if t is not None),
            options=options,
            packages=tuple(p for p in packages if p is not None),
            builds=tuple(b for b in builds if b is not None),
            lock_version=int(version),
        )
        r.problems.extend(lock._cross_problems(packages, builds))
        if r.problems:
            raise LockValidationError(r.problems)
        return lock

    def validate(self) -> None:
        """Raise :class:`LockValidationError` if entries do not fit together."""
        problems = self._cross_problems(list(self.packages), list(self.builds))
        if problems:
            raise LockValidationError(problems)

    def _cross_problems(
        self,
        packages: Sequence[LockedPackage | None],
        builds: Sequence[BuildEnvironment | None],
    ) -> list[Problem]:
        """What no single table can check: duplicates, references, target ids."""
        problems: list[Problem] = []
        ids = [t.id for t in self.targets]
        if len(set(ids)) != len(ids):
            problems.append(Problem(("target",), "holds the same target id twice"))
        known = frozenset(ids)
        # One runtime version and one build environment per target; a lock without
        # [[target]] tables (made by hand) is one target.
        each = tuple(dict.fromkeys(ids)) or ("",)
        # An entry that could not be read would make every reference to it look dangling:
        # its own problem says enough.
        complete = all(p is not None for p in packages)
        seen: dict[tuple[NormalizedName, Version], int] = {}
        runtime: dict[tuple[str, NormalizedName], int] = {}
        for i, pkg in enumerate(packages):
            if pkg is None:
                continue
            key = (pkg.name, pkg.version)
            if key in seen:
                problems.append(
                    Problem(("package", i), f"repeats package[{seen[key]}] ({pkg.key})")
                )
            seen.setdefault(key, i)
            problems.extend(_unknown_targets(("package", i, "targets"), pkg.targets, known))
            if not isinstance(pkg.runtime, bool):
                problems.extend(_unknown_targets(("package", i, "runtime"), pkg.runtime, known))
                for j, ident in enumerate(pkg.runtime):
                    if ident in known and not pkg.used_on(ident):
                        problems.append(
                            Problem(
                                ("package", i, "runtime", j),
                                f"{ident!r} is not one of the entry's targets "
                                f"({', '.join(pkg.targets)})",
                            )
                        )
            for ident in (t for t in each if pkg.runtime_on(t)):
                first = runtime.setdefault((ident, pkg.name), i)
                if first != i:
                    on = f" on {ident}" if len(each) > 1 else ""
                    problems.append(
                        Problem(
                            ("package", i, "version"),
                            f"a second runtime version of {pkg.name}{on} (see package[{first}])",
                        )
                    )
                    break
        environments: dict[tuple[str, NormalizedName, Version], int] = {}
        for i, build in enumerate(builds):
            if build is None:
                continue
            problems.extend(_unknown_targets(("build", i, "targets"), build.targets, known))
            for ident in (t for t in each if build.used_on(t)):
                first = environments.setdefault((ident, build.package, build.version), i)
                if first != i:
                    on = f" for {ident}" if len(each) > 1 else ""
                    problems.append(
                        Problem(
                            ("build", i),
                            f"a second build environment of {build.key}{on} (see build[{first}])",
                        )
                    )
                    break
            if not complete:
                continue
            if (build.package, build.version) not in seen:
                problems.append(Problem(("build", i), f"{build.key} has no [[package]] entry"))
            for j, (name, version) in enumerate(sorted(build.pin_versions().items())):
                if (name, version) not in seen:
                    index = next(
                        (k for k, p in enumerate(build.pins) if p == f"{name}=={version}"), j
                    )
                    problems.append(
                        Problem(
                            ("build", i, "pins", index),
                            f"{name}=={version} has no [[package]] entry",
                        )
                    )
        return problems


def _unknown_targets(path: Path_, named: Sequence[str], known: frozenset[str]) -> list[Problem]:
    """A problem for each of ``named`` that is no ``[[target]]`` id of the lock."""
    return [
        Problem((*path, j), f"{ident!r} is no [[target]] id ({', '.join(sorted(known))})")
        for j, ident in enumerate(named)
        if ident not in known
    ]


_MANYLINUX = re.compile(r"manylinux_(\d+)_(\d+)_(\w+)")


def glibc_of(tags: Sequence[Tag]) -> tuple[int, int] | None:
    """The glibc an environment with ``tags`` has: its highest manylinux level."""
    levels = [(int(m[1]), int(m[2])) for m in (_MANYLINUX.fullmatch(t.platform) for t in tags) if m]
    return max(levels) if levels else None


def usable_on(lock: Lock, pkg: LockedPackage, tags: Sequence[Tag]) -> bool:
    """Whether an environment with ``tags`` can install ``pkg`` from the lock: a wheel that
    fits, or a source the lock has a build environment for."""
    if pkg.wheel_for(tags) is not None:
        return True
    has_source = pkg.sdist is not None or pkg.source is not None
    return has_source and lock.build_for(pkg.name, pkg.version) is not None


def glibc_floor(lock: Lock, target: LockTarget) -> str | None:
    """The lowest glibc (manylinux level) on which every package of ``lock`` still has a
    usable file for ``target``; None when the target is not a manylinux platform."""
    match = _MANYLINUX.fullmatch(target.platform)
    if not match:
        return None
    major, minor, arch = int(match[1]), int(match[2]), match[3]
    lowest = 5 if arch in ("x86_64", "i686") else 17
    floor = minor
    for level in range(minor, lowest - 1, -1):
        platform = f"manylinux_{major}_{level}_{arch}"
        tags = _target_tags(target.implementation, target.python_version, platform)
        if not all(usable_on(lock, p, tags) for p in lock.packages):
            break
        floor = level
    return f"{major}.{floor}"


_TOP_LEVEL_KEYS = frozenset(
    {"lock-version", "created-by", "inputs", "target", "options", "package", "build"}
)


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _canonical(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def _read_one(reader: Callable[[Mapping[str, Any], Path_, _Reader], T | None], data: Any) -> T:
    """``from_dict`` of one table: the value, or every problem found in it."""
    r = _Reader()
    if not isinstance(data, Mapping):
        raise LockValidationError([Problem((), f"must be a table, not {_kind(data)}")])
    value = reader(data, (), r)
    if r.problems or value is None:
        raise LockValidationError(r.problems or [Problem((), "is not a valid entry")])
    return value
