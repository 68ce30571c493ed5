"""Breadth-first prefetch of index pages and metadata, ahead of the resolver.

resolvelib asks for one project at a time, and each answer is a page fetch and a
metadata read: a resolution is a walk of many small, latency-bound requests. The
prefetcher walks the graph the resolver is most likely to walk, as soon as a
requirement is seen: the project's page, then the metadata of its best candidate,
then the same for each of that candidate's dependencies, on a bounded pool of
threads that share the finder's connection pools. A resolver that walks a project's
versions downwards (backtracking) finds the metadata of the next older ones read.

It only warms the finder's memo (every lookup there is computed once, whoever asks
first). The resolver still asks for everything itself and sees every error itself,
so a lock is byte for byte the same with prefetch on or off; ``LOCK_BUILD_NO_PREFETCH=1``
turns it off to compare.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from lock_build.index.early import SWITCH, prefetch_enabled
from lock_build.index.finder import PackageFinder
from lock_build.models import CoreMetadata, Release
from lock_build.target import Target

# About as many requests in flight as the HTTP client keeps connections per host.
WORKERS = 16
# Metadata read ahead of a resolver walking a project's versions downwards.
WALK_AHEAD = 8


def best_candidate(releases: Iterable[Release], specifier: SpecifierSet) -> Release | None:
    """The release the resolver most likely takes: the newest non-yanked final one inside
    ``specifier`` (pre-releases only when nothing else matches, as the provider does)."""
    inside = [r for r in releases if not r.yanked and specifier.contains(r.version, True)]
    finals = [r for r in inside if not r.version.is_prerelease]
    chosen = finals or inside
    return chosen[0] if chosen else None


class DownwardWalks:
    """Notices the resolver walking a project's versions downwards, as it does when it
    backtracks: told of each version it asks about, answers the next older releases
    worth starting on (``ahead`` of them; thread-safe)."""

    def __init__(self, ahead: int) -> None:
        self.ahead = ahead
        self._asked: dict[NormalizedName, Version] = {}  # the newest version asked so far
        self._lock = threading.Lock()

    def next_after(self, release: Release, releases: Sequence[Release]) -> list[Release]:
        """After a newer version of the same project was asked about, the ``ahead``
        releases below ``release`` in ``releases`` (newest first, as the finder gives
        them; pre-releases only after one)."""
        with self._lock:
            newest = self._asked.get(release.name)
            if newest is None or release.version > newest:
                self._asked[release.name] = release.version
            if newest is None or newest <= release.version:
                return []
        # ``releases`` is newest first: the older ones start where ``version <`` turns true
        # (found by bisection: a long walk down thousands of versions asks at every step).
        start = bisect.bisect_left(releases, True, key=lambda r: r.version < release.version)
        pre = release.version.is_prerelease
        usable = (
            r for r in releases[start:] if not r.yanked and (pre or not r.version.is_prerelease)
        )
        return list(itertools.islice(usable, self.ahead))


class Prefetcher:
    """Warms ``finder`` for requirements before the resolver asks (thread-safe)."""

    def __init__(
        self,
        finder: PackageFinder,
        target: Target,
        *,
        workers: int = WORKERS,
        needs_backend: Callable[[Release], None] | None = None,
    ) -> None:
        self.finder = finder
        self.target = target
        # Told of each likely candidate whose metadata only its backend can tell.
        self.needs_backend = needs_backend
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="lock-build-prefetch")
        self._lock = threading.Condition()
        self._running = 0  # walks submitted and not finished
        self._seen: set[tuple[NormalizedName, frozenset[NormalizedName]]] = set()
        self._closed = False
        self._walks = DownwardWalks(WALK_AHEAD)

    def want(self, requirements: Iterable[Requirement]) -> None:
        """Start on every requirement (name and extras) not seen before, in order.

        The resolver calls this for every name it looks at, mostly seen ones: those are
        answered without the lock (``_seen`` only grows), and a new walk is submitted
        after the lock is released, so the resolver never waits on a worker that holds
        it while the pool starts a thread.
        """
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            extras = frozenset(canonicalize_name(e) for e in requirement.extras)
            if (name, extras) in self._seen:
                continue
            with self._lock:
                if self._closed or (name, extras) in self._seen:
                    continue
                self._seen.add((name, extras))
                self._running += 1
            try:
                self._pool.submit(self._walk, name, extras, requirement.specifier)
            except RuntimeError:  # closed meanwhile: the pool takes nothing new
                self._done()

    def _done(self) -> None:
        with self._lock:
            self._running -= 1
            self._lock.notify_all()

    def want_dependencies(
        self, metadata: CoreMetadata, extras: frozenset[NormalizedName] = frozenset()
    ) -> None:
        """Start on the dependencies of ``metadata`` that apply to the target."""
        self.want(r for r in metadata.requires_dist if self.target.evaluate(r.marker, extras))

    def asked_metadata(self, release: Release) -> None:
        """The resolver asks for ``release``'s metadata. Walking a project's versions
        downwards (one latency-bound read each), it will ask for the older ones next:
        their reads start now."""
        following = self._walks.next_after(release, self.finder.releases(release.name))
        if following:
            self.finder.prefetch_metadata(following)

    def wait(self) -> None:
        """Block until the walk has nothing left to do (each step starts the next)."""
        with self._lock:
            self._lock.wait_for(lambda: self._running == 0)

    def close(self) -> None:
        """Drop what has not started; what runs finishes (the finder is still open)."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _walk(
        self, name: NormalizedName, extras: frozenset[NormalizedName], specifier: SpecifierSet
    ) -> None:
        try:
            self._step(name, extras, specifier)
        finally:
            self._done()

    def _step(
        self, name: NormalizedName, extras: frozenset[NormalizedName], specifier: SpecifierSet
    ) -> None:
        try:
            best = best_candidate(self.finder.releases(name), specifier)
            metadata = None if best is None else self.finder.metadata(best)
        except Exception:  # noqa: BLE001 - the resolver asks again and sees the error
            return
        if metadata is not None:
            self.want_dependencies(metadata, extras)
        elif best is not None and self.needs_backend is not None:
            self.needs_backend(best)  # the resolver will ask the backend: it may start early


__all__ = [
    "DownwardWalks",
    "Prefetcher",
    "SWITCH",
    "WALK_AHEAD",
    "WORKERS",
    "best_candidate",
    "prefetch_enabled",
]
