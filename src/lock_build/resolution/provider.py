"""The resolvelib provider: it knows requirements and candidates, the source knows the world."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
        # Releases skipped because their own metadata excludes the target's Python:
        # (name, version) -> why, for the explanation of a failed resolution.
        self.rejected: dict[tuple[NormalizedName, Version], str] = {}
        self._python_ok: set[tuple[NormalizedName, Version]] = set()

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
    ) -> Callable[[], Iterator[Candidate]] | list[Candidate]:
        name, extras = split_identifier(identifier)
        wanted = list(requirements[identifier])
        if extras:
            # As pip does: what the base name is asked for narrows its extras too.
            wanted += list(requirements.get(name, ()))
        bad_versions = {c.version for c in incompatibilities[identifier]}
        direct = next((w for w in wanted if w.direct is not None), self._direct.get(name))
        if direct is not None and direct.direct is not None:
            release, _ = self.source.direct_release(name, direct.direct)
            if (
                release.version in bad_versions
                or not self._allowed(name, release.version, wanted)
                or self.python_rejection(release) is not None
            ):
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
        # Exclusions come after the index's view is settled: a pre-release never becomes
        # eligible because backtracking (or a rejected build) removed the finals.
        matching = [
            r
            for r in self._eligible(name, specifier)
            if r.version not in bad_versions and (name, r.version) not in self._excluded
        ]
        ordered = self._ordered(name, matching)

        def candidates() -> Iterator[Candidate]:
            # Lazy, as pip's are: a file's own Requires-Python is read from its metadata
            # only when the resolver gets that far down the list.
            for release in ordered:
                if self.python_rejection(release) is None:
                    yield Candidate(
                        name=name, version=release.version, extras=extras, release=release
                    )

        return candidates

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
        return Wanted(requirement=replaced, origin=wanted.origin, location=wanted.location)

    def _specifier(self, name: NormalizedName, wanted: Iterable[Wanted]) -> SpecifierSet:
        """Everything that narrows ``name`` now, combined (memoised: backtracking asks the
        same question thousands of times)."""
        key = (name, tuple(sorted({str(w.specifier) for w in wanted})))
        cached = self._specifiers.get(key)
        if cached is None:
            cached = self._specifiers[key] = self._combine(name, wanted)
        return cached

    def _eligible(self, name: NormalizedName, specifier: SpecifierSet) -> list[Release]:
        """What pip's finder offers for ``name`` under the merged ``specifier``, newest first.

        Pre-releases: all with ``--pre``; else ``SpecifierSet.filter`` decides (one is
        named by a specifier, or no final release matches). Yanked releases (PEP 592):
        only when the specifier pins exactly and every matching release is yanked.
        """
        key = (name, str(specifier))
        cached = self._matches.get(key)
        if cached is None:
            releases = self.source.releases(name)
            allowed = set(
                specifier.filter(
                    (r.version for r in releases), prereleases=True if self.request.pre else None
                )
            )
            applicable = [r for r in releases if r.version in allowed]
            take_yanked = _is_pinned(specifier) and all(r.yanked for r in applicable)
            cached = [r for r in applicable if take_yanked or not r.yanked]
            self._matches[key] = cached
        return cached

    def python_rejection(self, release: Release) -> str | None:
        """Why ``release`` cannot be used on the target's Python, from its own metadata.

        The index's ``requires-python`` was applied when files were selected; the
        metadata is checked as well, as pip does: find-links directories and some
        indexes do not state it, and where they do the file itself has the last word.
        """
        key = (release.name, release.version)
        if key in self.rejected:
            return self.rejected[key]
        if key in self._python_ok:
            return None
        requires = self.source.metadata(release).requires_python
        python = self.target.python_full_version
        if requires is None or requires.contains(python, prereleases=True):
            self._python_ok.add(key)
            return None
        reason = f"its metadata requires Python {requires}, not {python}"
        self.rejected[key] = reason
        return reason

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


def _is_pinned(specifier: SpecifierSet) -> bool:
    """An exact ``==`` (not a wildcard) or ``===``: pip's test for taking a yanked release."""
    return any(
        spec.operator == "===" or (spec.operator == "==" and not spec.version.endswith(".*"))
        for spec in specifier
    )


def _strip_marker(requirement: Requirement) -> Requirement:
    """Markers were evaluated already; identical requirements should compare equal."""
    if requirement.marker is None:
        return requirement
    stripped = Requirement(str(requirement))
    stripped.marker = None
    return stripped


__all__ = [
    "Provider",
    "split_identifier",
]
