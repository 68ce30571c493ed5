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

This module is the whole :class:`Lock` (its tables together, their cross checks, the
glibc floor of a target). The tables' values have modules of their own: ``[[package]]``
in :mod:`.packages`, ``[[build]]`` in :mod:`.builds`, ``[[target]]`` in
:mod:`.target_table`, all read with :mod:`.reading`; they are re-exported here, so
``lock_build.lockfile.model`` still names every value of a lock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from lock_build.lockfile.builds import AbiRecord, BuildEnvironment, Substitution
from lock_build.lockfile.packages import (
    LocalSource,
    LockedFile,
    LockedPackage,
    Origin,
    OriginKind,
    SourceKind,
)
from lock_build.lockfile.reading import (
    LockValidationError,
    Path_,
    Problem,
    Reader,
    last_segment,
    render_path,
    url_problem,
)
from lock_build.lockfile.target_table import LockTarget, target_tags

__all__ = [
    "LOCK_VERSION",
    "READABLE_VERSIONS",
    "AbiRecord",
    "BuildEnvironment",
    "LocalSource",
    "Lock",
    "LockTarget",
    "LockValidationError",
    "LockedFile",
    "LockedPackage",
    "Origin",
    "OriginKind",
    "Path_",
    "Problem",
    "SourceKind",
    "Substitution",
    "glibc_floor",
    "glibc_of",
    "last_segment",
    "render_path",
    "usable_on",
]

LOCK_VERSION = 2
READABLE_VERSIONS = (1, 2)


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
        r = Reader()
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
                if url_problem(location) == "must not contain credentials":
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

    def usable(level: int) -> bool:
        platform = f"manylinux_{major}_{level}_{arch}"
        tags = target_tags(target.implementation, target.python_version, platform)
        return all(usable_on(lock, p, tags) for p in lock.packages)

    # A lower glibc accepts a subset of a higher one's tags, so usability only grows with
    # the level: bisect for the lowest usable level (the target's own when none below is).
    low, high = lowest, minor  # high is the answer so far
    while low < high:
        middle = (low + high) // 2
        if usable(middle):
            high = middle
        else:
            low = middle + 1
    return f"{major}.{high}"


_TOP_LEVEL_KEYS = frozenset(
    {"lock-version", "created-by", "inputs", "target", "options", "package", "build"}
)


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _canonical(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value
