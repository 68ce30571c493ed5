"""A PackageSource backed by a dict, for resolver and build-policy tests (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from lock_build.models import Artifact, ArtifactKind, CoreMetadata, Release
from lock_build.resolution.model import DirectReference, Wanted


def _version(text: str) -> tuple[Version, str | None]:
    """ "2.0" -> (2.0, None); "2.0!y" -> (2.0, ""); "2.0!y=broken" -> (2.0, "broken")."""
    version, yanked, reason = text.partition("!y")
    return Version(version), reason.removeprefix("=") if yanked else None


class DictSource:
    """{"name": {"1.0": ["dep>=1", ...]}}; versions ending in "!y" (or "!y=reason") are
    yanked; ``requires_python`` maps "name==version" to its metadata's Requires-Python."""

    def __init__(
        self,
        index: Mapping[str, Mapping[str, Sequence[str]]],
        sdists: Sequence[str] = (),
        requires_python: Mapping[str, str] | None = None,
    ):
        self.index = index
        self.sdists = set(sdists)
        self.requires_python = dict(requires_python or {})

    def releases(self, name: NormalizedName) -> list[Release]:
        found = []
        for text in self.index.get(name, {}):
            version, yanked = _version(text)
            artifact = Artifact(
                filename=f"{name}-{version}.tar.gz",
                url=f"https://x/{name}-{version}.tar.gz",
                name=name,
                version=version,
                kind=ArtifactKind.SDIST,
                sha256="0" * 64,
                yanked=yanked,
            )
            wheel = None if name in self.sdists else artifact
            found.append(
                Release(
                    name=name,
                    version=version,
                    wheel=wheel,
                    sdist=artifact,
                    yanked=yanked is not None,
                )
            )
        return sorted(found, key=lambda r: r.version, reverse=True)

    def metadata(self, release: Release) -> CoreMetadata:
        for text, deps in self.index[release.name].items():
            if _version(text)[0] == release.version:
                python = self.requires_python.get(f"{release.name}=={release.version}")
                return CoreMetadata(
                    name=release.name,
                    version=release.version,
                    requires_dist=tuple(Requirement(d) for d in deps),
                    requires_python=SpecifierSet(python) if python is not None else None,
                )
        raise KeyError(release)

    def direct_release(self, name: NormalizedName, direct: DirectReference):
        release = self.releases(name)[0]
        return release, self.metadata(release)

    def why_unusable(self, name: NormalizedName) -> str | None:
        return None if name in self.index else f"the dict has no project named {name}"

    def describe_locations(self) -> str:
        return ""


def want(*texts: str, origin: str = "-r requirements.in") -> tuple[Wanted, ...]:
    return tuple(Wanted(requirement=Requirement(t), origin=origin) for t in texts)
