"""Parse simple-API project pages (PEP 691 JSON, PEP 503 HTML) and find-links locations.

Pure: bytes in, :class:`Artifact` tuples out. Files that are not wheels or sdists are
skipped, as installers skip them; a page that is not a simple-API page at all is an
:class:`IndexPageError` naming the URL.
"""

from __future__ import annotations

import functools
import json
import posixpath
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from lock_build.cache import (
    CacheEntryError,
    expect_dict,
    expect_list,
)
from lock_build.errors import IndexPageError
from lock_build.index.http import redact
from lock_build.models import Artifact, artifact_from_filename

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
# What we ask indexes for, best first (PEP 691 content negotiation).
ACCEPT = f"{JSON_TYPE}, {HTML_TYPE};q=0.2, text/html;q=0.01"


# Decides from a filename alone whether a file is worth parsing (see PackageFinder).
FileFilter = Callable[[str], bool]


def parse_project_page(
    body: bytes, content_type: str, url: str, index: str = "", keep: FileFilter | None = None
) -> tuple[Artifact, ...]:
    """The files listed on a project page. ``index`` labels them (a redacted location).

    ``keep`` skips files by name before they are parsed: pages of projects with many
    wheels (pydantic-core, numpy) list thousands the target can never use.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in (JSON_TYPE, "application/json"):
        return parse_json_page(body, url, index, keep)
    if kind in (HTML_TYPE, "text/html", "application/xhtml+xml", ""):
        return parse_html_page(body, url, index, keep)
    raise IndexPageError(
        f"{redact(url)} returned {kind!r}, not a simple-API page.",
        hint="Check that the index URL points at a PEP 503/691 'simple' index.",
        url=url,
    )


def parse_json_page(
    body: bytes, url: str, index: str = "", keep: FileFilter | None = None
) -> tuple[Artifact, ...]:
    return _json_artifacts(_json_files(body, url), url, index, keep)


def parse_project_page_ahead(
    body: bytes, content_type: str, url: str, index: str, keep: FileFilter, newest: int
) -> tuple[tuple[Artifact, ...], dict[Version, tuple[Artifact, ...]]]:
    """``parse_project_page``, and every file of the ``newest`` versions among the kept
    ones, those ``keep`` skips included (in page order).

    The lock records every file of each locked version, for every platform; the locked
    version is nearly always one of a project's newest, and a JSON page decoded once
    for both answers spares a second decode of a page that can be megabytes long.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind not in (JSON_TYPE, "application/json"):
        return parse_project_page(body, content_type, url, index, keep), {}
    files = _json_files(body, url)
    kept = _json_positioned(files, _positions(files.names, keep), url, index)
    versions = frozenset(sorted({a.version for _, a in kept}, reverse=True)[:newest])
    # The newest versions' files: their kept ones, and those ``keep`` skipped (wheels
    # for other platforms), merged back into page order.
    of_versions = version_filter(versions)
    kept_at = {position for position, _ in kept}
    skipped = [
        position
        for position, name in enumerate(files.names)
        if position not in kept_at and of_versions(name)
    ]
    ordered = sorted(
        [(position, a) for position, a in kept if a.version in versions]
        + _json_positioned(files, skipped, url, index)
    )
    whole: dict[Version, list[Artifact]] = {version: [] for version in versions}
    for _, artifact in ordered:
        if artifact.version in whole:
            whole[artifact.version].append(artifact)
    return tuple(a for _, a in kept), {version: tuple(fs) for version, fs in whole.items()}


def version_filter(versions: frozenset[Version]) -> FileFilter:
    """Keeps the wheels of ``versions`` (and every sdist: their names parse only whole),
    deciding each version string of the page once."""
    decided: dict[str, bool] = {}  # a page repeats each version string per wheel

    def of_versions(filename: str) -> bool:
        if not filename.endswith(".whl"):
            return True
        parts = filename[:-4].split("-")
        if len(parts) not in (5, 6):
            return False
        known = decided.get(parts[1])
        if known is None:
            try:
                known = Version(parts[1]) in versions
            except InvalidVersion:
                known = False
            decided[parts[1]] = known
        return known

    return of_versions


