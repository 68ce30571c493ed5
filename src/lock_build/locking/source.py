"""The resolver's view of a real index: releases from the finder, metadata however it must."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from packaging.utils import NormalizedName
from packaging.version import Version

from lock_build.errors import InputError
from lock_build.index.http import redact
from lock_build.locking.direct import DirectSources
from lock_build.models import CoreMetadata, Release
from lock_build.resolution.model import DirectReference

# Computes an sdist's metadata through its backend (the compile loop supplies it).
BuildMetadata = Callable[[Release], CoreMetadata]


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
        finder: object,
        build_metadata: BuildMetadata,
        direct: DirectSources | None = None,
        prefetch: bool = True,
    ) -> None:
        self.finder = finder
        self.build_metadata = build_metadata
        self.direct = direct
        self.prefetch = prefetch
        self.overrides: dict[tuple[NormalizedName, Version], CoreMetadata] = {}
        self.built: set[tuple[NormalizedName, Version]] = set()  # metadata that needed a hook
        self._lock = threading.Lock()

    def releases(self, name: NormalizedName) -> Sequence[Release]:
        releases = self.finder.releases(name)  # type: ignore[attr-defined]
        if self.prefetch and releases:
            # The resolver nearly always takes one of the newest: warm them in parallel.
            self.finder.prefetch_metadata(releases[:2])  # type: ignore[attr-defined]
        return releases

    def metadata(self, release: Release) -> CoreMetadata:
        key = (release.name, release.version)
        override = self.overrides.get(key)
        if override is not None:
            return override
        metadata = self.finder.metadata(release)  # type: ignore[attr-defined]
        if metadata is None:
            with self._lock:
                self.built.add(key)
            metadata = self.build_metadata(release)
        return metadata

    def direct_release(self, name: NormalizedName, direct: DirectReference) -> tuple[Release, CoreMetadata]:
        if self.direct is None:
            raise InputError(f"{name} @ {redact(direct.url)}: direct references are not supported here.")
        release, metadata = self.direct.release(name, direct)
        self.overrides.setdefault((release.name, release.version), metadata)
        return release, metadata

    def describe_locations(self) -> str:
        settings = self.finder.settings  # type: ignore[attr-defined]
        places = [*settings.index_urls, *settings.find_links]
        return ", ".join(redact(p) for p in places) or "no index (--no-index and no --find-links)"
