"""Yanked releases in a lock (PEP 592): an exact pin may use one, and every consumer of
the lock says so, as compile did when it chose it."""

from __future__ import annotations

from collections.abc import Iterable

from lock_build.lockfile import LockedPackage

__all__ = ["yanked_notes"]


def yanked_notes(packages: Iterable[LockedPackage]) -> tuple[str, ...]:
    """One warning per locked release whose every file the index had yanked, with the
    reason the index gave; sorted, so output is stable."""
    notes = []
    for package in sorted(packages, key=lambda p: (p.name, p.version)):
        files = (*package.wheels, *((package.sdist,) if package.sdist is not None else ()))
        reasons = [f.yanked for f in files if f.yanked is not None]
        if not files or len(reasons) != len(files):
            continue
        reason = next((r for r in reasons if r), "")
        why = f"reason: {reason}" if reason else "no reason given"
        notes.append(f"{package.name} {package.version} is yanked ({why}); the lock pins it")
    return tuple(notes)