class _JsonFiles:
    """A JSON page's ``files``: every entry's filename up front, each entry decoded into a
    dict when it is first asked for (most of a big page's wheels never are)."""

    def __init__(self, names: list[str], entry: Callable[[int], dict[str, Any]]) -> None:
        self.names = names
        self._entry = entry
        self._decoded: dict[int, dict[str, Any]] = {}

    def entry(self, position: int) -> dict[str, Any]:
        found = self._decoded.get(position)
        if found is None:
            found = self._decoded[position] = self._entry(position)
        return found


@functools.cache
def _scanners() -> tuple[Any, Any, Any]:
    """The msgspec decoders (names, entry boundaries, any value), made when a JSON page is
    first read: a warm compile finds its pages parsed in the cache and never needs them."""
    import msgspec

    # defstruct, not class statements: string annotations would not resolve in here.
    named_file = msgspec.defstruct("NamedFile", [("url", str), ("filename", str | None, None)])
    # meta: any JSON value; _check_api_version reads it as it reads json's.
    files: Any = list[named_file]  # type: ignore[valid-type]
    names = msgspec.defstruct("Names", [("files", files), ("meta", Any, None)])
    entries = msgspec.defstruct("Entries", [("files", list[msgspec.Raw])])
    decoder = msgspec.json.Decoder
    return decoder(names), decoder(entries), decoder()


def _json_files(body: bytes, url: str) -> _JsonFiles:
    """The page's files, read by two typed scans that build no dict per file: one for the
    names, one that only delimits each entry. A page they cannot read (not UTF-8, NaN, a
    wrong type anywhere) goes the whole-page way, whose answer or error is the reference;
    what they do read, they read as ``json`` would (the last of a repeated key wins)."""
    import msgspec

    names_of, entries_of, _ = _scanners()
    try:
        names = names_of.decode(body)
        raw_entries = entries_of.decode(body).files
    except msgspec.DecodeError:
        return _whole_page_files(body, url)
    _check_api_version(names.meta, url)
    return _JsonFiles(
        [named.filename or _filename(named.url) for named in names.files],
        lambda position: _entry_dict(raw_entries[position]),
    )


def _whole_page_files(body: bytes, url: str) -> _JsonFiles:
    entries = _json_entries(body, url)
    return _JsonFiles(
        [entry.get("filename") or _filename(entry["url"]) for entry in entries],
        entries.__getitem__,
    )


def _entry_dict(raw: Any) -> dict[str, Any]:
    """One entry (a ``msgspec.Raw``: an object with a str url, the names scan said so). A
    number msgspec will not hold (1e400) is read by json, as the whole-page reading does."""
    import msgspec

    try:
        value: dict[str, Any] = _scanners()[2].decode(raw)
    except msgspec.DecodeError:
        value = json.loads(bytes(raw))
    return value


def _check_api_version(meta: object, url: str) -> None:
    api = str((meta if isinstance(meta, dict) and meta else {}).get("api-version", "1.0"))
    if not api.startswith("1."):
        raise IndexPageError(
            f"{redact(url)} speaks simple-API version {api}, which lock-build does not understand.",
            url=url,
        )


def _json_entries(body: bytes, url: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexPageError(f"{redact(url)} returned malformed JSON ({exc}).", url=url) from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise IndexPageError(f"{redact(url)} returned JSON without a 'files' list.", url=url)
    _check_api_version(data.get("meta"), url)
    entries: list[dict[str, Any]] = data["files"]
    for position, entry in enumerate(entries):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("url"), str)
            or not isinstance(entry.get("filename", ""), str | None)
        ):
            raise IndexPageError(
                f"{redact(url)} returned a malformed entry files[{position}].", url=url
            )
    return entries


def _json_artifacts(
    files: _JsonFiles, url: str, index: str, keep: FileFilter | None
) -> tuple[Artifact, ...]:
    positions = _positions(files.names, keep)
    return tuple(a for _, a in _json_positioned(files, positions, url, index))


def _positions(names: list[str], keep: FileFilter | None) -> list[int]:
    if keep is None:
        return list(range(len(names)))
    return [position for position, name in enumerate(names) if keep(name)]


