"""Direct references: ``name @ https://…/x.tar.gz``, local archives, directories, VCS.

Archives are fetched and hashed like index files. Local directories and VCS checkouts
are built from their tree and are the only lock entries without a sha256; the lock
names them as such.
"""

from __future__ import annotations

import configparser
import hashlib
import subprocess
import threading
import tomllib
from collections.abc import Callable
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

BuildMetadata = Callable[[Release], CoreMetadata]
# Until a directory's metadata is built we do not know its version; builds are keyed by it.
_UNKNOWN_VERSION = Version("0")


class DirectSources:
    """Turns direct references into releases (memoised per URL)."""

    def __init__(
        self, finder: PackageFinder, build_metadata: BuildMetadata, cache_dir: Path
    ) -> None:
        self.finder = finder
        self.build_metadata = build_metadata
        self.cache_dir = cache_dir
        self._memo: dict[str, tuple[Release, CoreMetadata]] = {}
        self._lock = threading.RLock()
        # VCS checkouts: release key -> (repository URL, commit, subdirectory).
        self.vcs: dict[tuple[NormalizedName, Version], tuple[str, str, str | None]] = {}
        self.editable: set[tuple[NormalizedName, Version]] = set()

    def release(
        self, name: NormalizedName, direct: DirectReference
    ) -> tuple[Release, CoreMetadata]:
        with self._lock:
            found = self._memo.get(direct.url)
            if found is None:
                found = self._load(name, direct)
                self._memo[direct.url] = found
            release, metadata = found
            if metadata.name != name:
                raise InputError(
                    f"{redact(direct.url)} holds the project {metadata.name!r}, not {name!r}.",
                    hint="Fix the name in the requirement.",
                )
            if direct.editable:
                self.editable.add((release.name, release.version))
            return found

    def _load(self, name: NormalizedName, direct: DirectReference) -> tuple[Release, CoreMetadata]:
        if direct.kind == "archive":
            return self._archive(name, direct.url)
        if direct.kind == "vcs":
            return self._vcs(name, direct.url)
        return self._directory(name, file_url_to_path(direct.url))

    def _archive(self, name: NormalizedName, url: str) -> tuple[Release, CoreMetadata]:
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
            return release, parse_core_metadata(raw, filename)
        release = Release(name=artifact.name, version=artifact.version, sdist=artifact)
        metadata = self.finder.metadata(release)
        return release, metadata or self.build_metadata(release)

    def _directory(
        self, name: NormalizedName, path: Path, url: str | None = None
    ) -> tuple[Release, CoreMetadata]:
        if not path.is_dir():
            raise InputError(
                f"{name}: the local project {path} does not exist or is not a directory."
            )
        artifact = Artifact(
            filename=path.name,
            url=url or path.as_uri(),
            name=name,
            version=static_version(path) or _UNKNOWN_VERSION,
            kind=ArtifactKind.DIRECTORY,
        )
        provisional = Release(name=name, version=artifact.version, sdist=artifact)
        metadata = self.build_metadata(provisional)
        if metadata.version == artifact.version:
            return provisional, metadata
        from dataclasses import replace

        artifact = replace(artifact, version=metadata.version)
        return Release(name=name, version=metadata.version, sdist=artifact), metadata

    def _vcs(self, name: NormalizedName, url: str) -> tuple[Release, CoreMetadata]:
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
        release, metadata = self._directory(name, tree)
        self.vcs[(release.name, release.version)] = (
            strip_credentials(repo_url),
            commit,
            subdirectory,
        )
        return release, metadata


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
