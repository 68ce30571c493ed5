"""An in-process package index for hermetic tests.

One `LocalIndexServer` (a threaded `http.server` on 127.0.0.1, random port) serves any number
of independent `LocalIndex`es, each a directory of distribution files:

    GET  /<index>/simple/                     project list (PEP 691 JSON or PEP 503 HTML)
    GET  /<index>/simple/<project>/           project page, by Accept header
    GET  /<index>/files/<filename>            the file; Range requests answered with 206
    HEAD /<index>/files/<filename>            headers only
    GET  /<index>/files/<wheel>.metadata      PEP 658 core metadata of a wheel

Each index has switches to imitate real servers (no PEP 658, no ranges, no JSON, basic auth,
yanked files, garbage pages, flaky 503s) and records every request it gets, so tests can
assert what a client fetched (e.g. that no wheel was downloaded whole).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import html
import json
import re
import shutil
import socket
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from os import utime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from . import dists

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
GarbageMode = Literal["bytes", "badjson", "schema"]
FaultKind = Literal["hang", "drop", "status", "truncate", "wrong-project"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Fault:
    """What the index does instead of answering one path (see `LocalIndex.inject`).

    - "hang": read the request, answer nothing for `seconds`, then close.
    - "drop": close the connection without an answer.
    - "status": answer `status` (with `Retry-After: retry_after` when given).
    - "truncate": promise the whole body in Content-Length, send half, close.
    - "wrong-project": a project page listing the files of project `other`.
    `times`: how many requests the fault answers before the path is served normally
    (None: every request).
    """

    kind: FaultKind
    status: int = 503
    retry_after: str | None = None
    seconds: float = 30.0
    other: str = ""
    times: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RequestRecord:
    """One request an index received (after routing), and how it was answered."""

    method: str
    path: str
    range: str | None
    accept: str | None
    status: int
    headers: tuple[tuple[str, str], ...]


def project_of(filename: str) -> str | None:
    """The normalized project name a distribution filename belongs to (None: not a dist)."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[0]
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename):
        pass
    # Legacy sdist forms (.tar.bz2, odd names): name is everything before the last dash.
    for suffix in (".tar.bz2", ".tgz", ".tar", ".tar.gz", ".zip"):
        if filename.endswith(suffix) and "-" in filename:
            return canonicalize_name(filename[: -len(suffix)].rsplit("-", 1)[0])
    return None


def core_metadata(path: Path) -> bytes | None:
    """METADATA of a wheel or PKG-INFO of an sdist, if the archive has one."""
    try:
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as zf:
                for member in zf.namelist():
                    parts = member.split("/")
                    if (
                        len(parts) == 2
                        and parts[0].endswith(".dist-info")
                        and parts[1] == "METADATA"
                    ):
                        return zf.read(member)
        elif path.name.endswith((".tar.gz", ".tgz")):
            with tarfile.open(path) as tf:
                for member in tf.getmembers():
                    parts = member.name.split("/")
                    if len(parts) == 2 and parts[1] == "PKG-INFO" and member.isfile():
                        fh = tf.extractfile(member)
                        return fh.read() if fh else None
    except (OSError, zipfile.BadZipFile, tarfile.TarError):
        return None
    return None


def _requires_python(path: Path) -> str | None:
    meta = core_metadata(path)
    if meta is None:
        return None
    match = re.search(rb"^Requires-Python:\s*(.+?)\s*$", meta, re.MULTILINE)
    return match.group(1).decode() if match else None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


