"""What a compile changed, one line each, as uv prints it: ``Updated django 4.2.30 -> 5.2.19``.

Pure: the previous lock (or the pins of a ``--previous`` file) and the new lock in, lines
out. When the options that select what is locked differ from those the previous lock
recorded (extras, groups, indexes, target), a line saying so comes before the removals,
so a lock that shrank says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packaging.utils import NormalizedName
from packaging.version import Version

from lock_build.lockfile import Lock

__all__ = ["ChangeSummary", "option_words", "summarize"]

# Recorded options that choose *what* is locked, and how each reads as a flag.
_DRIFT_KEYS = ("all-extras", "extras", "groups", "index-urls", "find-links")
_TARGET_KEYS = ("python-version", "platform")


@dataclass(frozen=True, kw_only=True, slots=True)
class ChangeSummary:
    drift: tuple[str, ...]  # options that differ from the recorded ones
    runtime: tuple[str, ...]  # Updated / Added / Removed, sorted by name
    build: tuple[str, ...]  # Build <sdist>: <pin> a -> b

    def lines(self) -> tuple[str, ...]:
        """Drift first: it explains the removals that follow."""
        return (*self.drift, *self.runtime, *self.build)


def summarize(
    previous: Lock | None,
    new: Lock,
    *,
    previous_pins: Sequence[tuple[NormalizedName, Version]] | None = None,
) -> ChangeSummary:
    """Compare ``new`` with ``previous`` (its runtime pins replaced by ``previous_pins``
    when those came from another file)."""
    if previous is None and previous_pins is None:
        return ChangeSummary(drift=(), runtime=(), build=())
    old_runtime = dict(previous_pins) if previous_pins is not None else {}
    if previous_pins is None and previous is not None:
        old_runtime = {p.name: p.version for p in previous.runtime_packages()}
    new_runtime = {p.name: p.version for p in new.runtime_packages()}
    drift = _drift(previous, new) if previous is not None else ()
    return ChangeSummary(
        drift=drift,
        runtime=_pin_changes(old_runtime, new_runtime, prefix=""),
        build=_build_changes(previous, new) if previous is not None else (),
    )


def _pin_changes(
    old: Mapping[NormalizedName, Version], new: Mapping[NormalizedName, Version], *, prefix: str
) -> tuple[str, ...]:
    lines = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before is None:
            lines.append(f"{prefix}Added {name} {after}")
        elif after is None:
            lines.append(f"{prefix}Removed {name} {before}")
        elif before != after:
            lines.append(f"{prefix}Updated {name} {before} -> {after}")
    # Updates and additions first, removals last: the drift line explains the latter.
    return tuple(sorted(lines, key=lambda line: line.startswith(f"{prefix}Removed")))


def _build_changes(previous: Lock, new: Lock) -> tuple[str, ...]:
    old = {b.package: b for b in previous.builds}
    lines = []
    for build in sorted(new.builds, key=lambda b: b.package):
        before = old.get(build.package)
        if before is None:
            continue  # a new sdist: its own line says "Added"; its pins are all new
        was, now = before.pin_versions(), build.pin_versions()
        for name in sorted(set(was) | set(now)):
            if was.get(name) != now.get(name):
                a = was.get(name, "(none)")
                b = now.get(name, "(none)")
                lines.append(f"Build {build.package}: {name} {a} -> {b}")
    return tuple(lines)


def option_words(options: Mapping[str, object], target: Mapping[str, object]) -> list[str]:
    """The recorded selection as the flags that made it: ``--all-extras --group dev``."""
    words: list[str] = []
    if options.get("all-extras"):
        words.append("--all-extras")
    words += [f"--extra {e}" for e in _strings(options.get("extras"))]
    words += [f"--group {g}" for g in _strings(options.get("groups"))]
    urls = _strings(options.get("index-urls"))
    words += [f"--index-url {u}" for u in urls[:1]]
    words += [f"--extra-index-url {u}" for u in urls[1:]]
    words += [f"--find-links {link}" for link in _strings(options.get("find-links"))]
    for key in _TARGET_KEYS:
        if target.get(key) is not None:
            words.append(f"--{key} {target[key]}")
    return words


def _drift(previous: Lock, new: Lock) -> tuple[str, ...]:
    def selection(lock: Lock) -> dict[str, object]:
        return {k: lock.options.get(k) for k in _DRIFT_KEYS}

    def target(lock: Lock) -> dict[str, object]:
        shown = lock.target if isinstance(lock.target, Mapping) else {}
        return {k: shown.get(k) for k in _TARGET_KEYS}

    old = option_words(selection(previous), target(previous))
    now = option_words(selection(new), target(new))
    if old == now:
        return ()
    gone = [w for w in old if w not in now]
    added = [w for w in now if w not in old]
    if not gone:
        return (f"This run adds {' '.join(added)} to the options the lock was made with.",)
    if added:
        has = "has " + " ".join(added)
    else:
        has = {1: "does not"}.get(len(gone), "has neither" if len(gone) == 2 else "has none")
    return (f"The lock was made with {' '.join(gone)}; this run {has}.",)


def _strings(value: object) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []
