"""``compile --check``: is the lock still what its inputs ask for? Offline, no resolution."""

from __future__ import annotations

from packaging.utils import canonicalize_name

from lock_build.inputs import InputSet
from lock_build.lockfile import LOCK_VERSION, Lock

__all__ = ["stale_reasons"]


def stale_reasons(lock: Lock, inputs: InputSet) -> list[str]:
    """Why ``lock`` no longer fits ``inputs``; empty when it does.

    The digest of the normalized inputs decides; the reasons name what a person
    should look at (a requirement added, removed or changed; a pin that no longer
    satisfies one). A lock in an older format is stale whatever its inputs say: the
    next compile rewrites it.
    """
    if lock.lock_version < LOCK_VERSION:
        return [
            f"the lock is in lock format {lock.lock_version}; compile rewrites it as "
            f"format {LOCK_VERSION} (every file of each version, with its hash)"
        ]
    if lock.inputs_digest == inputs.digest():
        return []
    markers = dict(lock.target.get("markers", {}))
    runtime = {p.name: p for p in lock.runtime_packages()}
    reasons = []
    wanted_names = set()
    for item in (*inputs.requirements, *inputs.constraints):
        requirement = item.requirement
        if (
            requirement.marker is not None
            and markers
            and not requirement.marker.evaluate({**markers, "extra": ""})
        ):
            continue
        name = canonicalize_name(requirement.name)
        is_constraint = item in inputs.constraints
        if not is_constraint:
            wanted_names.add(name)
        pinned = runtime.get(name)
        if pinned is None:
            if not is_constraint:
                reasons.append(f"{requirement} ({item.source}) was added and is not in the lock")
            continue
        if requirement.specifier and not requirement.specifier.contains(
            pinned.version, prereleases=True
        ):
            reasons.append(
                f"the lock pins {name}=={pinned.version}, which no longer satisfies "
                f"{requirement} ({item.source})"
            )
    input_sources = {item.source for item in inputs.requirements}
    for package in runtime.values():
        top_level = any(
            reason.startswith(("-r ", "pyproject.toml")) or reason in input_sources
            for reason in package.via
        )
        if top_level and package.name not in wanted_names:
            # Still locked for another reason (a dependency of something kept) is fine.
            others = [v for v in package.via if not v.startswith(("-r ", "pyproject.toml"))]
            if not others:
                reasons.append(f"{package.name} was removed from the inputs but is still locked")
    if not reasons:
        reasons.append(
            "the inputs changed (a requirement, constraint or index option) "
            "since the lock was written"
        )
    return reasons