def _json_positioned(
    files: _JsonFiles, positions: list[int], url: str, index: str
) -> list[tuple[int, Artifact]]:
    """The artifacts of the entries at ``positions``, each with its position (an entry
    that is no distribution is left out)."""
    artifacts = []
    for position in positions:
        filename = files.names[position]
        entry = files.entry(position)
        href = _absolute(url, entry["url"])
        hashes = entry.get("hashes") or {}
        upload_time = None
        if entry.get("upload-time"):
            try:
                upload_time = datetime.fromisoformat(str(entry["upload-time"]))
            except ValueError:
                raise IndexPageError(
                    f"{redact(url)} gives files[{position}] an invalid upload-time "
                    f"{entry['upload-time']!r}.",
                    url=url,
                ) from None
        metadata = entry.get("core-metadata", entry.get("dist-info-metadata", False))
        artifact = artifact_from_filename(
            filename,
            href,
            sha256=_sha256(hashes.get("sha256") if isinstance(hashes, dict) else None),
            index=index,
            requires_python=_specifier(entry.get("requires-python")),
            yanked=_yanked(entry.get("yanked", False)),
            upload_time=upload_time,
            size=entry.get("size") if isinstance(entry.get("size"), int) else None,
            has_metadata_file=bool(metadata),
            metadata_sha256=_sha256(metadata.get("sha256")) if isinstance(metadata, dict) else None,
        )
        if artifact is not None:
            artifacts.append((position, artifact))
    return artifacts


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self.anchors.append(dict(attrs))


def parse_html_page(
    body: bytes, url: str, index: str = "", keep: FileFilter | None = None
) -> tuple[Artifact, ...]:
    """PEP 503 anchors; html.parser unescapes attributes (``&gt;=3.8`` → ``>=3.8``)."""
    if b"\x00" in body[:1024]:
        raise IndexPageError(f"{redact(url)} returned binary data, not an HTML page.", url=url)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise IndexPageError(
            f"{redact(url)} returned a page that is not UTF-8 HTML.", url=url
        ) from None
    parser = _Anchors()
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError) as exc:
        raise IndexPageError(f"{redact(url)} returned unparseable HTML ({exc}).", url=url) from None
    base = urljoin(url, parser.base) if parser.base else url
    artifacts = []
    for attrs in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        full, fragment = urldefrag(urljoin(base, href))
        if keep is not None and not keep(_filename(full)):
            continue
        metadata = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        metadata_sha = None
        if metadata and metadata.startswith("sha256="):
            metadata_sha = _sha256(metadata.partition("=")[2])
        artifact = artifact_from_filename(
            _filename(full),
            full,
            sha256=_fragment_sha256(fragment),
            index=index,
            requires_python=_specifier(attrs.get("data-requires-python")),
            yanked=(attrs.get("data-yanked") or "") if "data-yanked" in attrs else None,
            has_metadata_file=metadata is not None and metadata.lower() != "false",
            metadata_sha256=metadata_sha,
        )
        if artifact is not None:
            artifacts.append(artifact)
    return tuple(artifacts)


def parse_find_links_dir(path: Path, index: str = "") -> tuple[Artifact, ...]:
    """Every wheel and sdist directly inside a find-links directory."""
    try:
        files = sorted(p for p in path.iterdir() if p.is_file())
    except OSError as exc:
        raise IndexPageError(f"The find-links directory {path} cannot be read ({exc}).") from None
    found = (artifact_from_filename(p.name, p.resolve().as_uri(), index=index) for p in files)
    return tuple(a for a in found if a is not None)


def for_project(artifacts: Iterable[Artifact], name: str) -> tuple[Artifact, ...]:
    """The files of one (normalized) project, e.g. out of a find-links page."""
    return tuple(a for a in artifacts if a.name == name)


def _absolute(page_url: str, href: str) -> str:
    """``href`` resolved against the page, without a fragment. PyPI's JSON links are
    already absolute: those skip urljoin, the largest cost of parsing a big page."""
    if href.startswith(("https://", "http://")) and "#" not in href and "/." not in href:
        return href
    return urldefrag(urljoin(page_url, href)).url


def _filename(url: str) -> str:
    return unquote(posixpath.basename(urlsplit(url).path))


def _fragment_sha256(fragment: str) -> str | None:
    for part in fragment.split("&"):
        algo, _, value = part.partition("=")
        if algo == "sha256":
            return _sha256(value)
    return None


def _sha256(value: object) -> str | None:
    if isinstance(value, str) and len(value) == 64:
        try:
            int(value, 16)
        except ValueError:
            return None
        return value.lower()
    return None


def _specifier(value: object) -> SpecifierSet | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return _parse_specifier(value)


