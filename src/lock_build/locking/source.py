"""The resolver's view of a real index: releases and metadata from the finder."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from packaging.requirements import Requirement
from packaging.utils import NormalizedName

from lock_build.index.finder import PackageFinder
from lock_build.index.http import redact
from lock_build.index.prefetch import Prefetcher
from lock_build.models import Artifact, CoreMetadata, Release
from lock_build.target import Target

_REJECTED_SHOWN = 4  # files listed when none of a project's files fits


class IndexSource:
    """What the indexes say: usable releases and, where the index can tell, metadata.

    Metadata comes from a PEP 658 file, a range request, the wheel or a static PKG-INFO;
    ``None`` means only the sdist's backend can tell (see
    :class:`~lock_build.locking.compile_source.CompileSource`). Pages and metadata of
    what the resolver will ask for next are fetched ahead of it.
    """

    def __init__(
        self,
        finder: PackageFinder,
        target: Target,
        *,
        prefetch: bool = True,
        needs_backend: Callable[[Release], None] | None = None,
    ) -> None:
        self.target = target
        self.finder = finder
        self._prefetcher = (
            Prefetcher(finder, target, needs_backend=needs_backend) if prefetch else None
        )

    def close(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.close()

    def expect(self, requirements: Iterable[Requirement]) -> None:
        """Requirements the resolver is about to ask for: start fetching them now."""
        if self._prefetcher is not None:
            self._prefetcher.want(requirements)

    def expect_dependencies(self, metadata: CoreMetadata) -> None:
        """A release's requirements will be asked for next: start fetching them now."""
        if self._prefetcher is not None:
            self._prefetcher.want_dependencies(metadata)

    def releases(self, name: NormalizedName) -> Sequence[Release]:
        if self._prefetcher is not None:
            self._prefetcher.want((Requirement(name),))
        return self.finder.releases(name)

    def metadata(self, release: Release) -> CoreMetadata | None:
        if self._prefetcher is not None:
            self._prefetcher.asked_metadata(release)
        return self.finder.metadata(release)

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
        where = f" for {self.target.describe()}"
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
        if file.requires_python is not None:
            if not file.requires_python.contains(target.python_full_version, prereleases=True):
                return f"requires Python {file.requires_python}"
        if file.is_wheel:
            if all(target.tag_priority(t) is None for t in file.tags):
                return f"its tags {', '.join(sorted(str(t) for t in file.tags)[:3])} do not fit"
        if file.version.is_prerelease:
            return "a pre-release (--pre allows them)"
        return "excluded by the version or binary policy"

    def describe_locations(self) -> str:
        settings = self.finder.settings
        places = [*settings.index_urls, *settings.find_links]
        return ", ".join(redact(p) for p in places) or "no index (--no-index and no --find-links)"


__all__ = ["IndexSource"]
