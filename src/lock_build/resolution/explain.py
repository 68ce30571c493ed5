"""Turn resolvelib's conflict causes into sentences a person can follow."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from packaging.utils import NormalizedName

from lock_build.resolution.model import Candidate, PackageSource, ResolveRequest, Wanted
from lock_build.resolution.provider import split_identifier

BUILD_SUFFIX = " (build)"
_MAX_VERSIONS_LISTED = 4  # more than this reads better as a range


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
    causes: Sequence[object], source: PackageSource, request: ResolveRequest
) -> str:
    by_name: dict[NormalizedName, list[str]] = defaultdict(list)
    for cause in causes:
        wanted: Wanted = cause.requirement  # type: ignore[attr-defined]
        parent: Candidate | None = cause.parent  # type: ignore[attr-defined]
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
            text += "; " + _available(name, source, request)
        parts.append(text)
    constraints = [str(c.requirement) for c in request.constraints]
    note = f" (constraints in force: {', '.join(sorted(constraints))})" if constraints else ""
    return f"Cannot resolve{where}: " + ". ".join(parts) + "." + note


def _available(name: NormalizedName, source: PackageSource, request: ResolveRequest) -> str:
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
    versions = sorted({r.version for r in releases if not r.yanked})
    return f"the versions that exist for this target are {_span(versions)}{asked}"


def _span(versions: Sequence[object]) -> str:
    """A few versions listed newest first; more collapsed into a range:
    ``1.0 to 2.3 (12 versions)``. ``versions`` is sorted, oldest first."""
    if len(versions) <= _MAX_VERSIONS_LISTED:
        return ", ".join(str(v) for v in reversed(versions)) or "none"
    return f"{versions[0]} to {versions[-1]} ({len(versions)} versions)"
