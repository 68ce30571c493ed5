"""Turn resolvelib's conflict causes into sentences a person can follow."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

from packaging.utils import NormalizedName
from packaging.version import Version
from resolvelib.structs import RequirementInformation

from lock_build.models import CoreMetadata, Release
from lock_build.resolution.model import Candidate, PackageSource, ResolveRequest, Wanted
from lock_build.resolution.provider import split_identifier

BUILD_SUFFIX = " (build)"
_MAX_VERSIONS_SHOWN = 8
_MAX_VERSIONS_LISTED = 4  # more versions than this read better as a range


def who_asked(wanted: Wanted, parent: Candidate | None) -> str:
    """'cftime 1.6.1 requires numpy>=2', 'you asked for numpy==1.26.4 (-r requirements.in)'."""
    requirement = str(wanted.requirement)
    if parent is not None:
        return f"{parent.name} {parent.version} requires {requirement}"
    origin = wanted.origin or ""
    if origin.endswith(BUILD_SUFFIX):
        return f"{origin[: -len(BUILD_SUFFIX)]} needs {requirement} to build"
    if origin:
        return f"you asked for {requirement} ({origin})"
    return f"you asked for {requirement}"


def explain_conflict(
    causes: Iterable[RequirementInformation[Wanted, Candidate]],
    source: PackageSource,
    request: ResolveRequest,
    rejected: Mapping[tuple[NormalizedName, Version], str] | None = None,
) -> str:
    """``rejected``: releases the provider skipped, and why (their metadata's Python)."""
    by_name: dict[NormalizedName, list[str]] = defaultdict(list)
    for cause in causes:
        wanted, parent = cause.requirement, cause.parent
        name, _ = split_identifier(wanted.identifier)
        sentence = who_asked(wanted, parent)
        if sentence not in by_name[name]:
            by_name[name].append(sentence)

    where = (
        f" the build environment of {request.context.removesuffix(BUILD_SUFFIX)}"
        if request.context
        else ""
    )
    parts = []
    for name, sentences in sorted(by_name.items()):
        text = "; ".join(sentences)
        if len(sentences) == 1:
            text += "; " + _available(name, source, rejected or {})
        parts.append(text)
    constraints = [str(c.requirement) for c in request.constraints]
    note = f" (constraints in force: {', '.join(sorted(constraints))})" if constraints else ""
    return f"Cannot resolve{where}: " + ". ".join(parts) + "." + note


def _available(
    name: NormalizedName,
    source: PackageSource,
    rejected: Mapping[tuple[NormalizedName, Version], str],
) -> str:
    try:
        releases = list(source.releases(name))
    except Exception:  # noqa: BLE001 - an explanation must not raise a second error
        return "its versions could not be listed"
    describe = getattr(source, "describe_locations", None)
    asked = f" (asked: {describe()})" if callable(describe) else ""
    if not releases:
        why = getattr(source, "why_unusable", None)
        reason = why(name) if callable(why) else None
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
