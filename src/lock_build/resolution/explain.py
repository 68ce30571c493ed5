"""Turn resolvelib's conflict causes into sentences a person can follow."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

from packaging.utils import NormalizedName
from packaging.version import Version
from resolvelib.structs import RequirementInformation

from lock_build.models import Release
from lock_build.resolution.model import Candidate, PackageSource, ResolveRequest, Wanted
from lock_build.resolution.provider import split_identifier

BUILD_SUFFIX = " (build)"
_MAX_VERSIONS_SHOWN = 8


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
    text = f"the versions that exist for this target are {_listed(live, None)}{asked}"
    skipped = [r for r in live if (name, r.version) in rejected]
    if skipped:
        reasons = _listed(skipped, lambda r: rejected[(name, r.version)])
        text += f"; why each was rejected: {reasons}"
    if yanked:
        text += f"; yanked, so not considered without an exact pin: {_listed(yanked, _yank_reason)}"
    return text


def _listed(releases: Sequence[Release], why: Callable[[Release], str] | None) -> str:
    """'2.0, 1.0 and 3 more', each followed by ``why`` in brackets if given."""
    shown = releases[:_MAX_VERSIONS_SHOWN]
    items = [str(r.version) if why is None else f"{r.version} ({why(r)})" for r in shown]
    hidden = len(releases) - len(shown)
    return ", ".join(items) + (f" and {hidden} more" if hidden else "")


def _yank_reason(release: Release) -> str:
    reason = release.artifact.yanked
    return f"reason: {reason}" if reason else "no reason given"
