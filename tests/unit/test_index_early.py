"""Root pages asked for early: which URLs, and that the finder's request takes the answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lock_build.errors import NetworkError
from lock_build.index.early import root_page_urls, start_root_pages
from lock_build.index.http import HttpClient
from lock_build.index.pages import ACCEPT
from lock_build.settings import IndexSettings


class _Pages:
    """A server whose /simple/<name>/ pages wait for ``release`` (to prove the answer was
    asked for before get_page) and count every request."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.release = threading.Event()
        outer = self

        class _H(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.requests.append(self.path)
                outer.release.wait(5)
                status = 500 if "broken" in self.path else 200
                body = b'{"meta": {"api-version": "1.1"}, "files": []}'
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/simple/"


@pytest.fixture
def pages() -> Iterator[_Pages]:
    server = _Pages()
    yield server
    server.release.set()
    server.httpd.shutdown()
    server.httpd.server_close()


def test_root_urls_are_every_http_index_times_every_name_once() -> None:
    settings = IndexSettings(
        index_url="https://pypi.org/simple",
        extra_index_urls=("file:///srv/wheels/simple", "https://mirror.example/simple/"),
    )
    assert root_page_urls(settings, ["Django", "django", "zope.interface"]) == [
        "https://pypi.org/simple/django/",
        "https://mirror.example/simple/django/",
        "https://pypi.org/simple/zope-interface/",
        "https://mirror.example/simple/zope-interface/",
    ]


def test_a_started_page_is_fetched_once_and_handed_to_get_page(
    pages: _Pages, tmp_path: Path
) -> None:
    settings = IndexSettings(index_url=pages.url, retries=0)
    client = HttpClient(settings, tmp_path)
    try:
        start_root_pages(client, settings, ["alpha", "beta"])
        for _ in range(500):  # both requests arrive before anyone asks for the pages
            if len(pages.requests) == 2:
                break
            threading.Event().wait(0.01)
        assert sorted(pages.requests) == ["/simple/alpha/", "/simple/beta/"]
        pages.release.set()
        page = client.get_page(f"{pages.url}alpha/", ACCEPT)
        assert page is not None and b'"files": []' in page.body
        assert sorted(pages.requests) == ["/simple/alpha/", "/simple/beta/"]  # no second GET
        client.get_page(f"{pages.url}alpha/", ACCEPT)  # taken once: asked again normally
        assert len(pages.requests) == 3
    finally:
        client.close()


def test_an_early_failure_is_the_askers_error(pages: _Pages, tmp_path: Path) -> None:
    settings = IndexSettings(index_url=pages.url, retries=0)
    client = HttpClient(settings, tmp_path, backoff=0.001)
    pages.release.set()
    try:
        start_root_pages(client, settings, ["broken"])
        with pytest.raises(NetworkError, match="HTTP 500"):
            client.get_page(f"{pages.url}broken/", ACCEPT)
    finally:
        client.close()


def test_offline_starts_nothing(pages: _Pages, tmp_path: Path) -> None:
    settings = IndexSettings(index_url=pages.url, offline=True)
    client = HttpClient(settings, tmp_path)
    try:
        start_root_pages(client, settings, ["alpha"])
    finally:
        client.close()
    assert pages.requests == []
