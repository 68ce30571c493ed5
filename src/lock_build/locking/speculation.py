"""Build hooks started before the compile loop asks for them, up to ``-j`` at once.

The resolver meets sdists one at a time, and an sdist whose metadata only its backend
can tell costs two hook runs (``get_requires_for_build_wheel``, then
``prepare_metadata_for_build_wheel``, each a Python process importing its backend), one
after the other, while the resolver waits. As soon as the prefetcher sees that the likely
candidate of a requirement is such an sdist, the speculator locks that sdist's build
environment as the compile loop would (the same build options and hints, through the
index alone) and runs both hooks on its own threads. Their results land in the
workshop's hook cache, keyed by the sdist and the exact environment; the loop finds them
there, or waits for the run in flight instead of starting another.

The same holds when the resolver walks a project's versions downwards (backtracking
through old sdists, each needing both hooks): once the loop has asked the backend of an
older version after a newer one, the next older versions that need their backend are
started too, up to ``-j`` ahead of the loop.

A build environment's own pages are fetched ahead too: as soon as the first sdist is
seen, those of pip's default build requirements for an sdist without ``[build-system]``
(setuptools: what most sdists that need their backend build with), while that sdist is
still being downloaded; and each sdist's declared build requirements the moment its
``pyproject.toml`` is read, all at once, instead of one by one as its environment's
resolution asks for them.

Decisions stay with the loop. A wrong guess (the resolver chose another version, or the
loop's environment differs) costs CPU, never a different lock: ``-j 1`` (no speculation)
and ``-j 4`` give the same lock byte for byte.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from packaging.requirements import Requirement
from packaging.utils import NormalizedName
from packaging.version import Version

from lock_build.building.build_system import LEGACY_REQUIRES
from lock_build.errors import LockBuildError
from lock_build.index.finder import PackageFinder
from lock_build.index.prefetch import DownwardWalks, Prefetcher
from lock_build.locking.builds import BuildInspector, BuildLocker, BuildOptions
from lock_build.models import ArtifactKind, CoreMetadata, Release
from lock_build.reporting import NULL_REPORTER, Reporter
from lock_build.resolution.model import DirectReference
from lock_build.target import Target

_PAGE_WORKERS = 4


class _NotSpeculated(Exception):
    """The guess would need another backend's metadata or a direct reference: give up."""


class _IndexOnly:
    """A package source that answers from the index alone (no hook, no direct URL)."""

    def __init__(self, finder: PackageFinder) -> None:
        self.finder = finder

    def releases(self, name: NormalizedName) -> Sequence[Release]:
        return self.finder.releases(name)

    def metadata(self, release: Release) -> CoreMetadata:
        metadata = self.finder.metadata(release)
        if metadata is None:
            raise _NotSpeculated(f"{release.name} {release.version} needs its backend")
        return metadata

    def direct_release(
        self, name: NormalizedName, direct: DirectReference
    ) -> tuple[Release, CoreMetadata]:
        raise _NotSpeculated(f"{name} is a direct reference")

    def why_unusable(self, name: NormalizedName) -> str | None:
        return None  # a guess that fails is dropped: nothing to explain

    def describe_locations(self) -> str:
        return ""


class HookSpeculator:
    """Runs the metadata hooks of likely sdists ahead of the resolver (thread-safe)."""

    def __init__(
        self,
        *,
        finder: PackageFinder,
        inspector: BuildInspector,
        target: Target,
        options: BuildOptions,
        hints: dict[NormalizedName, Version],
        jobs: int,
        reporter: Reporter = NULL_REPORTER,
    ) -> None:
        self.inspector = inspector
        self.target = target
        self.options = options
        self.hints = hints
        self.reporter = reporter
        self._source = _IndexOnly(finder)
        self._pool = ThreadPoolExecutor(jobs, thread_name_prefix="lock-build-hooks")
        # Pages (and best candidates' metadata) of build requirements, ahead of the
        # environments' resolutions; a few threads: there are few such pages.
        self._pages = Prefetcher(finder, target, workers=_PAGE_WORKERS)
        self._seen: set[tuple[NormalizedName, Version]] = set()
        self._walks = DownwardWalks(ahead=jobs)  # versions whose backend the loop asked
        self._lock = threading.Lock()
        self._closed = False

    def needs_backend(self, release: Release) -> None:
        """The prefetcher's news: ``release`` is likely, and only its backend can describe it."""
        self._submit(release)

    def backend_asked(self, release: Release) -> None:
        """The loop's news: it asks ``release``'s backend itself. After a newer version of
        the same project, that is a walk down the versions: start the next ones."""
        try:
            following = self._walks.next_after(release, self._source.releases(release.name))
        except LockBuildError:
            return
        for candidate in following:
            if candidate.wheel is None:
                self._submit(candidate, only_without_metadata=True)

    def _submit(self, release: Release, *, only_without_metadata: bool = False) -> None:
        if self.target.interpreter is None or release.artifact.kind is ArtifactKind.DIRECTORY:
            return  # no hook can run for a foreign target; working trees are never cached
        with self._lock:
            key = (release.name, release.version)
            if self._closed or key in self._seen:
                return
            first = not self._seen
            self._seen.add(key)
            self._pool.submit(self._warm, release, only_without_metadata)
        if first:
            self._pages.want(Requirement(r) for r in LEGACY_REQUIRES)

    def close(self) -> None:
        """Drop the guesses not started; wait for the hooks running (their files go next)."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pages.close()

    def _warm(self, release: Release, only_without_metadata: bool = False) -> None:
        try:
            if only_without_metadata and self._source.finder.metadata(release) is not None:
                return  # the index describes it: no hook to run
        except LockBuildError:
            return
        locker = BuildLocker(
            source=self._source,
            target=self.target,
            inspector=self.inspector,
            options=self.options,
            runtime=None,
            hints=self.hints,
        )
        try:
            declared = self.inspector.build_system(release).requires
            self._pages.want((*declared, *self.options.extra_requires.get(release.name, ())))
            locked = locker.lock(release)
            self.inspector.metadata(release, locked.environment, dict(locked.config_settings))
        except (_NotSpeculated, LockBuildError) as exc:
            # The loop meets the same case itself, and reports it if it matters.
            self.reporter.debug(f"No early hooks for {release.name} {release.version}: {exc}")


__all__ = ["HookSpeculator"]
