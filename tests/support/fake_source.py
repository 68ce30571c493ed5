"""A PackageSource backed by a dict, for resolver and build-policy tests (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from packaging.requirements import Requirement
from packaging.utils import NormalizedName
from packaging.version import Version

from lock_build.models import Artifact, ArtifactKind, CoreMetadata, Release
from lock_build.resolution.model import DirectReference, Wanted


class DictSource:
    """{"name": {"1.0": ["dep>=1", ...]}}; versions ending in "!y" are yanked."""

    def __init__(
        self, index: Mapping[str, Mapping[str, Sequence[str]]], sdists: Sequence[str] = ()
    ):
        self.index = index
        self.sdists = set(sdists)

    def releases(self, name: NormalizedName) -> list[Release]:
        found = []
        for text in self.index.get(name, {}):
            version = Version(text.removesuffix("!y"))
            artifact = Artifact(
                filename=f"{name}-{version}.tar.gz",
                url=f"https://x/{name}-{version}.tar.gz",
                name=name,
                version=version,
                kind=ArtifactKind.SDIST,
                sha256="0" * 64,
            )
            wheel = None if name in self.sdists else artifact
            found.append(
                Release(
                    name=name,
                    version=version,
                    wheel=wheel,
                    sdist=artifact,
                    yanked=text.endswith("!y"),
                )
            )
        return sorted(found, key=lambda r: r.version, reverse=True)

    def metadata(self, release: Release) -> CoreMetadata:
        for text, deps in self.index[release.name].items():
            if Version(text.removesuffix("!y")) == release.version:
                return CoreMetadata(
                    name=release.name,
                    version=release.version,
                    requires_dist=tuple(Requirement(d) for d in deps),
                )
        raise KeyError(release)

    def direct_release(self, name: NormalizedName, direct: DirectReference):
        release = self.releases(name)[0]
        return release, self.metadata(release)


def want(*texts: str, origin: str = "-r requirements.in") -> tuple[Wanted, ...]:
    return tuple(Wanted(requirement=Requirement(t), origin=origin) for t in texts)
