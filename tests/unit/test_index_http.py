"""HttpClient against a tiny in-process server: caching, retries, credentials, ranges, hashes."""

from __future__ import annotations

import base64
import hashlib
import importlib.machinery
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lock_build.errors import HashMismatchError, IndexPageError, NetworkError
from lock_build.index.http import HttpClient, redact
from lock_build.reporting import NullReporter
from lock_build.settings import IndexSettings
from support.index import Fault

Reply = tuple[int, dict[str, str], bytes]
Handler = Callable[[str, str, dict[str, str]], Reply]


class Server:
    """Answers every request with ``handler(method, path, headers)`` and logs it."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.log: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class _H(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                headers = dict(self.headers.items())
                outer.log.append((self.command, self.path, headers))
                status, reply_headers, body = outer.handler(self.command, self.path, headers)
                self.send_response(status)
                for key, value in reply_headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], Server]]:
    servers: list[Server] = []

    def start(handler: Handler) -> Server:
        servers.append(Server(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def client(tmp_path: Path | None = None, **settings: object) -> HttpClient:
    settings.setdefault("retries", 2)
    return HttpClient(IndexSettings(**settings), tmp_path, backoff=0.001)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pa55@host/simple/", "https://user:****@host/simple/"),
        ("https://tok3n@host:8443/simple/", "https://****@host:8443/simple/"),
        ("https://host/f.whl?token=abc&x=1", "https://host/f.whl?token=****&x=1"),
        ("https://host/simple/", "https://host/simple/"),
        ("file:///opt/wheels", "file:///opt/wheels"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_page_found_missing_and_revalidated(serve, tmp_path: Path) -> None:
    def handler(method: str, path: str, headers: dict[str, str]) -> Reply:
        if path != "/simple/demo/":
            return 404, {}, b"nope"
        if headers.get("If-None-Match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return 200, {"Content-Type": "text/html", "ETag": '"v1"'}, b"<a href='x'>x</a>"

    server = serve(handler)
    http = client(tmp_path)
    first = http.get_page(f"{server.url}/simple/demo/", "text/html")
    assert first is not None and first.body == b"<a href='x'>x</a>" and not first.from_cache
    assert first.content_type == "text/html"
    second = http.get_page(f"{server.url}/simple/demo/", "text/html")
    assert second is not None and second.body == first.body and second.from_cache
    # No freshness given: the second request revalidated with the ETag.
    assert len(server.log) == 2
    assert server.log[-1][2].get("If-None-Match") == '"v1"'
    assert http.get_page(f"{server.url}/simple/missing/", "text/html") is None
    assert (tmp_path / "http").is_dir()


def test_a_fresh_cached_page_costs_no_request(serve, tmp_path: Path) -> None:
    def handler(method: str, path: str, headers: dict[str, str]) -> Reply:
        return 200, {"Content-Type": "text/html", "Cache-Control": "max-age=600"}, b"<a>x</a>"

    server = serve(handler)
    http = client(tmp_path)
    first = http.get_page(f"{server.url}/simple/demo/", "text/html")
    second = http.get_page(f"{server.url}/simple/demo/", "text/html")
    assert first is not None and second is not None
    assert second.body == first.body and second.from_cache
    assert len(server.log) == 1  # max-age=600, as PyPI sends: not asked again


def test_retries_then_network_error_without_credentials(serve) -> None:
    server = serve(lambda m, p, h: (503, {}, b"busy"))
    http = client(retries=3)
    url = server.url.replace("http://", "http://alice:hunter2@") + "/simple/demo/"
    with pytest.raises(NetworkError) as info:
        http.get_page(url, "text/html")
    assert len(server.log) == 4  # first try + 3 retries
    text = info.value.render() + (info.value.detail or "")
    assert "hunter2" not in text and "alice:****@127.0.0.1" in text
    assert info.value.url == url.replace("hunter2", "****")


def test_connection_refused_is_a_network_error(serve) -> None:
    server = serve(lambda m, p, h: (200, {}, b""))
    url = server.url.replace("http://", "http://bob:t0psecret@") + "/simple/"
    server.stop()
    with pytest.raises(NetworkError) as info:
        client(retries=1).get_bytes(url)
    assert "t0psecret" not in info.value.render() + (info.value.detail or "")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_index_credentials_apply_to_files_on_the_same_host(serve) -> None:
    wanted = _basic("alice", "hunter2")

    def handler(method: str, path: str, headers: dict[str, str]) -> Reply:
        if headers.get("Authorization") != wanted:
            return 401, {}, b""
        return 200, {}, b"content"

    server = serve(handler)
    index = server.url.replace("http://", "http://alice:hunter2@") + "/simple"
    http = client(index_url=index)
    assert http.get_bytes(f"{server.url}/files/demo-1.0.tar.gz") == b"content"
    # A host without configured credentials is refused, and the error says so.
    anonymous = client()
    with pytest.raises(IndexPageError, match="refused access") as info:
        anonymous.get_bytes(f"{server.url}/files/demo-1.0.tar.gz")
    assert info.value.hint and "netrc" in info.value.hint
    assert (info.value.url, info.value.status) == (f"{server.url}/files/demo-1.0.tar.gz", 401)


def test_netrc_credentials(serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login carol password n3trc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    server = serve(lambda m, p, h: (200, {}, h.get("Authorization", "").encode()))
    assert client().get_bytes(f"{server.url}/x") == _basic("carol", "n3trc").encode()


def test_ranges_honoured_and_refused(serve) -> None:
    data = bytes(range(256)) * 4

    def handler(method: str, path: str, headers: dict[str, str]) -> Reply:
        spec = headers.get("Range")
        if path == "/plain" or not spec:
            return 200, {}, data
        first, last = spec.removeprefix("bytes=").split("-")
        if first:
            start, end = int(first), int(last)
        else:  # a suffix range: the last N bytes
            start, end = len(data) - int(last), len(data) - 1
        return 206, {"Content-Range": f"bytes {start}-{end}/{len(data)}"}, data[start : end + 1]

    server = serve(handler)
    http = client()
    assert http.get_range(f"{server.url}/f", 10, 19) == data[10:20]
    assert http.get_tail(f"{server.url}/f", 100) == (data[-100:], len(data))
    assert http.get_range(f"{server.url}/plain", 10, 19) is None
    assert http.get_tail(f"{server.url}/plain", 100) is None


def test_download_verifies_and_is_atomic(serve, tmp_path: Path) -> None:
    body = b"wheel bytes" * 1000
    server = serve(lambda m, p, h: (200, {}, body))
    http = client()
    good = hashlib.sha256(body).hexdigest()
    seen: list[tuple[int, int | None]] = []
    dest = tmp_path / "out" / "demo-1.0.tar.gz"
    assert http.download(f"{server.url}/f", dest, good, lambda d, t: seen.append((d, t))) == good
    assert dest.read_bytes() == body and seen[-1] == (len(body), len(body))
    bad_dest = tmp_path / "out" / "other-1.0.tar.gz"
    secret = server.url.replace("http://", "http://dora:s3cret@") + "/f"
    with pytest.raises(HashMismatchError, match="0000") as info:
        http.download(secret, bad_dest, "0" * 64)
    assert not bad_dest.exists()
    error = info.value
    assert (error.url, error.expected, error.got) == (
        secret.replace("s3cret", "****"),
        ("0" * 64,),
        good,
    )
    assert error.message == f"{error.url} has sha256 {good}, but {'0' * 64} was expected."
    assert sorted(p.name for p in dest.parent.iterdir()) == ["demo-1.0.tar.gz"]


def test_file_urls(tmp_path: Path) -> None:
    project = tmp_path / "simple" / "demo"
    project.mkdir(parents=True)
    (project / "index.html").write_text('<a href="../../files/demo-1.0.tar.gz">d</a>')
    (tmp_path / "blob").write_bytes(b"0123456789")
    http = client()
    page = http.get_page((tmp_path / "simple" / "demo").as_uri() + "/", "text/html")
    assert page is not None and page.content_type == "text/html" and b"demo-1.0" in page.body
    assert http.get_page((tmp_path / "simple" / "nope").as_uri() + "/", "text/html") is None
    assert http.get_range((tmp_path / "blob").as_uri(), 2, 4) == b"234"
    assert http.head((tmp_path / "blob").as_uri())["Content-Length"] == "10"
    dest = tmp_path / "copy"
    digest = hashlib.sha256(b"0123456789").hexdigest()
    assert http.download((tmp_path / "blob").as_uri(), dest) == digest


# -- index faults: each ends in one message naming what happened and the URL, in bounded time


FAULTS = {
    "hang": (Fault(kind="hang", seconds=5), "did not answer within 0.5 s (after 1 retry)"),
    "drop": (Fault(kind="drop"), "closed the connection without an answer (after 1 retry)"),
    "503": (
        Fault(kind="status", status=503),
        "answered HTTP 503 (Service Unavailable) after 1 retry",
    ),
    "500": (
        Fault(kind="status", status=500),
        "answered HTTP 500 (Internal Server Error) after 1 retry",
    ),
    "429-retry-after": (
        Fault(kind="status", status=429, retry_after="3600"),
        "answered HTTP 429 (Too Many Requests, Retry-After: 3600) after 1 retry",
    ),
    "truncated": (Fault(kind="truncate"), "was cut off (truncated body) while reading"),
}


class _Statuses(NullReporter, list[str]):
    """A reporter keeping its status lines."""

    def status(self, text: str) -> None:
        self.append(text)


@pytest.mark.parametrize("case", sorted(FAULTS))
def test_index_fault_is_one_clear_error(local_index, case: str) -> None:  # noqa: ANN001
    fault, expected = FAULTS[case]
    local_index.add_wheel("alpha", "1.0")
    url = local_index.inject("simple/alpha/", fault).replace("http://", "http://al:hunter2@")
    waits: list[float] = []
    events = _Statuses()
    http = HttpClient(
        IndexSettings(retries=1, timeout=0.5), backoff=0.001, sleep=waits.append, reporter=events
    )
    with pytest.raises(NetworkError) as info:
        http.get_page(url, "text/html")
    message = info.value.render()
    assert expected in message, message
    assert "al:****@127.0.0.1" in message and "hunter2" not in message + str(info.value.detail)
    if case == "429-retry-after":
        # Honoured, but capped at 60 s, once per retry; and said while waiting.
        assert waits == [60.0]
        assert events == [
            f"{redact(url)} answered HTTP 429 (Retry-After: 3600); retry 1 of 1 in 60 s"
        ]


@pytest.mark.parametrize(
    ("retry_after", "retries", "waits"),
    [
        ("7", 3, [7.0, 7.0, 7.0]),
        ("3600", 2, [60.0, 60.0]),
        (None, 2, [0.001, 0.002]),
        ("x", 1, [0.001]),
    ],
)
def test_retry_after_bounds(
    local_index, retry_after: str | None, retries: int, waits: list[float]
) -> None:  # noqa: ANN001
    local_index.add_wheel("alpha", "1.0")
    url = local_index.inject(
        "simple/alpha/", Fault(kind="status", status=429, retry_after=retry_after)
    )
    slept: list[float] = []
    http = HttpClient(IndexSettings(retries=retries), backoff=0.001, sleep=slept.append)
    with pytest.raises(NetworkError, match="HTTP 429"):
        http.get_page(url, "text/html")
    assert slept == pytest.approx(waits)
    assert len(local_index.requests_for("alpha/")) == retries + 1


def test_a_fault_that_clears_is_retried_through(local_index) -> None:  # noqa: ANN001
    local_index.add_wheel("alpha", "1.0")
    url = local_index.inject(
        "simple/alpha/", Fault(kind="status", status=503, retry_after="1", times=1)
    )
    slept: list[float] = []
    page = HttpClient(IndexSettings(retries=2), sleep=slept.append).get_page(url, "text/html")
    assert page is not None and b"alpha-1.0" in page.body and slept == [1.0]


def test_refused_connection_names_the_url(index_server) -> None:  # noqa: ANN001
    url = index_server.refused_url().replace("http://", "http://al:hunter2@") + "/alpha/"
    with pytest.raises(NetworkError) as info:
        HttpClient(IndexSettings(retries=1), backoff=0.001).get_page(url, "text/html")
    assert f"{redact(url)} refused the connection (after 1 retry)." in info.value.render()


def test_tls_failure_names_the_url(local_index) -> None:  # noqa: ANN001
    url = local_index.project_url("alpha").replace("http://", "https://")
    with pytest.raises(NetworkError) as info:
        HttpClient(IndexSettings(retries=0), backoff=0.001).get_page(url, "text/html")
    assert info.value.render().startswith(f"TLS failed for {url} (")


def test_truncated_download_keeps_nothing(local_index, tmp_path: Path) -> None:  # noqa: ANN001
    wheel = local_index.add_wheel("alpha", "1.0")
    url = local_index.inject(f"files/{wheel.name}", Fault(kind="truncate"))
    with pytest.raises(NetworkError, match="truncated body.* while downloading"):
        HttpClient(IndexSettings(retries=0)).download(url, tmp_path / "out" / wheel.name)
    assert list((tmp_path / "out").iterdir()) == []


def test_keyring_credentials_are_asked_for_the_url_then_its_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pip's keyring habit: the URL first, then the host; a failing backend counts as none."""
    import sys
    import types

    from lock_build.index.http import keyring_credentials

    asked: list[str] = []

    def get_credential(service: str, username: str | None) -> object:
        asked.append(service)
        if service == "pypi.internal":
            return types.SimpleNamespace(username="al", password="s3cret")
        return None

    fake = types.ModuleType("keyring")
    fake.get_credential = get_credential  # type: ignore[attr-defined]
    fake.__spec__ = importlib.machinery.ModuleSpec("keyring", None)
    monkeypatch.setitem(sys.modules, "keyring", fake)

    assert keyring_credentials("https://pypi.internal/simple/x/") == ("al", "s3cret")
    assert asked == ["https://pypi.internal/simple/x/", "pypi.internal"]

    def broken(service: str, username: str | None) -> object:
        raise RuntimeError("no backend")

    fake.get_credential = broken  # type: ignore[attr-defined]
    assert keyring_credentials("https://pypi.internal/simple/x/") is None
