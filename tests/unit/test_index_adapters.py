"""The transport adapters: one loaded CA bundle per run, real TLS verification kept,
and index pages CacheControl cannot store not copied through it."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cachecontrol.adapter
import pytest
import trustme

from lock_build.errors import NetworkError
from lock_build.index.http import HttpClient
from lock_build.settings import IndexSettings
from support.spies import bundle_load_spy


class PageServer:
    """Serves ``body`` with ``headers`` at every path, over TLS when given a context;
    records the client port of every request (one port per connection)."""

    def __init__(
        self, body: bytes, headers: dict[str, str], tls: ssl.SSLContext | None = None
    ) -> None:
        self.ports: list[int] = []
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: connections are pooled and reused

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.ports.append(self.client_address[1])
                self.send_response(200)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def bundle(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "bundle.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _tls_for(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def https_server(ca: trustme.CA) -> Iterator[PageServer]:
    server = PageServer(b"<a href='x'>x</a>", {"Content-Type": "text/html"}, _tls_for(ca))
    yield server
    server.stop()


def _client(**settings: object) -> HttpClient:
    return HttpClient(IndexSettings(retries=0, **settings), backoff=0.001)  # type: ignore[arg-type]


def test_a_bundle_is_loaded_once_for_every_connection(
    https_server: PageServer, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = bundle_load_spy(monkeypatch)
    http = _client(cert=str(bundle))
    barrier = threading.Barrier(6)

    def fetch(i: int) -> bytes:
        barrier.wait()  # all at once, so the pools open several connections
        url = f"{https_server.url}/simple/p{i}/"
        if i % 2:
            return http.get_bytes(url)
        page = http.get_page(url, "text/html")
        assert page is not None
        return page.body

    with ThreadPoolExecutor(6) as pool:
        bodies = list(pool.map(fetch, range(6)))
    http.close()
    assert bodies == [b"<a href='x'>x</a>"] * 6
    assert len(set(https_server.ports)) > 1  # several TLS connections were made
    assert loads.count(str(bundle)) == 1  # and the bundle was read for the first only


def test_plain_verification_loads_the_default_bundle_once_too(
    https_server: PageServer, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No bundle named anywhere: requests verifies against certifi's, which urllib3
    would load again for each connection; here it is one shared context as well."""
    from lock_build.index import adapters

    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setattr(adapters, "DEFAULT_CA_BUNDLE_PATH", str(bundle))  # as certifi's
    loads = bundle_load_spy(monkeypatch)
    http = _client()
    barrier = threading.Barrier(4)

    def fetch(i: int) -> bytes:
        barrier.wait()
        return http.get_bytes(f"{https_server.url}/f{i}")

    with ThreadPoolExecutor(4) as pool:
        bodies = list(pool.map(fetch, range(4)))
    http.close()
    assert bodies == [b"<a href='x'>x</a>"] * 4
    assert len(set(https_server.ports)) > 1
    assert loads.count(str(bundle)) == 1


def test_a_certificate_from_another_authority_is_refused(bundle: Path) -> None:
    stranger = PageServer(b"x", {}, _tls_for(trustme.CA()))
    try:
        with pytest.raises(NetworkError, match="127.0.0.1"):
            _client(cert=str(bundle)).get_bytes(f"{stranger.url}/f")
    finally:
        stranger.stop()


def test_a_trusted_host_is_not_verified(bundle: Path, recwarn: pytest.WarningsRecorder) -> None:
    stranger = PageServer(b"x", {}, _tls_for(trustme.CA()))
    try:
        http = _client(cert=str(bundle), trusted_hosts=("127.0.0.1",))
        assert http.get_bytes(f"{stranger.url}/f") == b"x"
        assert not [w for w in recwarn if "Unverified" in str(w.message)]  # asked for: no nag
    finally:
        stranger.stop()


@pytest.mark.parametrize(
    ("headers", "copied"),
    [
        ({}, False),  # no ETag, Expires or Cache-Control: nothing to store
        ({"ETag": '"v1"'}, True),
        ({"Cache-Control": "max-age=600"}, True),
        ({"Cache-Control": "no-store"}, True),  # CacheControl purges on no-store
    ],
)
def test_only_pages_cachecontrol_can_store_are_copied_through_it(
    headers: dict[str, str],
    copied: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrapped: list[object] = []
    original = cachecontrol.adapter.CallbackFileWrapper

    def spy(*args: object, **kwargs: object) -> object:
        wrapped.append(args)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cachecontrol.adapter, "CallbackFileWrapper", spy)
    server = PageServer(b"<a>x</a>", {"Content-Type": "text/html", **headers})
    try:
        http = HttpClient(IndexSettings(retries=0), tmp_path)
        page = http.get_page(f"{server.url}/simple/demo/", "text/html")
        assert page is not None and page.body == b"<a>x</a>" and not page.from_cache
        assert bool(wrapped) is copied
    finally:
        server.stop()


def test_pages_read_in_one_piece_keep_their_connection(tmp_path: Path) -> None:
    body = b"<a href='x'>x</a>" * 50_000  # big enough to arrive in many TCP reads
    server = PageServer(body, {"Content-Type": "text/html"})
    try:
        http = HttpClient(IndexSettings(retries=0), tmp_path)
        pages = [http.get_page(f"{server.url}/simple/p{i}/", "text/html") for i in range(4)]
        assert all(page is not None and page.body == body for page in pages)
        assert len(server.ports) == 4 and len(set(server.ports)) == 1  # one kept-alive socket
    finally:
        server.stop()
