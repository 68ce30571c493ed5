"""The package finder: files, releases, metadata and downloads for the resolver.

It collects every file of a project from the configured indexes and find-links
locations (concurrently, once per run), narrows them to releases usable on the
target (:mod:`lock_build.index.select`), and reads core metadata as cheaply as the
index allows: a PEP 658 file, else range requests into the wheel, else a download.
Downloads go into a content-addressed artifact cache and are always hash-verified.

Why one long module: :class:`PackageFinder` is one stateful object whose caches (pages,
parsed files, metadata, downloads) are shared by its methods behind one once-per-key
table; the pure stages it drives already live elsewhere (``pages.py`` parses,
``select.py`` picks, ``http.py`` fetches).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from lock_build.cache import (
    drop,
    expect_dict,
    expect_optional_str,
    read_entry,
    write_entry,
)
from lock_build.errors import HashMismatchError, IndexPageError, MetadataError, NetworkError
from lock_build.index.http import HttpClient, Page, file_url_to_path, redact
from lock_build.index.lazy_wheel import LazyWheelError, read_member_lazily
from lock_build.index.pages import (
    ACCEPT,
    artifacts_from_json,
    artifacts_to_json,
    for_project,
    parse_find_links_dir,
    parse_html_page,
    parse_project_page,
    parse_project_page_ahead,
    version_filter,
)
from lock_build.index.select import group_releases, newer_than
from lock_build.metadata import (
    metadata_is_static,
    parse_core_metadata,
    read_sdist_pkg_info,
    read_wheel_metadata,
)
from lock_build.models import Artifact, CoreMetadata, Release
from lock_build.reporting import NULL_REPORTER, Fetching, Reporter
from lock_build.settings import IndexSettings, IndexStrategy
from lock_build.target import Target
from lock_build.urls import project_page_url

T = TypeVar("T")
# Cache entry kinds; the version in the name changes when the value's shape does.
_PAGE_KIND = "page-v3"
_VERSION_FILES_KIND = "version-files-v2"
_METADATA_KIND = "metadata-v2"
_WORKERS = 8
# How many of a page's newest versions get their whole file list from the first decode.
_WHOLE_VERSIONS = 3
_HASH_CHUNK = 1 << 20


def _location_url(location: str) -> str:
    """Index and find-links locations may be plain paths; treat them as file:// URLs."""
    if urlsplit(location).scheme in ("http", "https", "file"):
        return location
    return Path(location).expanduser().resolve().as_uri()


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class PackageFinder:
    """Files, releases and metadata of projects, as the target can use them.

    Thread-safe: every lookup is memoised and computed once even when several
    threads ask at the same time, so the resolver may warm metadata in parallel.
    """

    def __init__(
        self,
        settings: IndexSettings,
        target: Target,
        client: HttpClient,
        reporter: Reporter = NULL_REPORTER,
        *,
        required_hashes: Mapping[NormalizedName, frozenset[str]] | None = None,
    ) -> None:
        self.settings = settings
        # --hash options of the inputs: project -> the sha256 digests it may use.
        self.required_hashes = dict(required_hashes or {})
        self.target = target
        self.client = client
        self._reporter = reporter
        self._lock = threading.Lock()
        self._memo: dict[tuple[str, str], Future[Any]] = {}
        self._hashes: dict[str, str] = {}  # artifact url → sha256 we computed
        # Every project page fetched, by (index, project), with its parsed-page cache key:
        # the lock records every file of each locked version, including wheels for other
        # platforms that selection skips.
        self._pages: dict[tuple[str, NormalizedName], tuple[Page, Path | None]] = {}
        # Every file of a page's newest versions, from the same decode (see _index_files).
        self._whole_versions: dict[
            tuple[str, NormalizedName], dict[Version, tuple[Artifact, ...]]
        ] = {}
        self._pages_pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="lock-build-pages")
        self._metadata_pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="lock-build-meta")
        self._tmp: Path | None = None
        self._cache_dir = settings.cache_dir
        self._tag_strings = frozenset(str(tag) for tag in target.tags)
        self._triples: dict[tuple[str, str, str], bool] = {}  # wheel tag triple -> usable
        self._tags_key = hashlib.sha256(" ".join(sorted(self._tag_strings)).encode()).hexdigest()

    # -- lifecycle ----------------------------------------------------------------

    def _worth_parsing(self, filename: str) -> bool:
        """A cheap look at a wheel's tag triple; the full check happens in select.py.

        Pages list thousands of wheels over a few dozen distinct triples: each triple
        is decided once (a dict lookup after that, no packaging objects built).
        """
        if not filename.endswith(".whl"):
            return True
        parts = filename[:-4].rsplit("-", 3)
        if len(parts) < 4 or "-" not in parts[0]:
            return True  # malformed: let the parser decide (and skip it)
        triple = (parts[1], parts[2], parts[3])
        known = self._triples.get(triple)
        if known is None:
            pythons, abis, platforms = (p.split(".") for p in triple)
            tags = self._tag_strings
            known = self._triples[triple] = any(
                f"{py}-{abi}-{plat}" in tags for py in pythons for abi in abis for plat in platforms
            )
        return known

    def close(self) -> None:
        self._pages_pool.shutdown(wait=True, cancel_futures=True)
        self._metadata_pool.shutdown(wait=True, cancel_futures=True)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> PackageFinder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- files and releases ---------------------------------------------------------

    def artifacts(self, name: str) -> tuple[Artifact, ...]:
        """Every file of ``name`` from the indexes (per the strategy) and find-links.

        A project with ``--hash`` options keeps only the files with one of those hashes.
        """
        project = canonicalize_name(name)
        return self._once("artifacts", project, lambda: self._allowed(project))

    def _allowed(self, name: NormalizedName) -> tuple[Artifact, ...]:
        found = self._collect(name)
        allowed = self.required_hashes.get(name)
        if allowed is None:
            return found
        kept = tuple(a for a in found if self.sha256(a) in allowed)
        if not kept:
            offered = sorted(f"{a.filename} (sha256:{self.sha256(a)})" for a in found)
            raise HashMismatchError(
                f"No file of {name} has a hash given with --hash "
                f"({', '.join(f'sha256:{h}' for h in sorted(allowed))}); "
                + (f"the indexes offer {', '.join(offered)}." if offered else "no index has it."),
                package=name,
                expected=tuple(sorted(allowed)),
                hint="Update the --hash options, or check which index serves this project.",
            )
        return kept

    def releases(self, name: str) -> tuple[Release, ...]:
        """Releases usable on the target, newest first (pre-releases included)."""
        project = canonicalize_name(name)
        binary = self.settings.binary
        return self._once(
            "releases",
            project,
            lambda: group_releases(project, self.artifacts(project), self.target, binary),
        )

    def complete(self, release: Release) -> Release:
        """``release`` with ``files``: every file the indexes list for its version.

        Selection keeps only the files this target can use (and skips parsing the rest);
        a lock that travels records them all, from the page data already fetched, so
        nothing is downloaded for it. Files with no sha256 on the index are kept only
        when they are local (hashed where they lie) or are the release's own files.
        """
        key = f"{release.name}=={release.version}"
        return self._once("complete", key, lambda: self._complete(release))

    def _complete(self, release: Release) -> Release:
        name, version = release.name, release.version
        binary = self.settings.binary
        own = {a.url for a in (release.wheel, release.sdist) if a is not None}
        if not release.artifact.index:
            # A direct URL: the lock records that file only, not what indexes list.
            return replace(release, files=tuple(a for a in (release.wheel, release.sdist) if a))
        files = []
        for artifact in self._version_files(name, version):
            if artifact.is_wheel and not binary.allows_wheel(name):
                continue
            if not artifact.is_wheel and not binary.allows_sdist(name):
                continue
            if artifact.sha256 is None and not (artifact.is_local or artifact.url in own):
                continue
            allowed = self.required_hashes.get(name)
            if allowed is not None and artifact.url not in own and artifact.sha256 not in allowed:
                continue  # --hash: a file the user did not allow is not recorded either
            files.append(artifact)
        for chosen in (release.wheel, release.sdist):
            if chosen is not None and chosen.url not in {a.url for a in files}:
                files.append(chosen)
        return replace(release, files=_one_copy_each(files))

    def _version_files(self, name: NormalizedName, version: Version) -> tuple[Artifact, ...]:
        same_version = version_filter(frozenset({version}))

        def reparse(index_url: str) -> tuple[Artifact, ...] | None:
            with self._lock:
                fetched = self._pages.get((index_url, name))
                ahead = self._whole_versions.get((index_url, name), {}).get(version)
            if fetched is None:
                return None
            page, page_key = fetched
            path = self._version_files_key(page_key, version)
            cached = (
                None if path is None else read_entry(path, _VERSION_FILES_KIND, artifacts_from_json)
            )
            if cached is not None:
                return cached
            if ahead is not None:
                found = ahead
            else:
                parsed = parse_project_page(
                    page.body, page.content_type, page.url, redact(index_url), keep=same_version
                )
                found = tuple(a for a in for_project(parsed, name) if a.version == version)
            if path is not None:
                write_entry(path, _VERSION_FILES_KIND, artifacts_to_json(found))
            return found

        everything = self._gather(name, reparse)
        return tuple(a for a in everything if a.version == version)

    def listed_files(self, name: str) -> tuple[Artifact, ...] | None:
        """Every file the indexes and find-links list for ``name``, wheels for other targets
        included; None when none of them has such a project. For explaining why nothing
        fits, so only on a failure path: pages come from the HTTP cache, parsed whole."""
        project = canonicalize_name(name)
        found: list[Artifact] = []
        exists = False
        for url in self.settings.index_urls:
            page = self.client.get_page(project_page_url(_location_url(url), project), ACCEPT)
            if page is None:
                continue
            exists = True
            parsed = parse_project_page(page.body, page.content_type, page.url, redact(url))
            found.extend(for_project(parsed, project))
        for location in self.settings.find_links:
            found.extend(for_project(self._find_links_files(_location_url(location)), project))
        return tuple(found) if exists or found else None

    def _collect(self, name: NormalizedName) -> tuple[Artifact, ...]:
        self._reporter.fetching(Fetching(kind="page", subject=name))
        return self._gather(name, lambda url: self._index_files(url, name), parallel=True)

    def _gather(
        self,
        name: NormalizedName,
        from_index: Callable[[str], tuple[Artifact, ...] | None],
        *,
        parallel: bool = False,
    ) -> tuple[Artifact, ...]:
        """The files of ``name`` from each index (per the strategy) and find-links."""
        urls = [_location_url(url) for url in self.settings.index_urls]
        if parallel:
            index_futures = [self._pages_pool.submit(from_index, url) for url in urls]
            per_index = [f.result() for f in index_futures]
        else:
            per_index = [from_index(url) for url in urls]
        link_futures = [
            self._pages_pool.submit(self._find_links_files, _location_url(location))
            for location in self.settings.find_links
        ]
        found = [files for files in per_index if files is not None]
        if self.settings.index_strategy is IndexStrategy.FIRST_INDEX:
            # Guards against dependency confusion: a name is owned by the first index with it.
            from_indexes = found[0] if found else ()
        else:
            from_indexes = tuple(a for files in found for a in files)
        from_links = tuple(a for f in link_futures for a in for_project(f.result(), name))
        cutoff = self.settings.exclude_newer
        if cutoff is not None:
            from_indexes = tuple(
                a for a in from_indexes if not newer_than(a, cutoff, keep_unknown=a.is_local)
            )
            from_links = tuple(
                a for a in from_links if not newer_than(a, cutoff, keep_unknown=True)
            )
        return from_indexes + from_links

    def _index_files(self, index_url: str, name: NormalizedName) -> tuple[Artifact, ...] | None:
        page = self.client.get_page(project_page_url(index_url, name), ACCEPT)
        if page is None:
            return None
        path = self._page_key(page, index_url, name)
        with self._lock:
            self._pages[(index_url, name)] = (page, path)
        cached = None if path is None else read_entry(path, _PAGE_KIND, artifacts_from_json)
        if cached is not None:
            return cached
        artifacts, whole = parse_project_page_ahead(
            page.body,
            page.content_type,
            page.url,
            redact(index_url),
            self._worth_parsing,
            newest=_WHOLE_VERSIONS,
        )
        found = for_project(artifacts, name)
        with self._lock:
            self._whole_versions[(index_url, name)] = {
                version: for_project(files, name) for version, files in whole.items()
            }
        if path is not None:
            write_entry(path, _PAGE_KIND, artifacts_to_json(found))
        return found

    # A project page is re-sent whole even when unchanged (mirrors without ETags), and
    # parsing thousands of entries is the cost of a warm compile: keep what a page
    # parsed to, keyed by the page's bytes and everything that shaped the result.
    def _page_key(self, page: Page, index_url: str, name: NormalizedName) -> Path | None:
        if self._cache_dir is None:
            return None
        digest = hashlib.sha256(page.body)
        for part in (page.url, page.content_type, redact(index_url), name, self._tags_key):
            digest.update(b"\0" + part.encode())
        return self._cache_dir / "pages" / f"{_PAGE_KIND}-{digest.hexdigest()}.json"

    # Every file of one version (other platforms' wheels included, for the lock) takes a
    # second pass over the whole page: keep its result too, under the page's key.
    def _version_files_key(self, page_key: Path | None, version: Version) -> Path | None:
        if page_key is None:
            return None
        digest = hashlib.sha256(f"{page_key.name}\0{version}".encode()).hexdigest()
        return page_key.parent / f"{_VERSION_FILES_KIND}-{digest}.json"

    def _find_links_files(self, location: str) -> tuple[Artifact, ...]:
        return self._once("find-links", location, lambda: self._load_find_links(location))

    def _load_find_links(self, location: str) -> tuple[Artifact, ...]:
        label = redact(location)
        if urlsplit(location).scheme == "file":
            path = file_url_to_path(location)
            if path.is_dir():
                return parse_find_links_dir(path, label)
        page = self.client.get_page(location, "text/html")
        if page is None:
            raise IndexPageError(f"The find-links location {label} does not exist.", url=location)
        return parse_html_page(page.body, page.url, label)

    # -- metadata -----------------------------------------------------------------

    def metadata(self, release: Release) -> CoreMetadata | None:
        """Core metadata of ``release``; ``None`` when only a PEP 517 hook can tell.

        That is the case for sdists whose PKG-INFO is older than 2.2 or marks
        Requires-Dist / Requires-Python dynamic (PEP 643).
        """
        artifact = release.artifact
        return self._once("metadata", artifact.url, lambda: self._load_metadata(artifact))

    def prefetch_metadata(self, releases: Iterable[Release]) -> None:
        """Start reading metadata of ``releases`` in the background (errors surface later)."""
        for release in releases:
            self._metadata_pool.submit(self._quiet_metadata, release)

    def _quiet_metadata(self, release: Release) -> None:
        try:
            self.metadata(release)
        except Exception:  # noqa: BLE001 - re-raised to whoever calls metadata() for it
            pass

    def _load_metadata(self, artifact: Artifact) -> CoreMetadata | None:
        source = f"{artifact.name} {artifact.version} ({artifact.filename})"
        path = self._metadata_path(artifact.sha256)
        cached = None if path is None else read_entry(path, _METADATA_KIND, _metadata_from_json)
        if cached is not None and path is not None:
            raw = cached[0]
            if raw is None:
                return None
            try:
                return self._parse(raw, artifact, source)
            except MetadataError as exc:
                drop(path, _METADATA_KIND, exc.message)
        if artifact.is_wheel:
            raw = self._wheel_metadata(artifact)
        else:
            raw = self._sdist_metadata(artifact)
        result = None if raw is None else self._parse(raw, artifact, source)
        self._store_metadata(artifact.sha256 or self._hashes.get(artifact.url), raw)
        return result

    def _parse(self, raw: bytes, artifact: Artifact, source: str) -> CoreMetadata:
        metadata = parse_core_metadata(raw, source)
        if metadata.name != artifact.name:
            raise MetadataError(
                f"{source} says its name is {metadata.name!r}, not {artifact.name!r}.",
                source=source,
                package=artifact.name,
                version=artifact.version,
                hint="The index serves a mislabelled file.",
            )
        return metadata

    def _wheel_metadata(self, artifact: Artifact) -> bytes:
        label = f"{artifact.name} {artifact.version}"
        if artifact.is_local:
            return read_wheel_metadata(self.fetch(artifact), artifact.name)
        if artifact.has_metadata_file:
            self._reporter.fetching(Fetching(kind="metadata", subject=label, how="metadata file"))
            data = self._metadata_file(artifact)
            if data is not None:
                return data
        self._reporter.fetching(Fetching(kind="metadata", subject=label, how="range request"))
        try:
            data = read_member_lazily(
                lambda start, end: self.client.get_range(artifact.url, start, end),
                lambda length: self.client.get_tail(artifact.url, length),
                artifact.name,
            )
        except (LazyWheelError, IndexPageError):
            data = None
        if data is not None:
            return data
        self._reporter.fetching(Fetching(kind="metadata", subject=label, how="download"))
        return read_wheel_metadata(self.fetch(artifact), artifact.name)

    def _metadata_file(self, artifact: Artifact) -> bytes | None:
        url = artifact.url + ".metadata"
        try:
            data = self.client.get_bytes(url)
        except IndexPageError:
            return None  # advertised but missing: the other routes still work
        if artifact.metadata_sha256 is not None:
            actual = hashlib.sha256(data).hexdigest()
            if actual != artifact.metadata_sha256:
                raise HashMismatchError(
                    f"{redact(url)} has sha256 {actual}, but the index promised "
                    f"{artifact.metadata_sha256}.",
                    url=url,
                    expected=(artifact.metadata_sha256,),
                    got=actual,
                    hint="The index serves inconsistent files; try again later or another index.",
                )
        return data

    def _sdist_metadata(self, artifact: Artifact) -> bytes | None:
        self._reporter.fetching(
            Fetching(kind="metadata", subject=f"{artifact.name} {artifact.version}", how="sdist")
        )
        raw = read_sdist_pkg_info(self.fetch(artifact))
        if raw is None or not metadata_is_static(raw):
            return None
        return raw

    def _metadata_path(self, sha256: str | None) -> Path | None:
        if self._cache_dir is None or sha256 is None:
            return None
        return self._cache_dir / "metadata" / f"{_METADATA_KIND}-{sha256}.json"

    def _store_metadata(self, sha256: str | None, raw: bytes | None) -> None:
        path = self._metadata_path(sha256)
        if path is not None:
            text = None if raw is None else raw.decode("utf-8", "surrogateescape")
            write_entry(path, _METADATA_KIND, {"metadata": text})

    # -- files ----------------------------------------------------------------------

    def fetch(self, artifact: Artifact) -> Path:
        """A verified local copy of ``artifact`` (local files are hashed where they are)."""
        path = self._once("fetch", artifact.url, lambda: self._fetch(artifact))
        allowed = self.required_hashes.get(artifact.name)
        if allowed is not None:
            actual = artifact.sha256 or self._hashes[artifact.url]
            if actual not in allowed:
                raise HashMismatchError(
                    f"{redact(artifact.url)} has sha256 {actual}, not one given with --hash "
                    f"for {artifact.name} ({', '.join(f'sha256:{h}' for h in sorted(allowed))}).",
                    url=artifact.url,
                    expected=tuple(sorted(allowed)),
                    got=actual,
                    package=artifact.name,
                    hint="Update the --hash options, or check where this file comes from.",
                )
        return path

    def sha256(self, artifact: Artifact) -> str:
        """The file's sha256: as the index gave it, else computed from the file."""
        if artifact.sha256:
            return artifact.sha256
        known = self._hashes.get(artifact.url)
        if known:
            return known
        self._once("fetch", artifact.url, lambda: self._fetch(artifact))  # unchecked: hashing
        return self._hashes[artifact.url]

    def _fetch(self, artifact: Artifact) -> Path:
        if artifact.is_local:
            return self._fetch_local(artifact)
        root = self._artifact_root()
        if artifact.sha256:
            dest = root / artifact.sha256[:32] / artifact.filename
            if dest.is_file() and hash_file(dest) == artifact.sha256:
                return dest
            self._reporter.fetching(Fetching(kind="file", subject=artifact.filename))
            self.client.download(artifact.url, dest, artifact.sha256)
            return dest
        self._reporter.fetching(Fetching(kind="file", subject=artifact.filename))
        staging = Path(tempfile.mkdtemp(dir=root, prefix=".unhashed-"))
        try:
            partial = staging / artifact.filename
            sha = self.client.download(artifact.url, partial)
            dest = root / sha[:32] / artifact.filename
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        with self._lock:
            self._hashes[artifact.url] = sha
        return dest

    def _fetch_local(self, artifact: Artifact) -> Path:
        path = file_url_to_path(artifact.url)
        try:
            actual = hash_file(path)
        except OSError as exc:
            raise NetworkError(
                f"Cannot read {redact(artifact.url)} ({exc.strerror}).", url=artifact.url
            ) from None
        if artifact.sha256 and actual != artifact.sha256:
            raise HashMismatchError(
                f"{path} has sha256 {actual}, but {artifact.sha256} was expected.",
                url=artifact.url,
                expected=(artifact.sha256,),
                got=actual,
                package=artifact.name,
                hint="The local file changed since the index listed it.",
            )
        with self._lock:
            self._hashes[artifact.url] = actual
        return path

    def _artifact_root(self) -> Path:
        with self._lock:
            if self._cache_dir is not None:
                root = self._cache_dir / "artifacts"
            else:
                if self._tmp is None:
                    self._tmp = Path(tempfile.mkdtemp(prefix="lock-build-"))
                root = self._tmp / "artifacts"
        root.mkdir(parents=True, exist_ok=True)
        return root

    # -- plumbing -------------------------------------------------------------------

    def _once(self, table: str, key: str, compute: Callable[[], T]) -> T:
        """Compute ``key`` once across threads; failures are not memoised (a retry may work)."""
        with self._lock:
            future = self._memo.get((table, key))
            owner = future is None
            if owner:
                future = Future()
                self._memo[(table, key)] = future
        assert future is not None
        if owner:
            try:
                future.set_result(compute())
            except BaseException as exc:
                with self._lock:
                    del self._memo[(table, key)]
                future.set_exception(exc)
        result: T = future.result()
        return result


def _metadata_from_json(value: object) -> tuple[bytes | None]:
    """A metadata cache value: the core metadata text, or null for "only a hook knows"."""
    text = expect_optional_str(expect_dict(value, "value")["metadata"], "metadata")
    return (None if text is None else text.encode("utf-8", "surrogateescape"),)


def _one_copy_each(files: Iterable[Artifact]) -> tuple[Artifact, ...]:
    """One entry per (filename, sha256), sorted: where a local mirror (a ``file://`` index
    or find-links directory) holds a copy of a file an https index also serves, the lock
    records the https one, so it stays usable on machines without that mirror."""
    best: dict[tuple[str, str | None], Artifact] = {}
    for artifact in files:
        key = (artifact.filename, artifact.sha256)
        kept = best.get(key)
        if kept is None or (kept.is_local and not artifact.is_local):
            best[key] = artifact
    return tuple(sorted(best.values(), key=lambda a: (a.filename, a.url)))


__all__ = [
    "PackageFinder",
    "T",
    "hash_file",
]
