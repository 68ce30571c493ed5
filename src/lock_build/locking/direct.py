"""Direct references: ``name @ https://…/x.tar.gz``, local archives, directories, VCS.

Archives are fetched and hashed like index files. Local directories and VCS checkouts
are built from their tree and are the only lock entries without a sha256; the lock
names them as such.
"""

from __future__ import annotations

import configparser
import hashlib
import subprocess
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from lock_build.errors import InputError
from lock_build.index.finder import PackageFinder
from lock_build.index.http import file_url_to_path, redact, strip_credentials
from lock_build.metadata import parse_core_metadata, read_wheel_metadata
from lock_build.models import Artifact, ArtifactKind, CoreMetadata, Release, artifact_from_filename
from lock_build.resolution.model import DirectReference

# Until a directory's metadata is built we do not know its version; builds are keyed by it.
_UNKNOWN_VERSION = Version("0")


@dataclass(frozen=True, kw_only=True, slots=True)
class VcsCheckout:
    """Where a VCS requirement's tree came from, as the lock records it."""

    url: str  # the repository, credentials stripped
    commit: str
    subdirectory: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DirectRelease:
    """What a direct reference points at, before any hook ran.

    ``metadata`` is None when only the project's backend can tell it (an sdist archive
    without PKG-INFO metadata, a directory, a VCS tree); a directory's ``release`` then has
    the version its pyproject.toml states, or 0 until :meth:`settled` gives the real one.
    """

    release: Release
    metadata: CoreMetadata | None
    vcs: VcsCheckout | None = None

    def settled(self, metadata: CoreMetadata) -> DirectRelease:
        """This release with the backend's metadata (and the version that metadata says)."""
        release = self.release
        if release.artifact.kind is ArtifactKind.DIRECTORY and metadata.version != release.version:
            artifact = replace(release.artifact, version=metadata.version)
            release = Release(name=release.name, version=metadata.version, sdist=artifact)
        return DirectRelease(release=release, metadata=metadata, vcs=self.vcs)


class DirectSources:
    """Fetches, checks out and reads direct references; never runs a hook."""

    def __init__(self, finder: PackageFinder, cache_dir: Path) -> None:
        self.finder = finder
        self.cache_dir = cache_dir

    def locate(self, name: NormalizedName, direct: DirectReference) -> DirectRelease:
        if direct.kind == "archive":
            return self._archive(name, direct.url)
        if direct.kind == "vcs":
            return self._vcs(name, direct.url)
        return self._directory(name, file_url_to_path(direct.url))

    def _archive(self, name: NormalizedName, url: str) -> DirectRelease:
        parts = urlsplit(url)
        fragment = dict(p.partition("=")[::2] for p in parts.fragment.split("&") if p)
        clean = urlunsplit(parts._replace(fragment=""))
        filename = unquote(parts.path.rsplit("/", 1)[-1])
        artifact = artifact_from_filename(filename, clean, sha256=fragment.get("sha256"), index="")
        if artifact is None:
            raise InputError(
                f"{name} @ {redact(url)}: {filename!r} is not a wheel or an sdist archive.",
                hint="Point to a .whl, .tar.gz or .zip file.",
            )
        if artifact.is_wheel:
            release = Release(name=artifact.name, version=artifact.version, wheel=artifact)
            path = self.finder.fetch(artifact)
            raw = read_wheel_metadata(path, artifact.name)
            return DirectRelease(release=release, metadata=parse_core_metadata(raw, filename))
        release = Release(name=artifact.name, version=artifact.version, sdist=artifact)
        return DirectRelease(release=release, metadata=self.finder.metadata(release))

    def _directory(self, name: NormalizedName, path: Path) -> DirectRelease:
        if not path.is_dir():
            raise InputError(
                f"{name}: the local project {path} does not exist or is not a directory."
            )
        artifact = Artifact(
            filename=path.name,
            url=path.as_uri(),
            name=name,
            version=static_version(path) or _UNKNOWN_VERSION,
            kind=ArtifactKind.DIRECTORY,
        )
        release = Release(name=name, version=artifact.version, sdist=artifact)
        return DirectRelease(release=release, metadata=None)

    def _vcs(self, name: NormalizedName, url: str) -> DirectRelease:
        vcs, _, rest = url.partition("+")
        if vcs != "git":
            raise InputError(f"{name} @ {redact(url)}: only git is supported among VCS references.")
        parts = urlsplit(rest)
        fragment = dict(p.partition("=")[::2] for p in parts.fragment.split("&") if p)
        repo_url, _, revision = urlunsplit(parts._replace(fragment="")).rpartition("@")
        if not repo_url or "/" in revision:
            repo_url, revision = urlunsplit(parts._replace(fragment="")), ""
        checkout = self.cache_dir / "vcs" / hashlib.sha256(repo_url.encode()).hexdigest()[:24]
        commit = _git_checkout(repo_url, revision, checkout)
        subdirectory = fragment.get("subdirectory")
        tree = checkout / subdirectory if subdirectory else checkout
        found = self._directory(name, tree)
        origin = VcsCheckout(
            url=strip_credentials(repo_url), commit=commit, subdirectory=subdirectory
        )
        return replace(found, vcs=origin)


def static_version(path: Path) -> Version | None:
    """``[project].version`` when pyproject.toml states it statically."""
    try:
        project = tomllib.loads((path / "pyproject.toml").read_text(encoding="utf-8")).get(
            "project", {}
        )
    except (OSError, tomllib.TOMLDecodeError):
        return None
    if "version" in project.get("dynamic", ()) or "version" not in project:
        return None
    try:
        return Version(str(project["version"]))
    except InvalidVersion:
        return None


def static_name(path: Path) -> NormalizedName | None:
    """``[project].name`` of a local project, for inputs like ``-e .`` that do not name it."""
    try:
        project = tomllib.loads((path / "pyproject.toml").read_text(encoding="utf-8")).get(
            "project", {}
        )
    except (OSError, tomllib.TOMLDecodeError):
        project = {}
    if "name" in project:
        return canonicalize_name(str(project["name"]))
    try:
        parser = configparser.ConfigParser()
        parser.read(path / "setup.cfg", encoding="utf-8")
        if parser.has_option("metadata", "name"):
            return canonicalize_name(parser.get("metadata", "name"))
    except configparser.Error:
        return None
    return None


def _git_checkout(repo_url: str, revision: str, dest: Path) -> str:
    def git(*args: str, cwd: Path | None = None) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=600
            ).stdout.strip()
        except FileNotFoundError:
            raise InputError("VCS references need git, which is not installed.") from None
        except subprocess.CalledProcessError as exc:
            raise InputError(
                f"git {args[0]} of {redact(repo_url)} failed: "
                f"{' '.join(exc.stderr.strip().splitlines()[-1:])}",
            ) from None

    if not (dest / ".git").is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        git("clone", "--quiet", repo_url, str(dest))
    else:
        git("fetch", "--quiet", "--tags", "origin", cwd=dest)
    git("checkout", "--quiet", "--detach", revision or "origin/HEAD", cwd=dest)
    return git("rev-parse", "HEAD", cwd=dest)


__all__ = ["DirectRelease", "DirectSources", "VcsCheckout", "static_name", "static_version"]
