"""The local index server speaks PEP 503/691/658/592 and HTTP ranges as specified."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from support.index import HTML_TYPE, JSON_TYPE, LocalIndex, LocalIndexServer


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))


def _anchors(text: str) -> list[dict[str, str | None]]:
    parser = _Anchors()
    parser.feed(text)
    return parser.anchors


@pytest.fixture
def populated(local_index: LocalIndex) -> LocalIndex:
    local_index.add_wheel("Demo.Pkg", "1.0", requires_python=">=3.8", requires=["dep"])
    local_index.add_wheel("demo-pkg", "2.0", requires_python=">=3.10")
    local_index.add_sdist("demo-pkg", "2.0", requires_python=">=3.10")
    local_index.add_wheel("other", "0.1")
    local_index.yank("demo_pkg-1.0-py3-none-any.whl", "broken build")
    local_index.set_upload_time("demo_pkg-2.0.tar.gz", datetime(2024, 5, 17, 12, 30, 0, tzinfo=UTC))
    return local_index


def test_project_list_json_and_html(populated: LocalIndex) -> None:
    as_json = requests.get(populated.url + "/", headers={"Accept": JSON_TYPE}, timeout=10)
    assert as_json.headers["Content-Type"] == JSON_TYPE
    assert [p["name"] for p in as_json.json()["projects"]] == ["demo-pkg", "other"]
    as_html = requests.get(populated.url, timeout=10)
    assert as_html.headers["Content-Type"] == "text/html"
    assert [a["href"] for a in _anchors(as_html.text)] == ["demo-pkg/", "other/"]


def test_project_page_json(populated: LocalIndex) -> None:
    page = requests.get(
        populated.project_url("demo-pkg"), headers={"Accept": JSON_TYPE}, timeout=10
    )
    body = page.json()
    assert body["meta"]["api-version"] == "1.1" and body["name"] == "demo-pkg"
    assert body["versions"] == ["1.0", "2.0"]
    files = {f["filename"]: f for f in body["files"]}
    assert sorted(files) == [
        "demo_pkg-1.0-py3-none-any.whl",
        "demo_pkg-2.0-py3-none-any.whl",
        "demo_pkg-2.0.tar.gz",
    ]
    old = files["demo_pkg-1.0-py3-none-any.whl"]
    data = (populated.files_dir / old["filename"]).read_bytes()
    assert old["hashes"] == {"sha256": hashlib.sha256(data).hexdigest()}
    assert old["size"] == len(data)
    assert old["requires-python"] == ">=3.8"
    assert old["yanked"] == "broken build"
    assert old["url"] == populated.file_url(old["filename"])
    metadata = requests.get(old["url"] + ".metadata", timeout=10).content
    assert b"Requires-Dist: dep" in metadata
    assert old["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
    assert old["dist-info-metadata"] == old["core-metadata"]
    sdist = files["demo_pkg-2.0.tar.gz"]
    assert sdist["yanked"] is False and "core-metadata" not in sdist
    assert sdist["requires-python"] == ">=3.10"
    assert sdist["upload-time"] == "2024-05-17T12:30:00.000000Z"


def test_project_page_html(populated: LocalIndex) -> None:
    page = requests.get(
        populated.project_url("demo-pkg"), headers={"Accept": HTML_TYPE}, timeout=10
    )
    assert page.headers["Content-Type"] == HTML_TYPE
    anchors = {a["href"].split("/")[-1].split("#")[0]: a for a in _anchors(page.text)}
    yanked = anchors["demo_pkg-1.0-py3-none-any.whl"]
    assert yanked["data-yanked"] == "broken build"
    assert yanked["data-requires-python"] == ">=3.8"
    assert yanked["data-core-metadata"].startswith("sha256=")
    assert yanked["data-dist-info-metadata"] == yanked["data-core-metadata"]
    data = (populated.files_dir / "demo_pkg-2.0.tar.gz").read_bytes()
    sdist = anchors["demo_pkg-2.0.tar.gz"]
    assert sdist["href"].endswith("#sha256=" + hashlib.sha256(data).hexdigest())
    assert "data-yanked" not in sdist and "data-core-metadata" not in sdist


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html"),
        ("text/html", "text/html"),
        (f"{JSON_TYPE}, {HTML_TYPE};q=0.1, text/html;q=0.01", JSON_TYPE),
        (f"{JSON_TYPE};q=0.2, {HTML_TYPE}", HTML_TYPE),
        (f"{JSON_TYPE};q=0, text/html", "text/html"),
    ],
)
def test_content_negotiation(populated: LocalIndex, accept: str | None, expected: str) -> None:
    headers = {"Accept": accept} if accept else {}
    # requests sends "*/*" by default; drop it so "no Accept" really means none.
    session = requests.Session()
    session.headers.pop("Accept")
    page = session.get(populated.project_url("other"), headers=headers, timeout=10)
    assert page.headers["Content-Type"] == expected


def test_json_switch_and_name_redirect(populated: LocalIndex) -> None:
    populated.json = False
    page = requests.get(populated.url + "/Demo_Pkg", headers={"Accept": JSON_TYPE}, timeout=10)
    assert page.history[0].status_code == 301
    assert page.url == populated.project_url("demo-pkg")
    assert page.headers["Content-Type"] == "text/html"


def test_metadata_files_off(populated: LocalIndex) -> None:
    populated.metadata_files = False
    page = requests.get(populated.project_url("other"), headers={"Accept": JSON_TYPE}, timeout=10)
    (entry,) = page.json()["files"]
    assert "core-metadata" not in entry and "dist-info-metadata" not in entry
    assert "requires-python" not in entry  # none declared: key absent, not null
    html = requests.get(populated.project_url("other"), timeout=10).text
    assert "data-core-metadata" not in html and "data-dist-info-metadata" not in html
    assert requests.get(entry["url"] + ".metadata", timeout=10).status_code == 404


def test_range_requests_and_log(populated: LocalIndex) -> None:
    name = "demo_pkg-2.0-py3-none-any.whl"
    data = (populated.files_dir / name).read_bytes()
    url = populated.file_url(name)
    head = requests.head(url, timeout=10)
    assert head.status_code == 200 and head.headers["Accept-Ranges"] == "bytes"
    assert int(head.headers["Content-Length"]) == len(data) and head.content == b""
    tail = requests.get(url, headers={"Range": "bytes=-22"}, timeout=10)
    assert tail.status_code == 206 and tail.content == data[-22:]
    assert tail.headers["Content-Range"] == f"bytes {len(data) - 22}-{len(data) - 1}/{len(data)}"
    middle = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert middle.status_code == 206 and middle.content == data[10:20]
    beyond = requests.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=10)
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(data)}"

    log = populated.requests_for(name)
    assert [(r.method, r.range, r.status) for r in log] == [
        ("HEAD", None, 200),
        ("GET", "bytes=-22", 206),
        ("GET", "bytes=10-19", 206),
        ("GET", f"bytes={len(data)}-", 416),
    ]
    assert populated.full_downloads(name) == []


def test_ranges_off_serves_whole_file(populated: LocalIndex) -> None:
    populated.ranges = False
    name = "other-0.1-py3-none-any.whl"
    answer = requests.get(populated.file_url(name), headers={"Range": "bytes=0-9"}, timeout=10)
    assert answer.status_code == 200 and "Accept-Ranges" not in answer.headers
    assert answer.content == (populated.files_dir / name).read_bytes()
    assert len(populated.full_downloads(name)) == 1


def test_basic_auth(populated: LocalIndex) -> None:
    populated.basic_auth = ("alice", "s3cret")
    denied = requests.get(populated.url + "/", timeout=10)
    assert denied.status_code == 401 and "Basic" in denied.headers["WWW-Authenticate"]
    wrong = requests.get(populated.url + "/", auth=("alice", "nope"), timeout=10)
    assert wrong.status_code == 401
    allowed = requests.get(populated.url + "/", auth=("alice", "s3cret"), timeout=10)
    assert allowed.status_code == 200
    assert requests.get(populated.auth_url + "/", timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("mode", "content_type"),
    [("bytes", "application/octet-stream"), ("badjson", JSON_TYPE), ("schema", JSON_TYPE)],
)
def test_garbage_modes(populated: LocalIndex, mode: str, content_type: str) -> None:
    populated.garbage = mode
    page = requests.get(populated.project_url("other"), headers={"Accept": JSON_TYPE}, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"] == content_type
    if mode == "schema":
        assert not isinstance(page.json()["files"], list)
    else:
        with pytest.raises(ValueError):
            json.loads(page.content)


def test_flaky_then_healthy(populated: LocalIndex) -> None:
    populated.flaky = 2
    statuses = [requests.get(populated.url + "/", timeout=10).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert [r.status for r in populated.requests] == [503, 503, 200]


def test_conditional_requests(populated: LocalIndex) -> None:
    url = populated.project_url("other")
    first = requests.get(url, timeout=10)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert requests.get(url, headers={"If-None-Match": etag}, timeout=10).status_code == 304
    assert requests.get(url, headers={"If-Modified-Since": modified}, timeout=10).status_code == 304
    populated.add_wheel("other", "0.2")  # a new file changes the page
    changed = requests.get(url, headers={"If-None-Match": etag}, timeout=10)
    assert changed.status_code == 200 and "other-0.2-py3-none-any.whl" in changed.text


def test_indexes_are_independent(index_server: LocalIndexServer, tmp_path: Path) -> None:
    first = index_server.new_index(directory=tmp_path / "one")
    second = index_server.new_index(directory=tmp_path / "two")
    try:
        first.add_wheel("only-here", "1.0")
        assert requests.get(first.project_url("only-here"), timeout=10).status_code == 200
        assert requests.get(second.project_url("only-here"), timeout=10).status_code == 404
        assert second.requests[0].status == 404 and len(first.requests) == 1
    finally:
        index_server.remove_index(first)
        index_server.remove_index(second)


def test_unknown_paths_are_404(populated: LocalIndex, index_server: LocalIndexServer) -> None:
    assert requests.get(index_server.url + "/no-such-index/simple/", timeout=10).status_code == 404
    assert requests.get(populated.file_url("missing.whl"), timeout=10).status_code == 404
    sdist_meta = populated.file_url("demo_pkg-2.0.tar.gz") + ".metadata"
    assert requests.get(sdist_meta, timeout=10).status_code == 404


def test_pip_download_against_relative_urls(populated: LocalIndex, tmp_path: Path) -> None:
    """A real client (pip) resolves relative file URLs and honours yanks."""
    import subprocess
    import sys

    populated.absolute_urls = False
    result = subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
            "--only-binary", ":all:", "--index-url", populated.url, "-d", str(tmp_path),
            "demo-pkg==1.0",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo_pkg-1.0-py3-none-any.whl").is_file()
    assert "yanked" in result.stderr.lower() and "broken build" in result.stderr


def test_a_client_hanging_up_mid_response_prints_nothing(
    local_index: LocalIndex, capfd: pytest.CaptureFixture[str]
) -> None:
    """In-process compile tests capture sys.stderr as the command's output: the server
    must not print a traceback there when a compile closes a connection early."""
    import os
    import socket
    import time
    from urllib.parse import urlsplit

    wheel = local_index.add_wheel("big", "1.0", files={"big/blob.txt": os.urandom(8 << 20).hex()})
    parts = urlsplit(local_index.root_url)
    path = f"{parts.path}/files/{wheel.name}"
    for _ in range(3):
        with socket.create_connection((parts.hostname, parts.port)) as client:
            client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert client.recv(1024).startswith(b"HTTP/1.1 200")  # started; hang up now
            linger_zero = (1).to_bytes(4, "little") + (0).to_bytes(4, "little")
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger_zero)  # a reset
    time.sleep(0.5)  # the server's thread meets the reset
    assert "Traceback" not in capfd.readouterr().err
