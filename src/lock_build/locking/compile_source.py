"""The resolver's source during ``compile``: the index first, an sdist's backend where it must.

Most metadata comes from the index. An sdist whose metadata the index cannot tell (no
PEP 658 file, dynamic fields in PKG-INFO, a local directory, a VCS tree) gets it from
its backend's ``prepare_metadata_for_build_wheel``, run in a locked build environment:

- until the runtime tree is known, a *provisional* one, locked from the declared build
  requirements through this same source (an sdist's build environment may hold another
  sdist: the recursion is the domain's, and it stays inside this class);
- once a compile round has locked the final environments and recomputed metadata in them,
  the compiler hands both over with :meth:`CompileSource.use_round`; they win from then on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

from packaging.requirements import Requirement
from packaging.utils import NormalizedName
from packaging.version import Version

from lock_build.errors import ForeignBuildError, InputError
from lock_build.index.http import redact
from lock_build.locking.builds import BuildInspector, BuildLocker, BuildOptions, LockedBuild
from lock_build.locking.direct import DirectRelease, DirectSources, VcsCheckout
from lock_build.locking.source import IndexSource
from lock_build.models import CoreMetadata, Release
from lock_build.reporting import NULL_REPORTER, Reporter
from lock_build.resolution.model import DirectReference
from lock_build.target import Target
from lock_build.targets import id_of

ReleaseKey = tuple[NormalizedName, Version]


class CompileSource:
    """Implements :class:`~lock_build.resolution.model.PackageSource` for ``compile``."""

    def __init__(
        self,
        *,
        index: IndexSource,
        direct: DirectSources,
        inspector: BuildInspector,
        target: Target,
        options: BuildOptions,
        hints: Mapping[NormalizedName, Version],
        reporter: Reporter = NULL_REPORTER,
        backend_asked: Callable[[Release], None] | None = None,
    ) -> None:
        self.index = index
        # Told of each index release whose metadata this source asks its backend for.
        self._backend_asked = backend_asked
        self.direct = direct
        self.inspector = inspector
        self.target = target
        self._provisional = BuildLocker(
            source=self,
            target=target,
            inspector=inspector,
            options=options,
            runtime=None,
            hints=hints,
            reporter=reporter,
        )
        self._final: Mapping[ReleaseKey, LockedBuild] = {}
        self._recomputed: dict[ReleaseKey, CoreMetadata] = {}
        self._direct: dict[str, DirectRelease] = {}
        self._hooked: set[ReleaseKey] = set()
        self._editable: set[ReleaseKey] = set()
        self._lock = threading.RLock()

    # -- PackageSource ----------------------------------------------------------

    def releases(self, name: NormalizedName) -> Sequence[Release]:
        return self.index.releases(name)

    def metadata(self, release: Release) -> CoreMetadata:
        key = (release.name, release.version)
        known = self._recomputed.get(key)
        if known is not None:
            return known
        metadata = self.index.metadata(release)
        if metadata is None:
            with self._lock:
                self._hooked.add(key)
            if self._backend_asked is not None:
                self._backend_asked(release)
            metadata = self._hook_metadata(release)
        self.index.expect_dependencies(metadata)
        return metadata

    def direct_release(
        self, name: NormalizedName, direct: DirectReference
    ) -> tuple[Release, CoreMetadata]:
        with self._lock:
            found = self._direct.get(direct.url)
            if found is None:
                found = self.direct.locate(name, direct)
                if found.metadata is None:
                    found = found.settled(self._hook_metadata(found.release))
                self._direct[direct.url] = found
            release, metadata = found.release, found.metadata
            assert metadata is not None, "settled above"
            if metadata.name != name:
                raise InputError(
                    f"{redact(direct.url)} holds the project {metadata.name!r}, not {name!r}.",
                    hint="Fix the name in the requirement.",
                )
            key = (release.name, release.version)
            if direct.editable:
                self._editable.add(key)
            self._recomputed.setdefault(key, metadata)
            return release, metadata

    # -- what the resolver's explanations ask -----------------------------------

    def why_unusable(self, name: NormalizedName) -> str | None:
        return self.index.why_unusable(name)

    def describe_locations(self) -> str:
        return self.index.describe_locations()

    # -- the compile loop's hand-over -------------------------------------------

    def expect(self, requirements: Iterable[Requirement]) -> None:
        self.index.expect(requirements)

    def use_round(
        self, builds: Sequence[LockedBuild], metadata: Mapping[ReleaseKey, CoreMetadata]
    ) -> None:
        """A round's locked build environments, and the metadata recomputed in them."""
        with self._lock:
            self._final = {b.key: b for b in builds}
            self._recomputed.update(metadata)

    @property
    def hooked(self) -> frozenset[ReleaseKey]:
        """Versions whose metadata came from their backend (not from the index)."""
        return frozenset(self._hooked)

    @property
    def editable(self) -> frozenset[ReleaseKey]:
        """Local projects required with ``-e``."""
        return frozenset(self._editable)

    def vcs_checkouts(self) -> dict[ReleaseKey, VcsCheckout]:
        return {
            (d.release.name, d.release.version): d.vcs
            for d in self._direct.values()
            if d.vcs is not None
        }

    # -- metadata through the backend -------------------------------------------

    def _hook_metadata(self, release: Release) -> CoreMetadata:
        refuse_foreign_builds(self.target, (release,))
        key = (release.name, release.version)
        locked = self._final.get(key) or self._provisional.lock(release)
        config = dict(locked.config_settings)
        return self.inspector.metadata(release, locked.environment, config)


def refuse_foreign_builds(target: Target, sdists: Sequence[Release]) -> None:
    """Hooks run only in a local interpreter of the target: say so before the first."""
    if target.interpreter is None and sdists:
        names = tuple(sorted(f"{r.name} {r.version}" for r in sdists))
        spec = f"{target.python_version}-{target.platform}"
        raise ForeignBuildError(id_of(target), spec, names)


__all__ = ["CompileSource", "ReleaseKey", "refuse_foreign_builds"]
