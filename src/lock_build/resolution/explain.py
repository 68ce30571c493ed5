"""Turn resolvelib's conflict causes into chains from the inputs, and say what exists.

The chains are data (:class:`~lock_build.errors.Conflict`); the error renders them.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence

from packaging.utils import NormalizedName
from packaging.version import Version
from resolvelib.structs import RequirementInformation

from lock_build.errors import ChainLink, Conflict, Pin, RequirementChain
from lock_build.models import CoreMetadata, Release
from lock_build.resolution.model import Candidate, PackageSource, Wanted
from lock_build.resolution.provider import split_identifier

_MAX_VERSIONS_SHOWN = 8
_MAX_VERSIONS_LISTED = 4  # more versions than this read better as a range

Cause = RequirementInformation[Wanted, Candidate]
# A candidate as the derivations know it: (identifier, version).
_Key = tuple[str, Version]


class Derivations:
    """Every requirement the resolver was given and who asked for it, to walk a
    conflict back to the input line that started it.

    resolvelib's ``ResolutionImpossible.causes`` name only the direct parent of each
    conflicting requirement; that parent was itself asked for by another candidate, and
    so on up to an input. The resolver's reporter hook ``adding_requirement`` sees
    every such edge; they are kept here, once each, per the identifier they ask for.
    An edge seen before a backtrack is still a fact about the packages (that version
    does require it), so a chain built from them is true even if the resolver later
    dropped a version on it.
    """

    def __init__(self) -> None:
        self._asking: dict[str, dict[_Key | None, list[Cause]]] = {}

    def record(self, requirement: Wanted, parent: Candidate | None) -> None:
        key = None if parent is None else (parent.identifier, parent.version)
        by_parent = self._asking.setdefault(requirement.identifier, {})
        seen = by_parent.setdefault(key, [])
        if all(info.requirement != requirement for info in seen):
            seen.append(RequirementInformation(requirement, parent))

    def chain(
        self, cause: Cause, satisfies: Callable[[Wanted, Candidate], bool]
    ) -> RequirementChain:
        """The shortest chain from an input requirement to ``cause``: breadth first over
        who asked for each parent (an edge counts only if the parent satisfies it)."""
        path = self._path_to_root(cause, satisfies)
        root = path[0].requirement if path[0].parent is None else None
        links = tuple(
            ChainLink(requirement=info.requirement.requirement, parent=_pin(info.parent))
            for info in path
            # "a[x] 1.0 requires a==1.0" is how resolvelib ties an extra to its base: noise.
            if info.parent is None or info.parent.name != info.requirement.name
        )
        return RequirementChain(
            links=links or (ChainLink(requirement=cause.requirement.requirement),),
            origin=(root.origin or "") if root is not None else "",
            location=root.location if root is not None else "",
        )

    def _path_to_root(
        self, cause: Cause, satisfies: Callable[[Wanted, Candidate], bool]
    ) -> tuple[Cause, ...]:
        if cause.parent is None:
            return (cause,)
        frontier: deque[tuple[Candidate, tuple[Cause, ...]]] = deque([(cause.parent, (cause,))])
        visited = {(cause.parent.identifier, cause.parent.version)}
        while frontier:
            candidate, path = frontier.popleft()
            for infos in self._asking.get(candidate.identifier, {}).values():
                for info in infos:
                    if not satisfies(info.requirement, candidate):
                        continue
                    if info.parent is None:
                        return (info, *path)
                    key = (info.parent.identifier, info.parent.version)
                    if key not in visited:
                        visited.add(key)
                        frontier.append((info.parent, (info, *path)))
        return (cause,)  # nothing recorded asked for the parent: say only what it requires


def _pin(candidate: Candidate | None) -> Pin | None:
    if candidate is None:
        return None
    return Pin(name=candidate.name, version=candidate.version, extras=candidate.extras)


def conflicts(
    causes: Iterable[Cause],
    source: PackageSource,
    *,
    derivations: Derivations,
    satisfies: Callable[[Wanted, Candidate], bool],
    rejected: Mapping[tuple[NormalizedName, Version], str] | None = None,
) -> tuple[Conflict, ...]:
    """resolvelib's causes as one :class:`Conflict` per package, each requirement with its
    whole chain from the input. ``rejected``: releases the provider skipped, and why
    (their metadata's Python)."""
    by_name: dict[NormalizedName, dict[str, RequirementChain]] = defaultdict(dict)
    for cause in causes:
        name, _ = split_identifier(cause.requirement.identifier)
        chain = derivations.chain(cause, satisfies)
        by_name[name].setdefault(chain.render(), chain)
    return tuple(
        Conflict(
            package=name,
            chains=tuple(chains.values()),
            available=_available(name, source, rejected or {}) if len(chains) == 1 else "",
        )
        for name, chains in sorted(by_name.items())
    )


def _available(
    name: NormalizedName,
    source: PackageSource,
    rejected: Mapping[tuple[NormalizedName, Version], str],
) -> str:
    try:
        releases = list(source.releases(name))
    except Exception:  # noqa: BLE001 - an explanation must not raise a second error
        return "its versions could not be listed"
    described = source.describe_locations()
    asked = f" (asked: {described})" if described else ""
    if not releases:
        reason = source.why_unusable(name)
        if reason:
            return f"{reason}{asked}"
        return f"no index has a usable file of {name} for this target{asked}"
    live = [r for r in releases if not r.yanked]
    yanked = [r for r in releases if r.yanked]
    if not live:
        return (
            f"every version of {name} is yanked: {_listed(yanked, _yank_reason)}{asked}; "
            "a yanked release is used only when pinned exactly (==)"
        )
    text = f"the versions that exist for this target are {_span(live)}{asked}"
    skipped = [r for r in live if (name, r.version) in rejected]
    if skipped:
        reasons = _listed(skipped, lambda r: rejected[(name, r.version)])
        text += f"; why each was rejected: {reasons}"
    if yanked:
        text += f"; yanked, so not considered without an exact pin: {_listed(yanked, _yank_reason)}"
    return text


def _span(releases: Sequence[Release]) -> str:
    """A few versions listed newest first; more collapsed into a range of what exists:
    ``1.0 to 2.3 (12 versions)``."""
    versions = sorted({r.version for r in releases})
    if len(versions) <= _MAX_VERSIONS_LISTED:
        return ", ".join(str(v) for v in reversed(versions)) or "none"
    return f"{versions[0]} to {versions[-1]} ({len(versions)} versions)"


def _listed(releases: Sequence[Release], why: Callable[[Release], str] | None) -> str:
    """'2.0, 1.0 and 3 more', each followed by ``why`` in brackets if given."""
    shown = releases[:_MAX_VERSIONS_SHOWN]
    items = [str(r.version) if why is None else f"{r.version} ({why(r)})" for r in shown]
    hidden = len(releases) - len(shown)
    return ", ".join(items) + (f" and {hidden} more" if hidden else "")


def _yank_reason(release: Release) -> str:
    reason = release.artifact.yanked
    return f"reason: {reason}" if reason else "no reason given"


def unknown_extras_warning(candidate: Candidate, metadata: CoreMetadata) -> str | None:
    """pip's "does not provide the extra", naming the extras the package does define."""
    missing = sorted(candidate.extras - metadata.provides_extra)
    if not missing:
        return None
    extras = ", ".join(repr(e) for e in missing)
    defined = ", ".join(sorted(metadata.provides_extra)) or "none"
    plural = "s" if len(missing) > 1 else ""
    return (
        f"{candidate.name} {candidate.version} does not provide the extra{plural} {extras} "
        f"(its extras: {defined})"
    )


def yanked_warning(release: Release, where: str = "") -> str | None:
    """A yanked release can only be chosen through an exact pin (PEP 592): say so, with
    the index's reason, as pip does when it installs one."""
    if not release.yanked:
        return None
    place = f" (in the build environment of {where})" if where else ""
    return (
        f"{release.name} {release.version}{place} is yanked ({_yank_reason(release)}); "
        "it is used because it is pinned exactly"
    )


__all__ = [
    "Cause",
    "Derivations",
    "conflicts",
    "unknown_extras_warning",
    "yanked_warning",
]
