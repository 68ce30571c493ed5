"""The resolver's view of a real index: releases from the finder, metadata however it must."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from packaging.requirements import Requirement
from packaging.utils import NormalizedName
from packaging.version import Version

from lock_build.errors import InputError
from lock_build.index.finder import PackageFinder
from lock_build.index.http import redact
from lock_build.index.prefetch import Prefetcher
from lock_build.locking.direct import DirectSources
from lock_build.models import Artifact, CoreMetadata, Release
from lock_build.resolution.model import DirectReference
from lock_build.target import Target

# Computes an sdist's metadata through its backend (the compile loop supplies it).
BuildMetadata = Callable[[Release], CoreMetadata]


_REJECTED_SHOWN = 4  # files listed when none of a project's files fits


class IndexSource:
    """Implements :class:`~lock_build.resolution.model.PackageSource`.

    Metadata comes from the index (PEP 658 file, a range request, the wheel, a static
    PKG-INFO) and, only when none of those can tell, from the backend's
    ``prepare_metadata_for_build_wheel``. ``overrides`` hold metadata recomputed in an
    sdist's *locked* build environment, which wins: that is the fixed point of the
    compile loop (old setup.py files write the build numpy into their requirements).
    """

    def __init__(
        self,
        finder: PackageFinder,
        build_metadata: BuildMetadata,
        direct: DirectSources | None = None,
        prefetch: bool = True,
        target: Target | None = None,
    ) -> None:
        self.target = target
        self.finder = finder
        self.build_metadata = build_metadata
        self.direct = direct
        self.prefetch = prefetch
        self.overrides: dict[tuple[NormalizedName, Version], CoreMetadata] = {}
        self.built: set[tuple[NormalizedName, Version]] = set()  # metadata that needed a hook
        self._lock = threading.Lock()
        # Pages and metadata of what the resolver will ask for next, fetched ahead of it.
        self._prefetcher = Prefetcher(finder, target) if prefetch and target else None

    def close(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.close()

    def expect(self, requirements: Iterable[Requirement]) -> None:
        """Requirements the resolver is about to ask for: start fetching them now."""
        if self._prefetcher is not None:
            self._prefetcher.want(requirements)

    def releases(self, name: NormalizedName) -> Sequence[Release]:
        if self._prefetcher is not None:
            self._prefetcher.want((Requirement(name),))
        return self.finder.releases(name)

    def metadata(self, release: Release) -> CoreMetadata:
        key = (release.name, release.version)
        override = self.overrides.get(key)
        if override is not None:
            return override
        metadata = self.finder.metadata(release)
        if metadata is None:
            with self._lock:
                self.built.add(key)
            metadata = self.build_metadata(release)
        if self._prefetcher is not None:
            self._prefetcher.want_dependencies(metadata)
        return metadata

    def direct_release(
        self, name: NormalizedName, direct: DirectReference
    ) -> tuple[Release, CoreMetadata]:
        if self.direct is None:
            raise InputError(
                f"{name} @ {redact(direct.url)}: direct references are not supported here."
            )
        release, metadata = self.direct.release(name, direct)
        self.overrides.setdefault((release.name, release.version), metadata)
        return release, metadata

    def why_unusable(self, name: NormalizedName) -> str | None:
        """Why a name has no usable release: no index has such a project, or it has files
        and each was rejected for this target (the newest few, each with its reason)."""
        try:
            listed = self.finder.listed_files(name)
        except Exception:  # noqa: BLE001 - explanations must not raise
            return None
        if listed is None:
            return f"no index has a project named {name}"
        files = listed or self.finder.artifacts(name)
        if not files:
            return f"the project {name} exists but lists no file"
        newest = sorted(files, key=lambda f: (f.version, f.filename), reverse=True)
        shown = [f"{f.filename} ({self._rejection(f)})" for f in newest[:_REJECTED_SHOWN]]
        more = f"; {len(files) - len(shown)} older file(s)" if len(files) > len(shown) else ""
        where = f" for {self.target.describe()}" if self.target is not None else ""
        return (
            f"the project {name} exists but has no file usable{where}; the newest: "
            + "; ".join(shown)
            + more
        )

    def _rejection(self, file: Artifact) -> str:
        """Why one file cannot be used here (the first reason that applies)."""
        binary, target = self.finder.settings.binary, self.target
        if file.yanked is not None:
            return "yanked" + (f": {file.yanked}" if file.yanked else "")
        if not file.is_wheel and not binary.allows_sdist(file.name):
            return "an sdist, excluded by --only-binary"
        if file.is_wheel and not binary.allows_wheel(file.name):
            return "a wheel, excluded by --no-binary"
        if target is not None and file.requires_python is not None:
            if not file.requires_python.contains(target.python_full_version, prereleases=True):
                return f"requires Python {file.requires_python}"
        if target is not None and file.is_wheel:
            if all(target.tag_priority(t) is None for t in file.tags):
                return f"its tags {', '.join(sorted(str(t) for t in file.tags)[:3])} do not fit"
        if file.version.is_prerelease:
            return "a pre-release (--pre allows them)"
        return "excluded by the version or binary policy"

    def describe_locations(self) -> str:
        settings = self.finder.settings
        places = [*settings.index_urls, *settings.find_links]
        return ", ".join(redact(p) for p in places) or "no index (--no-index and no --find-links)"