@functools.lru_cache(maxsize=4096)
def _parse_specifier(value: str) -> SpecifierSet | None:
    # A page repeats a handful of Requires-Python strings thousands of times.
    try:
        return SpecifierSet(value)
    except InvalidSpecifier:
        return None  # pip ignores a malformed Requires-Python rather than the whole page


def _cached_specifier(value: str | None, where: str) -> SpecifierSet | None:
    """A cached Requires-Python, parsed once per string like a page's."""
    if value is None:
        return None
    spec = _parse_specifier(value)
    if spec is None:
        raise CacheEntryError(f"{where} is not a version specifier")
    return spec


def _yanked(value: object) -> str | None:
    if value is False or value is None:
        return None
    if value is True:
        return ""
    return str(value)


# -- the parsed-page cache's value ------------------------------------------------------
# A page's artifacts as plain JSON rows (a warm compile reads thousands of them, so no
# key is repeated per file): each file's filename and url (from which the name, version,
# kind and tags are parsed again, memoised), plus what the page said about it.

_ROW_FIELDS = (
    "filename",
    "url",
    "sha256",
    "index",
    "requires-python",
    "yanked",
    "upload-time",
    "size",
    "has-metadata-file",
    "metadata-sha256",
)
_NONE = type(None)
_OPTIONAL_STR = (str, _NONE)
# The type each field of a row must have, checked in one pass (all(map(isinstance, ...))).
_ROW_TYPES: tuple[Any, ...] = (
    str,
    str,
    _OPTIONAL_STR,
    str,
    _OPTIONAL_STR,
    _OPTIONAL_STR,
    _OPTIONAL_STR,
    (int, _NONE),
    bool,
    _OPTIONAL_STR,
)
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


def artifacts_to_json(artifacts: Iterable[Artifact]) -> dict[str, object]:
    return {
        "fields": list(_ROW_FIELDS),
        "rows": [
            [
                a.filename,
                a.url,
                a.sha256,
                a.index,
                None if a.requires_python is None else str(a.requires_python),
                a.yanked,
                None if a.upload_time is None else a.upload_time.isoformat(),
                a.size,
                a.has_metadata_file,
                a.metadata_sha256,
            ]
            for a in artifacts
        ],
    }


def artifacts_from_json(value: object) -> tuple[Artifact, ...]:
    """The inverse of :func:`artifacts_to_json`; :class:`CacheEntryError` on any other shape."""
    entry = expect_dict(value, "value")
    if entry.get("fields") != list(_ROW_FIELDS):
        raise CacheEntryError("value.fields are not this version's fields")
    artifacts = []
    for position, row in enumerate(expect_list(entry.get("rows"), "value.rows")):
        where = f"value.rows[{position}]"
        if (
            not isinstance(row, list)
            or len(row) != len(_ROW_TYPES)
            or not all(map(isinstance, row, _ROW_TYPES))
            or isinstance(row[7], bool)  # a size; bool is an int to isinstance
        ):
            raise CacheEntryError(f"{where} is not a row of {', '.join(_ROW_FIELDS)}")
        (filename, url, sha256, index, requires_python, yanked, upload_time, size) = row[:8]
        has_metadata_file, metadata_sha256 = row[8], row[9]
        if sha256 is not None and not _HEX_SHA256.fullmatch(sha256):
            raise CacheEntryError(f"{where}: sha256 is not a sha256 hex digest")
        if metadata_sha256 is not None and not _HEX_SHA256.fullmatch(metadata_sha256):
            raise CacheEntryError(f"{where}: metadata-sha256 is not a sha256 hex digest")
        artifact = artifact_from_filename(
            filename,
            url,
            sha256=sha256,
            index=index,
            requires_python=_cached_specifier(requires_python, f"{where}: requires-python"),
            yanked=yanked,
            upload_time=None if upload_time is None else datetime.fromisoformat(upload_time),
            size=size,
            has_metadata_file=has_metadata_file,
            metadata_sha256=metadata_sha256,
        )
        if artifact is None:
            raise CacheEntryError(f"{where}: filename {filename!r} is not a distribution")
        artifacts.append(artifact)
    return tuple(artifacts)


__all__ = [
    "ACCEPT",
    "FileFilter",
    "HTML_TYPE",
    "JSON_TYPE",
    "artifacts_from_json",
    "artifacts_to_json",
    "for_project",
    "parse_find_links_dir",
    "parse_html_page",
    "parse_json_page",
    "parse_project_page",
    "parse_project_page_ahead",
    "version_filter",
]
