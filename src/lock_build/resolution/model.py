"""What the resolver juggles: requirements with an origin, candidates, the source seam."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from lock_build.models import CoreMetadata, Release


@dataclass(frozen=True, kw_only=True, slots=True)
class DirectReference:
    """A requirement pinned to one file or tree rather than resolved from an index."""

    url: str  # what to fetch (may hold credentials); redacted before display
    kind: str  # "archive" | "directory" | "vcs"
    editable: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Wanted:
    """A requirement as the resolver sees it: what is asked for, and by whom.

    ``origin`` is the pip-compile style reason used for ``via`` and for conflict
    explanations: "-r requirements.in", "pyproject.toml (extra: dev)", or None when a
    candidate's own metadata asked (resolvelib then records the parent candidate).
    ``location`` is the input line (``requirements.in:3``) when it is known: a
    conflict's chain starts there.
    """

    requirement: Requirement
    origin: str | None = None
    location: str = ""
    direct: DirectReference | None = None
    # Derived once: the resolver asks for them on every pin check of a backtracking walk.
    name: NormalizedName = field(init=False, repr=False, compare=False)
    extras: frozenset[NormalizedName] = field(init=False, repr=False, compare=False)
    identifier: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        name = canonicalize_name(self.requirement.name)
        extras = frozenset(canonicalize_name(e) for e in self.requirement.extras)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "extras", extras)
        object.__setattr__(self, "identifier", identifier_for(name, extras))

    @property
    def specifier(self) -> SpecifierSet:
        return self.requirement.specifier

    def __str__(self) -> str:
        return str(self.requirement)


def identifier_for(name: NormalizedName, extras: frozenset[str] = frozenset()) -> str:
    """One resolver identifier per (name, extras), as pip does.

    ``name[extra]`` depends on ``name`` at the same version.
    """
    if not extras:
        return name
    return f"{name}[{','.join(sorted(extras))}]"


@dataclass(frozen=True, kw_only=True, slots=True)
class Candidate:
    name: NormalizedName
    version: Version
    extras: frozenset[NormalizedName] = frozenset()
    release: Release | None = None
    direct: DirectReference | None = None

    @property
    def identifier(self) -> str:
        return identifier_for(self.name, self.extras)

    def without_extras(self) -> Candidate:
        return Candidate(
            name=self.name, version=self.version, release=self.release, direct=self.direct
        )

    def __str__(self) -> str:
        return f"{self.identifier} {self.version}"


class PackageSource(Protocol):
    """The seam between the resolver and the world: an index, or a dict in tests."""

    def releases(self, name: NormalizedName) -> Sequence[Release]:
        """Versions usable on the target, newest first."""
        ...

    def metadata(self, release: Release) -> CoreMetadata:
        """Core metadata (building the sdist's metadata if it must)."""
        ...

    def direct_release(
        self, name: NormalizedName, direct: DirectReference
    ) -> tuple[Release, CoreMetadata]:
        """The single release behind a direct reference, with its metadata."""
        ...

    # For a conflict's explanation: why a name has nothing usable, and where it looked.

    def why_unusable(self, name: NormalizedName) -> str | None:
        """Why ``name`` has no usable release (no such project, every file rejected), or
        None when the source cannot tell; said when a conflict's package has none."""
        ...

    def describe_locations(self) -> str:
        """Where releases are looked for (the index URLs, redacted), or ""."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolveRequest:
    """Everything one resolution needs besides the source.

    ``preferred`` versions are tried first when they satisfy everything (existing lock
    pins, runtime pins for build environments); ``overrides`` replace every
    requirement on a name (used to build against the runtime version of an ABI
    package); constraints only narrow.
    """

    requirements: tuple[Wanted, ...]
    constraints: tuple[Wanted, ...] = ()
    overrides: tuple[Wanted, ...] = ()
    preferred: tuple[tuple[NormalizedName, Version], ...] = ()
    excluded: tuple[tuple[NormalizedName, Version], ...] = ()
    pre: bool = False
    prefer_binary: bool = False
    context: str = ""  # "" for the runtime tree, else "cftime 1.6.1 (build)" for messages


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolvedPackage:
    candidate: Candidate
    metadata: CoreMetadata
    dependencies: tuple[NormalizedName, ...]
    via: tuple[str, ...]  # origins and parent names, pip-compile style


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolution:
    """The result: one candidate per name (extras folded into their base).

    ``warnings`` are what pip would warn about this result (an extra a package does
    not define); the caller decides whether to show them.
    """

    packages: tuple[ResolvedPackage, ...]
    warnings: tuple[str, ...] = ()

    def versions(self) -> dict[NormalizedName, Version]:
        return {p.candidate.name: p.candidate.version for p in self.packages}

    def get(self, name: NormalizedName) -> ResolvedPackage | None:
        return next((p for p in self.packages if p.candidate.name == name), None)


__all__ = [
    "Candidate",
    "DirectReference",
    "PackageSource",
    "Resolution",
    "ResolveRequest",
    "ResolvedPackage",
    "Wanted",
    "identifier_for",
]
