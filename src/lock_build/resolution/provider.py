"""The resolvelib provider: it knows requirements and candidates, the source knows the world."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider
from resolvelib.structs import RequirementInformation

from lock_build.models import Release
from lock_build.resolution.model import (
    Candidate,
    PackageSource,
    ResolveRequest,
    Wanted,
    identifier_for,
)
from lock_build.target import Target


def split_identifier(identifier: str) -> tuple[NormalizedName, frozenset[NormalizedName]]:
    name, _, rest = identifier.partition("[")
    extras = frozenset(canonicalize_name(e) for e in rest.rstrip("]").split(",") if e)
    return canonicalize_name(name), extras


class Provider(AbstractProvider):  # type: ignore[type-arg]
    """Candidates come from ``source``; markers are evaluated for ``target``."""

    def __init__(self, source: PackageSource, target: Target, request: ResolveRequest) -> None:
        self.source = source
        self.target = target
        self.request = request
        self._constraints: dict[NormalizedName, list[Wanted]] = defaultdict(list)
        for wanted in request.constraints:
            if target.evaluate(wanted.requirement.marker):
                self._constraints[wanted.name].append(wanted)
        self._overrides = {w.name: w for w in request.overrides}
        self._preferred = dict(request.preferred)
        self._excluded = set(request.excluded)
        self._direct = {w.name: w for w in request.requirements if w.direct is not None}
        # What the declared requirements asked for where an override replaced it:
        # name -> [(who asked, the original requirement)], for substitution reports.
        self.overridden: dict[NormalizedName, list[tuple[str, Requirement]]] = defaultdict(list)
        self._specifiers: dict[tuple[NormalizedName, tuple[str, ...]], SpecifierSet] = {}
        self._matches: dict[tuple[NormalizedName, str], list[Release]] = {}

    # -- resolvelib interface -------------------------------------------------

    def identify(self, requirement_or_candidate: Wanted | Candidate) -> str:
        return requirement_or_candidate.identifier

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Wanted, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Wanted, Candidate]],
    ) -> Any:
        infos = list(information[identifier])
        direct = any(info.requirement.direct is not None for info in infos)
        pinned = any(
            spec.operator in ("==", "===") and "*" not in spec.version
            for info in infos
            for spec in info.requirement.specifier
        )
        cause_names = {cause.requirement.name for cause in backtrack_causes} | {
            cause.parent.name for cause in backtrack_causes if cause.parent is not None
        }
        requested = any(info.parent is None for info in infos)
        name, _ = split_identifier(identifier)
        # Same order of concerns as pip: cheap, decisive choices first; then what is
        # causing backtracking, so conflicts are found near their source.
        return (not direct, not pinned, name not in cause_names, not requested, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Wanted]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> list[Candidate]:
        name, extras = split_identifier(identifier)
        wanted = list(requirements[identifier])
        bad_versions = {c.version for c in incompatibilities[identifier]}
        direct = next((w for w in wanted if w.direct is not None), self._direct.get(name))
        if direct is not None and direct.direct is not None:
            release, _ = self.source.direct_release(name, direct.direct)
            if release.version in bad_versions or not self._allowed(name, release.version, wanted):
                return []
            return [
                Candidate(
                    name=name,
                    version=release.version,
                    extras=extras,
                    release=release,
                    direct=direct.direct,
                )
            ]

        specifier = self._specifier(name, wanted)
        matching = [r for r in self._candidates(name, specifier) if r.version not in bad_versions]
        if not self._prereleases_allowed(specifier):
            finals = [r for r in matching if not r.version.is_prerelease]
            # pip's rule: pre-releases are considered when nothing else matches.
            if finals:
                matching = finals
        return [
            Candidate(name=name, version=r.version, extras=extras, release=r)
            for r in self._ordered(name, matching)
        ]

    def is_satisfied_by(self, requirement: Wanted, candidate: Candidate) -> bool:
        if requirement.direct is not None:
            return candidate.direct is not None and candidate.direct.url == requirement.direct.url
        override = self._overrides.get(requirement.name)
        specifier = override.specifier if override is not None else requirement.specifier
        return _contains(specifier, candidate.version)

    def get_dependencies(self, candidate: Candidate) -> list[Wanted]:
        release = candidate.release
        assert release is not None
        metadata = self.source.metadata(release)
        deps: list[Wanted] = []
        if candidate.extras:
            # An extra is its own identifier that pins its base to the same version.
            base = Requirement(f"{candidate.name}=={candidate.version}")
            deps.append(Wanted(requirement=base, direct=candidate.direct))
        for requirement in metadata.requires_dist:
            if not self._applies(requirement, candidate.extras):
                continue
            deps.append(
                self._override(Wanted(requirement=_strip_marker(requirement)), str(candidate))
            )
        return deps

    # -- helpers --------------------------------------------------------------

    def _applies(self, requirement: Requirement, extras: frozenset[NormalizedName]) -> bool:
        if requirement.marker is None:
            return not extras  # unconditional deps belong to the base identifier
        if extras:
            # Only what the extras add; the base identifier carries the rest.
            return self.target.evaluate(requirement.marker, extras) and not self.target.evaluate(
                requirement.marker
            )
        return self.target.evaluate(requirement.marker)

    def _override(self, wanted: Wanted, parent: str) -> Wanted:
        override = self._overrides.get(wanted.name)
        if override is None:
            return wanted
        self.overridden[wanted.name].append((parent, wanted.requirement))
        replaced = Requirement(str(override.requirement))
        replaced.extras = wanted.requirement.extras
        replaced.marker = None
        return Wanted(requirement=replaced, origin=wanted.origin)

    def _specifier(self, name: NormalizedName, wanted: Iterable[Wanted]) -> SpecifierSet:
        """Everything that narrows ``name`` now, combined (memoised: backtracking asks the
        same question thousands of times)."""
        key = (name, tuple(sorted({str(w.specifier) for w in wanted})))
        cached = self._specifiers.get(key)
        if cached is None:
            cached = self._specifiers[key] = self._combine(name, wanted)
        return cached

    def _candidates(self, name: NormalizedName, specifier: SpecifierSet) -> list[Release]:
        """Releases of ``name`` inside ``specifier``, newest first (pre-releases included;
        filtered later). Yanked ones only when pinned exactly (PEP 592)."""
        key = (name, str(specifier))
        cached = self._matches.get(key)
        if cached is None:
            exact = {
                Version(spec.version)
                for spec in specifier
                if spec.operator in ("==", "===") and "*" not in spec.version
            }
            releases = self.source.releases(name)
            allowed = set(specifier.filter((r.version for r in releases), prereleases=True))
            cached = [
                r
                for r in releases
                if r.version in allowed
                and (name, r.version) not in self._excluded
                and (not r.yanked or r.version in exact)
            ]
            self._matches[key] = cached
        return cached

    def _combine(self, name: NormalizedName, wanted: Iterable[Wanted]) -> SpecifierSet:
        specifier = SpecifierSet()
        override = self._overrides.get(name)
        if override is not None:
            specifier &= override.specifier
        else:
            for w in wanted:
                specifier &= w.specifier
        for constraint in self._constraints.get(name, ()):
            specifier &= constraint.specifier
        return specifier

    def _allowed(self, name: NormalizedName, version: Version, wanted: Sequence[Wanted]) -> bool:
        return _contains(self._specifier(name, wanted), version)

    def _prereleases_allowed(self, specifier: SpecifierSet) -> bool:
        return self.request.pre or bool(specifier.prereleases)

    def _ordered(self, name: NormalizedName, releases: list[Release]) -> list[Release]:
        preferred = self._preferred.get(name)

        def rank(release: Release) -> tuple[bool, bool, int]:
            binary_last = self.request.prefer_binary and release.wheel is None
            return (release.version != preferred, binary_last, 0)

        # sorted() is stable: within a rank the source's newest-first order stays.
        return sorted(releases, key=rank)


@functools.lru_cache(maxsize=65536)
def _contains(specifier: SpecifierSet, version: Version) -> bool:
    return specifier.contains(version, prereleases=True)


def _strip_marker(requirement: Requirement) -> Requirement:
    """Markers were evaluated already; identical requirements should compare equal."""
    if requirement.marker is None:
        return requirement
    stripped = Requirement(str(requirement))
    stripped.marker = None
    return stripped


def identifier_of(name: str, extras: Iterable[str] = ()) -> str:
    return identifier_for(canonicalize_name(name), frozenset(canonicalize_name(e) for e in extras))
