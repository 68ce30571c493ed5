"""The lock ⇄ TOML.

The lock is the single source of truth: runtime pins, every build environment
(the build-constraints section) and the build graph they imply. The install plan
is *derived* from it (``plan.py``), never stored. Output is canonical: packages
sorted by name and version, builds by package and version, lists sorted, no
timestamps, so regenerating with unchanged inputs is a no-op diff.

Layout (``lock-version = 1``)::

    [inputs]          digest of the normalized inputs, for --check
    [target]          the interpreter/platform the lock is for
    [options]         settings that change the result (indexes, binary policy, ...)
    [[package]]       one entry per (name, version): runtime and/or build-only
    [[build]]         one entry per sdist that is built: its locked build environment

A package used both at runtime and in a build environment at the same version is
one ``[[package]]`` entry (same artifact, same hash); ``runtime = false`` marks
versions used only inside build environments.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomlkit
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from lock_build import __version__
from lock_build.errors import LockfileError

LOCK_VERSION = 1
# Names PEP 751 reserves for its own format: our lock must never take one.
_PYLOCK_PREFIX = "pylock"


@dataclass(frozen=True, kw_only=True, slots=True)
class LockedFile:
    """A file we fetch: a wheel to install or an sdist/archive to build."""

    url: str  # redacted: never holds credentials
    sha256: str | None
    filename: str
    index: str | None = None  # the index or find-links location it came from
    size: int | None = None

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"filename": self.filename, "url": self.url}
        if self.sha256:
            table["sha256"] = self.sha256
        if self.index:
            table["index"] = self.index
        if self.size is not None:
            table["size"] = self.size
        return table

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str) -> LockedFile:
        try:
            return cls(
                url=str(table["url"]),
                sha256=table.get("sha256"),
                filename=str(table["filename"]),
                index=table.get("index"),
                size=table.get("size"),
            )
        except KeyError as exc:
            raise LockfileError(f"{where} lacks the key {exc.args[0]!r}.") from None


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalSource:
    """A local directory or a VCS checkout: the only entries without a sha256."""

    kind: str  # "directory" | "vcs"
    url: str  # a path relative to the lock for directories, the repository URL for VCS
    editable: bool = False
    commit: str | None = None  # VCS: the full commit the reference resolved to
    subdirectory: str | None = None

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"kind": self.kind, "url": self.url}
        if self.editable:
            table["editable"] = True
        if self.commit:
            table["commit"] = self.commit
        if self.subdirectory:
            table["subdirectory"] = self.subdirectory
        return table

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> LocalSource:
        return cls(
            kind=str(table["kind"]),
            url=str(table["url"]),
            editable=bool(table.get("editable", False)),
            commit=table.get("commit"),
            subdirectory=table.get("subdirectory"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class LockedPackage:
    """One (name, version) in the lock.

    Exactly one of ``wheel``, ``sdist`` and ``source`` says what sync uses: a wheel is
    installed as is; an sdist (or a local source) is built in its ``[[build]]``
    environment first.
    """

    name: NormalizedName
    version: Version
    runtime: bool = True
    wheel: LockedFile | None = None
    sdist: LockedFile | None = None
    source: LocalSource | None = None
    requires_python: str | None = None
    # Runtime dependencies by normalized name (each is another [[package]] with runtime=true,
    # or, for a build-only package, a package in the same build environments).
    dependencies: tuple[NormalizedName, ...] = ()
    # Why it is here, pip-compile style: "-r requirements.in", "requests", "cftime (build)".
    via: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def needs_build(self) -> bool:
        return self.wheel is None

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"name": self.name, "version": str(self.version)}
        table["runtime"] = self.runtime
        if self.requires_python:
            table["requires-python"] = self.requires_python
        table["dependencies"] = sorted(self.dependencies)
        table["via"] = sorted(self.via)
        if self.wheel:
            table["wheel"] = self.wheel.to_table()
        if self.sdist:
            table["sdist"] = self.sdist.to_table()
        if self.source:
            table["source"] = self.source.to_table()
        return table

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str) -> LockedPackage:
        try:
            name = canonicalize_name(str(table["name"]))
            version = Version(str(table["version"]))
        except KeyError as exc:
            raise LockfileError(f"{where} lacks the key {exc.args[0]!r}.") from None
        except InvalidVersion as exc:
            raise LockfileError(f"{where} has an invalid version ({exc}).") from None
        return cls(
            name=name,
            version=version,
            runtime=bool(table.get("runtime", True)),
            wheel=LockedFile.from_table(table["wheel"], f"{where}.wheel")
            if "wheel" in table
            else None,
            sdist=LockedFile.from_table(table["sdist"], f"{where}.sdist")
            if "sdist" in table
            else None,
            source=LocalSource.from_table(table["source"]) if "source" in table else None,
            requires_python=table.get("requires-python"),
            dependencies=tuple(canonicalize_name(d) for d in table.get("dependencies", ())),
            via=tuple(table.get("via", ())),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Substitution:
    """A build pin that differs from what the sdist declared: built against the runtime version."""

    package: NormalizedName  # the ABI package, e.g. numpy
    # What the declared requirements asked for, with the chain:
    # "numpy==1.23.2 via oldest-supported-numpy 2023.12.21".
    declared: str
    used: Version  # the runtime version the build uses instead

    def to_table(self) -> dict[str, Any]:
        return {"package": self.package, "declared": self.declared, "used": str(self.used)}

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Substitution:
        return cls(
            package=canonicalize_name(str(table["package"])),
            declared=str(table["declared"]),
            used=Version(str(table["used"])),
        )


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

    @property
    def key(self) -> str:
        return f"{self.package}=={self.version}"

    def pin_versions(self) -> dict[NormalizedName, Version]:
        result: dict[NormalizedName, Version] = {}
        for pin in self.pins:
            name, _, version = pin.partition("==")
            result[canonicalize_name(name)] = Version(version)
        return result

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            "package": self.package,
            "version": str(self.version),
            "backend": self.backend,
        }
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
                s.to_table() for s in sorted(self.substitutions, key=lambda s: s.package)
            ]
        return table

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str) -> BuildEnvironment:
        try:
            return cls(
                package=canonicalize_name(str(table["package"])),
                version=Version(str(table["version"])),
                backend=str(table["backend"]),
                backend_path=tuple(table.get("backend-path", ())),
                requires=tuple(table.get("requires", ())),
                dynamic_requires=tuple(table.get("dynamic-requires", ())),
                extra_requires=tuple(table.get("extra-requires", ())),
                pins=tuple(table.get("pins", ())),
                shared=tuple(canonicalize_name(s) for s in table.get("shared", ())),
                substitutions=tuple(
                    Substitution.from_table(s) for s in table.get("substitutions", ())
                ),
                config_settings=tuple(
                    sorted((str(k), str(v)) for k, v in table.get("config-settings", {}).items())
                ),
                isolated=bool(table.get("isolated", True)),
            )
        except KeyError as exc:
            raise LockfileError(f"{where} lacks the key {exc.args[0]!r}.") from None
        except InvalidVersion as exc:
            raise LockfileError(f"{where} has an invalid version ({exc}).") from None


@dataclass(frozen=True, kw_only=True, slots=True)
class Lock:
    """A whole lockfile."""

    inputs_digest: str
    input_files: tuple[str, ...]
    command: str  # the command line that regenerates it, for the header
    target: Mapping[str, Any]
    options: Mapping[str, Any] = field(default_factory=dict)
    packages: tuple[LockedPackage, ...] = ()
    builds: tuple[BuildEnvironment, ...] = ()

    def runtime_packages(self) -> tuple[LockedPackage, ...]:
        return tuple(p for p in self.packages if p.runtime)

    def package(self, name: str, version: Version | str | None = None) -> LockedPackage | None:
        """The runtime entry for ``name``, or the exact (name, version) entry."""
        wanted = canonicalize_name(name)
        for pkg in self.packages:
            if pkg.name != wanted:
                continue
            if version is None and pkg.runtime:
                return pkg
            if version is not None and pkg.version == Version(str(version)):
                return pkg
        return None

    def with_absolute_files(self, lock_dir: Path) -> Lock:
        """The lock with file paths relative to it (a ./wheels find-links dir) made absolute
        ``file:`` URLs, for consumers that do not run beside the lock (a plan script)."""

        def absolute(file: LockedFile | None) -> LockedFile | None:
            if file is None or "://" in file.url or file.url.startswith("file:"):
                return file
            return replace(file, url=(lock_dir / file.url).resolve().as_uri())

        packages = tuple(
            replace(p, wheel=absolute(p.wheel), sdist=absolute(p.sdist)) for p in self.packages
        )
        return replace(self, packages=packages)

    def build_for(self, name: str, version: Version) -> BuildEnvironment | None:
        wanted = canonicalize_name(name)
        return next((b for b in self.builds if b.package == wanted and b.version == version), None)

    def build_packages(self, build: BuildEnvironment) -> tuple[LockedPackage, ...]:
        """The [[package]] entries a build environment installs, in pin order."""
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


def _sorted_packages(packages: Iterable[LockedPackage]) -> list[LockedPackage]:
    return sorted(packages, key=lambda p: (p.name, p.version))


def dumps(lock: Lock) -> str:
    """Canonical TOML text of a lock."""
    doc = tomlkit.document()
    doc.add(tomlkit.comment("This file is @generated by lock-build. Do not edit it by hand."))
    doc.add(tomlkit.comment("To regenerate it, run:"))
    doc.add(tomlkit.comment(f"    {lock.command}"))
    doc.add(tomlkit.nl())
    doc["lock-version"] = LOCK_VERSION
    doc["created-by"] = f"lock-build {__version__}"

    inputs = tomlkit.table()
    inputs["digest"] = lock.inputs_digest
    inputs["files"] = sorted(lock.input_files)
    doc["inputs"] = inputs

    doc["target"] = _canonical(lock.target)
    if lock.options:
        doc["options"] = _canonical(lock.options)

    packages = tomlkit.aot()
    for pkg in _sorted_packages(lock.packages):
        packages.append(_table(pkg.to_table()))
    doc["package"] = packages

    if lock.builds:
        builds = tomlkit.aot()
        for build in sorted(lock.builds, key=lambda b: (b.package, b.version)):
            builds.append(_table(build.to_table()))
        doc["build"] = builds
    return tomlkit.dumps(doc)


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _canonical(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def _table(values: Mapping[str, Any]) -> tomlkit.items.Table:
    """A table whose small sub-tables are inline and whose long lists go one item a line."""
    table = tomlkit.table()
    for key, value in values.items():
        if isinstance(value, Mapping):
            inline = tomlkit.inline_table()
            inline.update(_canonical(value))
            table[key] = inline
        elif isinstance(value, list) and value and isinstance(value[0], Mapping):
            array = tomlkit.array()
            for item in value:
                inline = tomlkit.inline_table()
                inline.update(_canonical(item))
                array.append(inline)
            array.multiline(True)
            table[key] = array
        elif isinstance(value, list):
            array = tomlkit.array()
            array.extend(value)
            if len(value) > 2:
                array.multiline(True)
            table[key] = array
        else:
            table[key] = value
    return table


def loads(text: str, *, source: str = "lockfile") -> Lock:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LockfileError(f"{source} is not valid TOML ({exc}).") from None
    version = data.get("lock-version")
    if version != LOCK_VERSION:
        raise LockfileError(
            f"{source} has lock-version {version!r}; this lock-build reads version {LOCK_VERSION}.",
            hint="Regenerate it with lock-build compile, or use the lock-build that wrote it.",
        )
    inputs = data.get("inputs", {})
    return Lock(
        inputs_digest=str(inputs.get("digest", "")),
        input_files=tuple(inputs.get("files", ())),
        command=_header_command(text),
        target=data.get("target", {}),
        options=data.get("options", {}),
        packages=tuple(
            LockedPackage.from_table(t, f"{source}: package[{i}]")
            for i, t in enumerate(data.get("package", ()))
        ),
        builds=tuple(
            BuildEnvironment.from_table(t, f"{source}: build[{i}]")
            for i, t in enumerate(data.get("build", ()))
        ),
    )


def _header_command(text: str) -> str:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("# To regenerate it, run:") and i + 1 < len(lines):
            return lines[i + 1].lstrip("# ").strip()
    return "lock-build compile"


def read_lock(path: Path) -> Lock:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LockfileError(
            f"Lockfile {path} does not exist.", hint="Create it with lock-build compile."
        ) from None
    except OSError as exc:
        raise LockfileError(f"Cannot read lockfile {path} ({exc.strerror}).") from None
    return loads(text, source=str(path))


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a failure never leaves half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise LockfileError(
            f"Cannot write {path}: its directory {path.parent} is not a writable directory "
            f"({exc.strerror or exc})."
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise LockfileError(
            f"Cannot write {path} ({exc.strerror or exc}); the previous file is untouched."
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_lock_path(path: Path) -> None:
    """Refuse names PEP 751 reserves, before any work is done for them."""
    if path.name.startswith(_PYLOCK_PREFIX):
        raise LockfileError(
            f"{path.name} is a name PEP 751 reserves for pylock files.",
            hint="Use lock-build export --format pylock for that format; "
            "name the lock e.g. requirements.lock.",
        )


def write_lock(path: Path, lock: Lock) -> bool:
    """Write ``lock`` to ``path``; returns False (and leaves the file alone) when unchanged."""
    check_lock_path(path)
    text = dumps(lock)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    write_text_atomic(path, text)
    return True


def find_lockfile(cwd: Path) -> Path:
    """The one lockfile in ``cwd``, for commands given no LOCKFILE argument."""
    candidates = sorted(p for p in cwd.glob("*.lock") if _looks_like_ours(p))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise LockfileError(
            f"No lockfile in {cwd}.",
            hint="Pass one as an argument, or create it with lock-build compile.",
        )
    names = ", ".join(p.name for p in candidates)
    raise LockfileError(f"Several lockfiles in {cwd} ({names}).", hint="Name the one to use.")


def _looks_like_ours(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(400)
    except OSError:
        return False
    return "lock-version" in head or "@generated by lock-build" in head
