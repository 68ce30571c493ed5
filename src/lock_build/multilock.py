"""One lock for several targets: merging per-target locks, and the lock as one target sees it.

Compile locks each target on its own (its markers, its tags) and merges the results:
a (name, version) that several targets use is one ``[[package]]`` entry listing them
(``targets`` empty: every target) and saying where it is a runtime pin (``runtime``:
true on every target that uses it, false on none, else the ids of those it is one on:
a version can be a runtime pin on 3.11 and only a build pin on 3.12). A build
environment is one ``[[build]]`` entry for the targets that build that sdist
identically (``targets`` empty: every target). Every consumer works on
:func:`lock_for_target`, a plain one-target lock, so sync, plan, export and graph need
no notion of several targets beyond choosing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from packaging.utils import NormalizedName
from packaging.version import Version

from lock_build.errors import LockfileError, TargetError
from lock_build.lockfile import BuildEnvironment, Lock, LockedFile, LockedPackage
from lock_build.reporting import NULL_REPORTER, Reporter
from lock_build.target import Target, select_interpreter, target_for_interpreter
from lock_build.targets import Selection, TargetInfo, normalize_platform, select_target


def target_infos(lock: Lock) -> tuple[TargetInfo, ...]:
    """What selection needs to know of each ``[[target]]`` of ``lock``."""
    infos = []
    for target in lock.targets:
        try:
            platform = normalize_platform(target.platform) if target.platform else "any"
        except TargetError:
            platform = target.platform  # a tag we do not know still matches itself
        infos.append(
            TargetInfo(
                id=target.id,
                implementation=target.implementation or "cpython",
                python_version=target.python_version,
                platform=platform,
            )
        )
    return tuple(infos)


def choose_target(lock: Lock, machine: Target | None, wanted: str | None) -> Selection:
    """The target of ``lock`` a consumer acting on ``machine`` (or naming ``wanted``) uses."""
    return select_target(target_infos(lock), machine, wanted)


def lock_for_target(lock: Lock, target_id: str) -> Lock:
    """``lock`` as the target ``target_id`` sees it: a one-target lock of its entries."""
    target = next((t for t in lock.targets if t.id == target_id), None)
    if target is None:
        known = ", ".join(t.id for t in lock.targets)
        raise LockfileError(f"The lock has no target {target_id!r} (it has {known}).")
    packages = tuple(
        replace(p, targets=(), runtime=p.runtime_on(target_id))
        for p in lock.packages
        if p.used_on(target_id)
    )
    # A validated lock has one build environment per (sdist, target).
    builds = tuple(replace(b, targets=()) for b in lock.builds if b.used_on(target_id))
    return replace(lock, targets=(target,), packages=packages, builds=builds)


class DropTargetError(TargetError):
    """``--drop-target`` names no target of the lock, or every one of them."""

    def __init__(self, dropped: tuple[str, ...], targets: tuple[str, ...]) -> None:
        unknown = tuple(ident for ident in dropped if ident not in targets)
        if unknown:
            message = (
                f"The lock has no target {', '.join(unknown)} to drop; "
                f"its targets are: {', '.join(targets)}."
            )
            hint = "Name a target by its [[target]] id."
        else:
            message = f"Dropping {', '.join(dropped)} would leave the lock without a target."
            hint = "Add the target you want first (--target SPEC), then drop the others."
        super().__init__(message, hint=hint)
        self.dropped = dropped
        self.targets = targets


def without_targets(lock: Lock, dropped: Sequence[str]) -> Lock:
    """``lock`` with the targets ``dropped`` taken out and the others as they were:
    entries only they used go, and the rest list the remaining targets."""
    ids = tuple(t.id for t in lock.targets)
    kept = [ident for ident in ids if ident not in dropped]
    if any(ident not in ids for ident in dropped) or not kept:
        raise DropTargetError(tuple(dropped), ids)
    return merge_locks([lock_for_target(lock, ident) for ident in kept], first=lock)


def merge_locks(parts: Sequence[Lock], *, first: Lock) -> Lock:
    """One lock of one-target ``parts``; inputs, command and options are ``first``'s.

    A package entry lists the targets that use it unless every target does, and the
    targets it is a runtime pin on unless that is all of them or none; a build
    environment is stored once for the targets that have it identically.
    """
    ordered = sorted(parts, key=lambda part: part.targets[0].id)
    ids = tuple(part.targets[0].id for part in ordered)
    if len(set(ids)) != len(ids):
        raise ValueError(f"merge_locks got the same target twice: {ids}")
    if len(ordered) == 1:
        (only,) = ordered
        return replace(first, targets=only.targets, packages=only.packages, builds=only.builds)

    users: dict[tuple[NormalizedName, Version], list[tuple[str, LockedPackage]]] = {}
    for ident, part in zip(ids, ordered, strict=True):
        for pkg in part.packages:
            users.setdefault((pkg.name, pkg.version), []).append((ident, pkg))
    packages = tuple(_merged_package(entries, ids) for entries in users.values())

    builds: dict[tuple[NormalizedName, Version], list[tuple[str, BuildEnvironment]]] = {}
    for ident, part in zip(ids, ordered, strict=True):
        for build in part.builds:
            builds.setdefault((build.package, build.version), []).append((ident, build))
    merged_builds: list[BuildEnvironment] = []
    for entries in builds.values():
        alike: dict[BuildEnvironment, list[str]] = {}
        for ident, build in entries:
            alike.setdefault(replace(build, targets=()), []).append(ident)
        for build, sharing in alike.items():
            every = len(sharing) == len(ids)
            merged_builds.append(replace(build, targets=() if every else tuple(sorted(sharing))))
    return replace(
        first,
        targets=tuple(part.targets[0] for part in ordered),
        packages=packages,
        builds=tuple(sorted(merged_builds, key=BuildEnvironment.order)),
    )


def _merged_package(
    entries: list[tuple[str, LockedPackage]], ids: tuple[str, ...]
) -> LockedPackage:
    first = entries[0][1]
    users = tuple(sorted({ident for ident, _ in entries}))
    runtime_on = tuple(sorted({ident for ident, pkg in entries if pkg.runtime}))
    # True and False where every user agrees, so a lock whose targets all use a version
    # alike reads as a one-target lock does.
    runtime: bool | tuple[str, ...] = (
        runtime_on if 0 < len(runtime_on) < len(users) else bool(runtime_on)
    )
    wheels: dict[str, LockedFile] = {}
    for _, pkg in entries:
        for wheel in pkg.wheels:
            wheels.setdefault(wheel.filename, wheel)
    return replace(
        first,
        runtime=runtime,
        wheels=tuple(sorted(wheels.values(), key=lambda w: w.filename)),
        sdist=next((pkg.sdist for _, pkg in entries if pkg.sdist is not None), None),
        dependencies=tuple(sorted({d for _, pkg in entries for d in pkg.dependencies})),
        via=tuple(sorted({v for _, pkg in entries for v in pkg.via})),
        targets=() if len(users) == len(ids) else users,
    )


def agreed_pins(
    parts: Sequence[Lock],
) -> tuple[dict[NormalizedName, Version], dict[NormalizedName, dict[NormalizedName, Version]]]:
    """The runtime and build pins earlier targets chose, first choice first."""
    runtime: dict[NormalizedName, Version] = {}
    builds: dict[NormalizedName, dict[NormalizedName, Version]] = {}
    for part in parts:
        for pkg in part.runtime_packages():
            runtime.setdefault(pkg.name, pkg.version)
        for build in part.builds:
            pins = builds.setdefault(build.package, {})
            for name, version in build.pin_versions().items():
                pins.setdefault(name, version)
    return runtime, builds


def lock_for_consumer(
    lock: Lock, machine: Target | None, wanted: str | None, reporter: Reporter = NULL_REPORTER
) -> Lock:
    """The one-target lock a consumer acting on ``machine`` uses (``wanted``: by id).

    Says which target was taken when the machine fits several.
    """
    selection = choose_target(lock, machine, wanted)
    note = selection.note()
    if note is not None:
        reporter.info(note)
    return lock_for_target(lock, selection.chosen.id)


def consumer_machine(lock: Lock, python: str | None, wanted: str | None) -> Target | None:
    """The interpreter whose fit decides the target: ``--python``, else (for a lock with
    several targets and no ``--target``) the one sync would act on."""
    if python is None and (wanted is not None or len(lock.targets) <= 1):
        return None
    return target_for_interpreter(select_interpreter(python))


__all__ = [
    "DropTargetError",
    "agreed_pins",
    "choose_target",
    "consumer_machine",
    "lock_for_consumer",
    "lock_for_target",
    "merge_locks",
    "target_infos",
    "without_targets",
]