class LocalIndex:
    """One index: a directory of files plus switches that shape how it is served.

    Switches are plain attributes, changeable at any time:
    - `metadata_files`: serve PEP 658 `.metadata` files for wheels and advertise them
      (off: no attributes and 404, like a proxy without PEP 658).
    - `ranges`: honour Range requests (off: ignore Range and answer 200 with the whole file).
    - `json`: answer PEP 691 JSON when asked (off: always HTML).
    - `basic_auth`: `(user, password)` required on every request (401 otherwise).
    - `upload_times`: include `upload-time` (the file's mtime; see `set_upload_time`).
    - `absolute_urls`: file URLs are absolute (off: relative to the project page).
    - `garbage`: answer pages with nonsense: "bytes" (binary, application/octet-stream),
      "badjson" (JSON content type, unparsable body), "schema" (valid JSON, wrong shape).
    - `flaky`: the next N requests to this index answer 503.
    - `hash_overrides`: filename -> sha256 to advertise instead of the real one.
    - `faults`: per-path faults (`inject`), e.g. a 429 on one project page.
    - `metadata_overrides`: wheel filename -> the METADATA text its `.metadata` file
      serves, with the page advertising that text's hash: consistent but wrong.
    - `requires_python`: state each file's Requires-Python on the page (off: the
      attribute is omitted, as some indexes and mirrors do; the files still say it).
    - `requires_python_overrides`: filename -> the Requires-Python to state on the page
      instead of the file's own (an index that disagrees with the file).
    """

    def __init__(self, server: LocalIndexServer, name: str, directory: Path) -> None:
        self.server = server
        self.name = name
        self.directory = directory
        self.files_dir = directory / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.metadata_files = True
        self.ranges = True
        self.json = True
        self.basic_auth: tuple[str, str] | None = None
        self.upload_times = True
        self.absolute_urls = True
        self.garbage: GarbageMode | None = None
        self.flaky = 0
        self.hash_overrides: dict[str, str] = {}
        self.faults: dict[str, Fault] = {}
        self.metadata_overrides: dict[str, str] = {}
        self.yanked: dict[str, str] = {}
        self.requires_python = True
        self.requires_python_overrides: dict[str, str] = {}
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()

    # --- URLs -------------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        return f"{self.server.url}/{self.name}"

    @property
    def url(self) -> str:
        """The index URL to give a client (`--index-url`), without a trailing slash."""
        return f"{self.root_url}/simple"

    @property
    def auth_url(self) -> str:
        """`url` with the basic-auth credentials embedded (requires `basic_auth`)."""
        assert self.basic_auth, "basic_auth is not set"
        user, password = self.basic_auth
        return self.url.replace("http://", f"http://{user}:{password}@", 1)

    def project_url(self, project: str) -> str:
        return f"{self.url}/{canonicalize_name(project)}/"

    def file_url(self, filename: str) -> str:
        return f"{self.root_url}/files/{filename}"

    # --- content ----------------------------------------------------------------------

    def add(self, paths: Path | str | Iterable[Path | str]) -> list[Path]:
        """Copy one or more distribution files into the index; return the copies."""
        items = [paths] if isinstance(paths, (str, Path)) else list(paths)
        copies = []
        for item in items:
            source = Path(item)
            target = self.files_dir / source.name
            if source.resolve() != target.resolve():
                shutil.copy2(source, target)
            copies.append(target)
        return copies

    def add_wheel(self, name: str, version: str, **kwargs: Any) -> Path:
        """`dists.make_wheel` straight into the index."""
        return dists.make_wheel(self.files_dir, name, version, **kwargs)

    def add_sdist(self, name: str, version: str, **kwargs: Any) -> Path:
        """`dists.make_sdist` straight into the index."""
        return dists.make_sdist(self.files_dir, name, version, **kwargs)

    def yank(self, filename: str, reason: str = "") -> None:
        """Mark a file yanked (PEP 592); an empty reason is served as `true`."""
        self.yanked[filename] = reason

    def inject(self, where: str, fault: Fault) -> str:
        """Make requests to `where` fail; return its URL.

        `where` is a path below the index: "simple/<project>/", "files/<filename>" or
        "files/<wheel>.metadata"."""
        self.faults[where.strip("/")] = fault
        return f"{self.root_url}/{where}"

    def take_fault(self, where: str) -> Fault | None:
        with self._lock:
            fault = self.faults.get(where.strip("/"))
            if fault is not None and fault.times is not None:
                if fault.times <= 1:
                    del self.faults[where.strip("/")]
                else:
                    self.faults[where.strip("/")] = replace(fault, times=fault.times - 1)
            return fault

    def _core_metadata(self, path: Path) -> bytes | None:
        if path.name in self.metadata_overrides:
            return self.metadata_overrides[path.name].encode()
        return core_metadata(path)

    def set_upload_time(self, filename: str, when: datetime) -> None:
        timestamp = when.timestamp()
        utime(self.files_dir / filename, (timestamp, timestamp))

    def projects(self) -> dict[str, list[Path]]:
        """Normalized project name -> its files, sorted."""
        found: dict[str, list[Path]] = {}
        for path in sorted(self.files_dir.iterdir()):
            if path.is_file() and not path.name.endswith(".metadata"):
                project = project_of(path.name)
                if project:
                    found.setdefault(project, []).append(path)
        return found

    # --- the request log --------------------------------------------------------------

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self.requests.append(entry)

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def requests_for(self, filename: str, method: str | None = None) -> list[RequestRecord]:
        """Requests whose path ends with `/<filename>` (e.g. a wheel, or its .metadata)."""
        return [
            r
            for r in list(self.requests)
            if r.path.endswith("/" + filename) and (method is None or r.method == method)
        ]

    def full_downloads(self, filename: str) -> list[RequestRecord]:
        """GETs of `filename` that were answered with the whole file (status 200)."""
        return [r for r in self.requests_for(filename, "GET") if r.status == 200]

    # --- rendering (used by the handler) ------------------------------------------------

    def file_entry(self, path: Path) -> dict[str, Any]:
        data = path.read_bytes()
        url = self.file_url(path.name) if self.absolute_urls else f"../../files/{path.name}"
        entry: dict[str, Any] = {
            "filename": path.name,
            "url": url,
            "hashes": {"sha256": self.hash_overrides.get(path.name, _sha256(data))},
            "yanked": (self.yanked[path.name] or True) if path.name in self.yanked else False,
            "size": len(data),
        }
        requires_python = self.requires_python_overrides.get(path.name) or _requires_python(path)
        if requires_python and self.requires_python:  # PEP 691: optional; a string if there
            entry["requires-python"] = requires_python
        if self.upload_times:
            moment = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            entry["upload-time"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if self.metadata_files and path.name.endswith(".whl"):
            meta = self._core_metadata(path)
            if meta is not None:
                entry["core-metadata"] = {"sha256": _sha256(meta)}
                entry["dist-info-metadata"] = entry["core-metadata"]  # pre-PEP 714 name
        return entry

    def project_json(self, project: str, files: list[Path]) -> dict[str, Any]:
        entries = [self.file_entry(p) for p in files]
        versions = sorted({_version_of(p.name) for p in files} - {None})
        return {
            "meta": {"api-version": "1.1"},
            "name": project,
            "versions": versions,
            "files": entries,
        }

    def project_html(self, project: str, files: list[Path]) -> str:
        links = []
        for entry in (self.file_entry(p) for p in files):
            attrs = [f'href="{html.escape(entry["url"])}#sha256={entry["hashes"]["sha256"]}"']
            if "requires-python" in entry:
                attrs.append(f'data-requires-python="{html.escape(entry["requires-python"])}"')
            if entry["yanked"] is not False:
                reason = "" if entry["yanked"] is True else entry["yanked"]
                attrs.append(f'data-yanked="{html.escape(reason)}"')
            if "core-metadata" in entry:
                value = f"sha256={entry['core-metadata']['sha256']}"
                attrs.append(f'data-core-metadata="{value}"')
                attrs.append(f'data-dist-info-metadata="{value}"')
            links.append(f"    <a {' '.join(attrs)}>{html.escape(entry['filename'])}</a><br/>")
        return (
            "<!DOCTYPE html>\n<html>\n  <head>\n"
            '    <meta name="pypi:repository-version" content="1.1">\n'
            f"    <title>Links for {html.escape(project)}</title>\n  </head>\n  <body>\n"
            f"    <h1>Links for {html.escape(project)}</h1>\n" + "\n".join(links) + "\n"
            "  </body>\n</html>\n"
        )


def _version_of(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def _accept_prefers_json(accept: str | None) -> tuple[bool, str]:
    """Return (json?, html content type) for an Accept header, honouring q-values."""
    if not accept:
        return False, "text/html"
    weights: dict[str, float] = {}
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        q = 1.0
        for param in fields[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        weights[fields[0].lower()] = q
    json_q = weights.get(JSON_TYPE, 0.0)
    html_q = max(weights.get(t, 0.0) for t in (HTML_TYPE, "text/html", "*/*"))
    wants_v1_html = weights.get(HTML_TYPE, 0.0) >= weights.get("text/html", 0.0)
    html_type = HTML_TYPE if HTML_TYPE in weights and wants_v1_html else "text/html"
    return json_q > 0 and json_q >= html_q, html_type


_GARBAGE = {
    "bytes": ("application/octet-stream", b"\x00\xff\xfeGARBAGE\x01\x02 this is not an index\x00"),
    "badjson": (JSON_TYPE, b'{"meta": {"api-version": "1.1"}, "files": [{"filename": '),
    "schema": (JSON_TYPE, b'{"meta": {"api-version": "1.1"}, "files": "not-a-list", "name": 7}'),
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep test output clean

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    # --- plumbing ---------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        head: bool = False,
    ) -> int:
        if self._index is not None:
            # Log before answering: a client that got the answer must find it in the log.
            self._index.record(
                RequestRecord(
                    method=self.command,
                    path=self._path,
                    range=self.headers.get("Range"),
                    accept=self.headers.get("Accept"),
                    status=status,
                    headers=tuple(self.headers.items()),
                )
            )
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not head and body:
            self.wfile.write(body)
        return status

    def _dispatch(self, *, head: bool) -> None:
        self._index: LocalIndex | None = None
        path = unquote(self.path.split("?", 1)[0])
        parts = path.strip("/").split("/")
        index = self.server.owner.indexes.get(parts[0]) if parts and parts[0] else None
        if index is None:
            self._send(404, b"no such index\n", {"Content-Type": "text/plain"}, head=head)
            return
        self._index, self._path = index, path
        self._serve(index, parts[1:], path, head=head)

    def _serve(self, index: LocalIndex, rest: list[str], path: str, *, head: bool) -> int:
        with index._lock:
            flaky = index.flaky > 0
            if flaky:
                index.flaky -= 1
        if flaky:
            return self._send(503, b"try again\n", {"Retry-After": "0"}, head=head)
        if index.basic_auth and not self._authorized(index.basic_auth):
            return self._send(
                401,
                b"auth required\n",
                {"WWW-Authenticate": 'Basic realm="lock-build-test"'},
                head=head,
            )
        fault = index.take_fault("/".join(rest))
        if fault is not None:
            return self._fault(index, fault, rest, head=head)
        if rest[:1] == ["simple"]:
            if len(rest) == 1 or (len(rest) == 2 and rest[1] == ""):
                return self._project_list(index, head=head)
            project = rest[1]
            if canonicalize_name(project) != project or not path.endswith("/"):
                location = f"/{index.name}/simple/{canonicalize_name(project)}/"
                return self._send(301, b"", {"Location": location}, head=head)
            return self._project_page(index, project, head=head)
        if rest[:1] == ["files"] and len(rest) == 2:
            return self._file(index, rest[1], head=head)
        return self._send(404, b"not found\n", {"Content-Type": "text/plain"}, head=head)

    def _fault(self, index: LocalIndex, fault: Fault, rest: list[str], *, head: bool) -> int:
        if fault.kind == "hang":
            time.sleep(fault.seconds)
            self.close_connection = True
            return 0
        if fault.kind == "drop":
            self.close_connection = True
            return 0
        if fault.kind == "status":
            headers = {"Content-Type": "text/plain"}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            return self._send(fault.status, b"fault\n", headers, head=head)
        if fault.kind == "wrong-project":
            files = index.projects().get(fault.other, [])
            return self._page(
                index,
                index.project_json(fault.other, files),
                index.project_html(fault.other, files),
                head=head,
            )
        # truncate: the real answer's headers, half its body, then a closed connection.
        path = index.files_dir / rest[-1]
        data = path.read_bytes() if rest[:1] == ["files"] and path.is_file() else b"x" * 1000
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True
        return 200

    def _authorized(self, creds: tuple[str, str]) -> bool:
        header = self.headers.get("Authorization", "")
        expected = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
        return header == f"Basic {expected}"

    def _page(self, index: LocalIndex, json_body: Any, html_body: str, *, head: bool) -> int:
        want_json, html_type = _accept_prefers_json(self.headers.get("Accept"))
        if index.garbage:
            content_type, body = _GARBAGE[index.garbage]
            return self._send(200, body, {"Content-Type": content_type}, head=head)
        if want_json and index.json:
            body = json.dumps(json_body, indent=1, sort_keys=True).encode()
            content_type = JSON_TYPE
        else:
            body = html_body.encode()
            content_type = html_type
        etag = f'"{_sha256(body)[:32]}"'
        mtimes = [p.stat().st_mtime for p in index.files_dir.iterdir()] or [0.0]
        last_modified = int(max(mtimes))
        headers = {
            "Content-Type": content_type,
            "ETag": etag,
            "Last-Modified": _http_date(last_modified),
            "Cache-Control": "max-age=0, must-revalidate",
            "Vary": "Accept",
        }
        if self._not_modified(etag, last_modified):
            headers.pop("Content-Type")
            return self._send(304, b"", {**headers, "Content-Length": "0"}, head=True)
        return self._send(200, body, headers, head=head)

    def _not_modified(self, etag: str, last_modified: int) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return etag in [tag.strip() for tag in if_none_match.split(",")] or if_none_match == "*"
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                parsed = email.utils.parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
            return parsed.timestamp() >= last_modified
        return False

    def _project_list(self, index: LocalIndex, *, head: bool) -> int:
        names = sorted(index.projects())
        json_body = {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]}
        links = "\n".join(f'    <a href="{n}/">{n}</a><br/>' for n in names)
        html_body = (
            "<!DOCTYPE html>\n<html>\n  <head>\n"
            '    <meta name="pypi:repository-version" content="1.1">\n'
            "    <title>Simple index</title>\n  </head>\n  <body>\n"
            + links
            + "\n  </body>\n</html>\n"
        )
        return self._page(index, json_body, html_body, head=head)

    def _project_page(self, index: LocalIndex, project: str, *, head: bool) -> int:
        files = index.projects().get(project)
        if not files:
            return self._send(404, b"no such project\n", {"Content-Type": "text/plain"}, head=head)
        return self._page(
            index, index.project_json(project, files), index.project_html(project, files), head=head
        )

    def _file(self, index: LocalIndex, filename: str, *, head: bool) -> int:
        if filename.endswith(".metadata"):
            dist = index.files_dir / filename[: -len(".metadata")]
            is_wheel = dist.name.endswith(".whl") and dist.is_file()
            meta = index._core_metadata(dist) if is_wheel else None
            if not index.metadata_files or meta is None:
                return self._send(404, b"not found\n", {"Content-Type": "text/plain"}, head=head)
            return self._send(200, meta, {"Content-Type": "text/plain"}, head=head)
        path = index.files_dir / filename
        if "/" in filename or not path.is_file():
            return self._send(404, b"not found\n", {"Content-Type": "text/plain"}, head=head)
        data = path.read_bytes()
        size = len(data)
        headers = {
            "Content-Type": "application/octet-stream",
            "ETag": f'"{_sha256(data)[:32]}"',
            "Last-Modified": _http_date(path.stat().st_mtime),
        }
        if index.ranges:
            headers["Accept-Ranges"] = "bytes"
        range_header = self.headers.get("Range")
        if index.ranges and range_header:
            span = _parse_range(range_header, size)
            if span == "unsatisfiable":
                headers["Content-Range"] = f"bytes */{size}"
                return self._send(416, b"", headers, head=head)
            if span is not None:
                start, end = span
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
                return self._send(206, data[start : end + 1], headers, head=head)
        return self._send(200, data, headers, head=head)


def _parse_range(header: str, size: int) -> tuple[int, int] | Literal["unsatisfiable"] | None:
    """One `bytes=` range -> inclusive (start, end); None means "serve the whole file"."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if not match or (not match.group(1) and not match.group(2)):
        return None  # multiple or malformed ranges: a server may ignore Range
    first, last = match.groups()
    if not first:  # suffix range: the last N bytes
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LocalIndexServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-response (a compile closing its prefetch pools) is
        # normal; socketserver would print its traceback to sys.stderr, which in-process
        # tests capture as the command's own output.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class LocalIndexServer:
    """The HTTP server; create indexes with `new_index`. Use as a context manager or
    call `start()` / `stop()`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.indexes: dict[str, LocalIndex] = {}
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0
        self._lock = threading.Lock()

    def start(self) -> LocalIndexServer:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="local-index", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> LocalIndexServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def refused_url() -> str:
        """An http URL on 127.0.0.1 where nothing listens (connections are refused)."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return f"http://127.0.0.1:{port}/simple"

    def new_index(self, name: str | None = None, directory: Path | None = None) -> LocalIndex:
        """Register a fresh index (files in `directory`, default under the server root)."""
        with self._lock:
            self._counter += 1
            name = name or f"idx{self._counter}"
            if name in self.indexes:
                raise ValueError(f"index {name!r} already exists")
            index = LocalIndex(self, name, directory or self.root / name)
            self.indexes[name] = index
        return index

    def remove_index(self, index: LocalIndex) -> None:
        with self._lock:
            self.indexes.pop(index.name, None)
