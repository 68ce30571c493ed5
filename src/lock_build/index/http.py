"""Everything that talks HTTP (or reads ``file://`` URLs as if it did).

One client per run: connection pools shared by worker threads, index pages cached
and revalidated with CacheControl, retries with backoff, pip's TLS / proxy / credential
options. Foreign exceptions end here as :class:`NetworkError` / :class:`IndexPageError`
with every URL redacted.

Why one long module: the one :class:`HttpClient` owns the session, retries, ranged
reads, credentials and the translation of every ``requests``/``urllib3`` exception into
:class:`NetworkError`; what remains beside it (``file://`` pages, retry waits, keyring)
are its private parts. The pure page parsing already lives in ``pages.py``.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import http.client
import importlib.util
import os
import re
import socket
import ssl
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import requests
from cachecontrol import CacheControlAdapter
from cachecontrol.caches import FileCache
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth
from requests.utils import get_netrc_auth
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    InsecureRequestWarning,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from lock_build import __version__
from lock_build.errors import HashMismatchError, IndexPageError, NetworkError, OfflineError
from lock_build.index import tls_contexts
from lock_build.index.adapters import SharedBundleAdapter, SharedBundleCacheAdapter
from lock_build.redaction import redact
from lock_build.reporting import NULL_REPORTER, Reporter
from lock_build.settings import IndexSettings
from lock_build.urls import file_url_to_path

Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes if known)

_CHUNK = 1 << 16
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # seconds: the longest a Retry-After makes one retry wait


__all__ = ["HttpClient", "Page", "file_url_to_path", "redact", "strip_credentials"]


def strip_credentials(url: str) -> str:
    """``url`` with its userinfo removed (what is requested; cache keys and comparisons).

    Not for display: query-string tokens stay. Text shown or stored goes through
    :func:`lock_build.redaction.redact`.
    """
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))


@dataclass(frozen=True, kw_only=True, slots=True)
class Page:
    """An index or find-links page as fetched: ``url`` is the final URL (after redirects)."""

    url: str
    content_type: str
    body: bytes
    from_cache: bool = False


class HttpClient:
    """HTTP(S) and file:// access for the index layer.

    ``backoff`` (seconds, doubled per retry) and ``sleep`` are only replaced by tests;
    ``reporter`` hears about every wait before a retry (the CLI shows it).
    """

    def __init__(
        self,
        settings: IndexSettings,
        cache_dir: Path | None = None,
        *,
        backoff: float = 0.25,
        pool_size: int = 16,
        reporter: Reporter = NULL_REPORTER,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self.timeout = settings.timeout
        self._backoff = backoff
        self._reporter = reporter
        # urllib3 retries connection faults; statuses (429, 5xx) are retried in _request,
        # which bounds Retry-After and says on the terminal what it waits for.
        retry = Retry(
            total=settings.retries,
            connect=settings.retries,
            read=settings.retries,
            status=0,
            redirect=10,
            backoff_factor=backoff,
            status_forcelist=(),
            allowed_methods=frozenset({"GET", "HEAD"}),
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        # Both sessions verify against the same loaded bundle, loading while we set up.
        bundles = tls_contexts.SHARED
        tls_contexts.preload((*settings.index_urls, *settings.find_links), settings.cert)
        self._files = self._session(
            SharedBundleAdapter(bundles, max_retries=retry, pool_maxsize=pool_size)
        )
        self._cache_dir = cache_dir
        self._page_cache: CacheControlAdapter | None = None
        page_adapter: HTTPAdapter = SharedBundleAdapter(
            bundles, max_retries=retry, pool_maxsize=pool_size
        )
        if cache_dir is not None:
            cache = FileCache(str(cache_dir / "http"), lock_class=_file_lock)  # type: ignore[arg-type]
            self._page_cache = SharedBundleCacheAdapter(
                bundles, cache=cache, max_retries=retry, pool_maxsize=pool_size
            )
            page_adapter = self._page_cache
        self._pages = self._session(page_adapter)
        # pip applies an index URL's credentials to every URL on the same host (files
        # are often served from the index host without userinfo in their links).
        self._host_auth: dict[str, tuple[str, str]] = {}
        self._netrc_by_host: dict[str, tuple[str, str] | None] = {}
        for url in (*settings.index_urls, *settings.find_links):
            self.remember_credentials(url)
        if settings.trusted_hosts:
            # Only trusted hosts go unverified, and the user named them: no warning per
            # request (pip gives none either).
            warnings.filterwarnings("ignore", category=InsecureRequestWarning)
        # Pages asked for before anyone needed them (see start_pages), by (url, accept).
        self._early: dict[tuple[str, str], Future[Page | None]] = {}
        self._early_lock = threading.Lock()
        self._early_pool: ThreadPoolExecutor | None = None

    def _session(self, adapter: HTTPAdapter) -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = f"lock-build/{__version__}"
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        if self.settings.proxy:
            session.proxies = {"http": self.settings.proxy, "https": self.settings.proxy}
        if self.settings.client_cert:
            session.cert = self.settings.client_cert
        return session

    def close(self) -> None:
        if self._early_pool is not None:
            self._early_pool.shutdown(wait=True, cancel_futures=True)
        self._files.close()
        self._pages.close()

    # -- credentials and TLS ------------------------------------------------------

    def remember_credentials(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.username is not None:
            self._host_auth.setdefault(
                parts.hostname or "", (unquote(parts.username), unquote(parts.password or ""))
            )

    def _auth(self, url: str) -> HTTPBasicAuth | None:
        parts = urlsplit(url)
        if parts.username is not None:
            return HTTPBasicAuth(unquote(parts.username), unquote(parts.password or ""))
        host = parts.hostname or ""
        known = self._host_auth.get(host)
        if known:
            return HTTPBasicAuth(*known)
        netrc = self._netrc_auth(host, url)
        if netrc:
            return HTTPBasicAuth(*netrc)
        found = keyring_credentials(url) if self._keyring_installed else None
        return HTTPBasicAuth(*found) if found else None

    def _netrc_auth(self, host: str, url: str) -> tuple[str, str] | None:
        # netrc names hosts, so one read per host serves every request to it.
        if host not in self._netrc_by_host:
            self._netrc_by_host[host] = get_netrc_auth(url)
        return self._netrc_by_host[host]

    @functools.cached_property
    def _keyring_installed(self) -> bool:
        # Asked once: find_spec takes the import lock, which every request thread would
        # otherwise queue on while the main thread imports.
        return importlib.util.find_spec("keyring") is not None

    def _verify(self, url: str) -> bool | str:
        host = urlsplit(url).hostname or ""
        port_host = urlsplit(url).netloc.rsplit("@", 1)[-1]
        if host in self.settings.trusted_hosts or port_host in self.settings.trusted_hosts:
            return False
        return self.settings.cert or True

    def _request(
        self,
        session: requests.Session,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """One request, retried on 429/5xx at most ``retries`` times.

        Each wait is the server's Retry-After capped at 60 s (else an exponential
        backoff), so a ``Retry-After: 3600`` costs a minute per retry, not an hour.
        The last answer is returned; :meth:`_check` turns it into the error.
        """
        if self.settings.offline:
            raise OfflineError(
                f"--offline: {redact(url)} is not in the cache.",
                url=redact(url),
                hint="Run once without --offline to fill the cache.",
            )
        attempt = 0
        while True:
            response = self._send(session, method, url, headers, stream)
            status = response.status_code
            if status not in _RETRY_STATUSES or attempt >= self.settings.retries:
                return response
            attempt += 1
            asked = response.headers.get("Retry-After")
            wait = _retry_wait(asked, self._backoff * (2 ** (attempt - 1)))
            response.close()
            self._reporter.status(
                f"{redact(url)} answered HTTP {status}"
                + (f" (Retry-After: {asked})" if asked else "")
                + f"; retry {attempt} of {self.settings.retries} in {wait:.0f} s"
            )
            self._sleep(wait)

    def _send(
        self,
        session: requests.Session,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        stream: bool,
    ) -> requests.Response:
        try:
            return session.request(
                method,
                strip_credentials(url),
                headers=dict(headers or {}),
                auth=self._auth(url),
                verify=self._verify(url),
                timeout=self.timeout,
                stream=stream,
                allow_redirects=True,
            )
        except (requests.exceptions.RequestException, OSError) as exc:
            raise self._network_error(exc, url) from None

    def _network_error(self, exc: BaseException, url: str) -> NetworkError:
        """A connection fault as what happened, which URL (redacted), after how many tries."""
        shown = redact(url)
        tries = f"after {_retries(self.settings.retries)}"
        detail = _scrub(str(exc), url)
        cause = _root_cause(exc)
        if isinstance(exc, requests.exceptions.SSLError) or isinstance(cause, ssl.SSLError):
            reason = getattr(cause, "reason", None) or type(cause).__name__
            return NetworkError(
                f"TLS failed for {shown} ({reason}).",
                hint="Pass --cert with your CA bundle, or --trusted-host for this host.",
                url=url,
                detail=detail,
            )
        if isinstance(exc, requests.exceptions.ChunkedEncodingError) or isinstance(
            cause, http.client.IncompleteRead
        ):
            return self._read_error(exc, url)  # the body was read with the answer
        if isinstance(exc, requests.exceptions.ProxyError):
            return NetworkError(
                f"The proxy failed to reach {shown} {tries}.",
                hint="Check --proxy (or HTTPS_PROXY) and that the proxy is up.",
                url=url,
                detail=detail,
            )
        if isinstance(cause, ConnectionRefusedError) or (
            isinstance(cause, NewConnectionError) and "refused" in str(cause).lower()
        ):
            return NetworkError(
                f"{shown} refused the connection ({tries}).",
                hint="Check the index URL and that the index is up.",
                url=url,
                detail=detail,
            )
        if isinstance(cause, NameResolutionError):
            return NetworkError(
                f"The host of {shown} could not be resolved ({tries}).",
                hint="Check the index URL and the DNS or proxy settings.",
                url=url,
                detail=detail,
            )
        if not isinstance(cause, NewConnectionError) and (
            isinstance(exc, requests.exceptions.Timeout)
            or isinstance(
                cause, (TimeoutError, socket.timeout, ReadTimeoutError, ConnectTimeoutError)
            )
        ):
            return NetworkError(
                f"{shown} did not answer within {self.timeout:g} s ({tries}).",
                hint="Raise --timeout, or check the network and the proxy.",
                url=url,
                detail=detail,
            )
        if isinstance(cause, (http.client.RemoteDisconnected, ConnectionResetError)):
            return NetworkError(
                f"{shown} closed the connection without an answer ({tries}).",
                hint="The index may be overloaded; try again later.",
                url=url,
                detail=detail,
            )
        return NetworkError(
            f"Could not reach {shown} ({tries}): {type(cause).__name__}.",
            hint="Check the network, the proxy and the index URL.",
            url=url,
            detail=detail,
        )

    def _read_error(self, exc: BaseException, url: str, what: str = "reading") -> NetworkError:
        """A body that stopped before its end (a truncated answer or a stalled transfer)."""
        cause = _root_cause(exc)
        if isinstance(exc, requests.exceptions.Timeout) or isinstance(
            cause, (TimeoutError, socket.timeout, ReadTimeoutError)
        ):
            happened = f"stalled for {self.timeout:g} s"
        else:
            happened = "was cut off (truncated body)"
        return NetworkError(
            f"The connection {happened} while {what} {redact(url)}.",
            url=url,
            hint="Try again; nothing partial was kept.",
            detail=_scrub(str(exc), url),
        )

    def _check(self, response: requests.Response, url: str) -> None:
        status = response.status_code
        if status < 400:
            return
        response.close()
        if status in (401, 403):
            raise IndexPageError(
                f"{redact(url)} refused access (HTTP {status}).",
                url=url,
                status=status,
                hint="Put credentials in the index URL, in ~/.netrc, or check them.",
            )
        if status in _RETRY_STATUSES:
            asked = response.headers.get("Retry-After")
            raise NetworkError(
                f"{redact(url)} answered HTTP {status} ({response.reason or 'error'}"
                + (f", Retry-After: {asked}" if asked else "")
                + f") after {_retries(self.settings.retries)}.",
                url=url,
                hint=(
                    "The index asks clients to slow down; try again later or raise --retries."
                    if status == 429
                    else "The index may be down; try again later or raise --retries."
                ),
            )
        raise IndexPageError(f"{redact(url)} answered HTTP {status}.", url=url, status=status)

    # -- public API ---------------------------------------------------------------

    def start_pages(self, urls: Iterable[str], accept: str, *, workers: int = 8) -> None:
        """Start fetching these index pages in the background, now.

        A compile knows its root projects long before its resolver asks for them (the
        interpreter is probed and the resolver's modules imported in between): their
        pages are on the way meanwhile. :meth:`get_page` of one of them takes that answer
        (or its error) instead of asking again; one nobody takes costs only its request.
        """
        with self._early_lock:
            if self._early_pool is None:
                self._early_pool = ThreadPoolExecutor(
                    workers, thread_name_prefix="lock-build-early"
                )
            for url in urls:
                if (url, accept) not in self._early:
                    self._early[(url, accept)] = self._early_pool.submit(self._page, url, accept)

    def get_page(self, url: str, accept: str) -> Page | None:
        """An index page, revalidated against the HTTP cache; ``None`` if it does not exist.

        404/410 means "this index does not have that project", which is not an error.
        """
        with self._early_lock:
            early = self._early.pop((url, accept), None)
        if early is not None:
            return early.result()
        return self._page(url, accept)

    def _page(self, url: str, accept: str) -> Page | None:
        if urlsplit(url).scheme == "file":
            return _file_page(url)
        if self.settings.offline:
            return self._cached_page(url, accept)
        # The server's freshness is honoured (PyPI sends max-age=600, as uv honours it):
        # a fresh cached page costs no request; a stale one is revalidated with its
        # ETag / Last-Modified, and a page without either is fetched again.
        response = self._request(self._pages, "GET", url, {"Accept": accept}, stream=True)
        if response.status_code in (404, 410):
            response.close()
            return None
        self._check(response, url)
        try:
            # One read of the whole body: requests' .content joins 10 KB chunks, which
            # costs a third more CPU on multi-megabyte pages.
            with response:
                body = response.raw.read(decode_content=True)
        except (requests.exceptions.RequestException, HTTPError, OSError) as exc:
            raise self._read_error(exc, url) from None
        final = response.url
        # Keep the credentials for resolving relative links (the final URL has none).
        if strip_credentials(final) == strip_credentials(url):
            final = url
        return Page(
            url=final,
            content_type=response.headers.get("Content-Type", ""),
            body=body,
            from_cache=bool(getattr(response, "from_cache", False)),
        )

    def _cached_page(self, url: str, accept: str) -> Page:
        """The cached copy of a page, fresh or stale, without asking the server."""
        shown = redact(url)
        stored = None
        if self._page_cache is not None:
            request = self._pages.prepare_request(
                requests.Request("GET", strip_credentials(url), headers={"Accept": accept})
            )
            controller = self._page_cache.controller
            assert request.url is not None
            data = controller.cache.get(controller.cache_url(request.url))
            stored = None if data is None else controller.serializer.loads(request, data)
        if stored is None:
            raise OfflineError(
                f"--offline: the index page {shown} is not in the cache"
                + ("" if self._cache_dir is None else f" ({self._cache_dir / 'http'})")
                + ".",
                url=shown,
                hint="Run once without --offline to fill it; a page is cached only when the "
                "index sends an ETag, Last-Modified or Cache-Control max-age for it.",
            )
        return Page(
            url=url,
            content_type=stored.headers.get("Content-Type", ""),
            body=stored.read(),
            from_cache=True,
        )

    def get_bytes(self, url: str, headers: Mapping[str, str] | None = None) -> bytes:
        """A whole (small) file, e.g. a PEP 658 ``.metadata`` file."""
        if urlsplit(url).scheme == "file":
            return _read_file(url)
        response = self._request(self._files, "GET", url, headers)
        self._check(response, url)
        try:
            return response.content
        except (requests.exceptions.RequestException, OSError) as exc:
            raise self._read_error(exc, url) from None

    def head(self, url: str) -> Mapping[str, str]:
        """Response headers of ``url`` (e.g. Content-Length, Accept-Ranges)."""
        if urlsplit(url).scheme == "file":
            path = file_url_to_path(url)
            try:
                return {"Content-Length": str(path.stat().st_size), "Accept-Ranges": "bytes"}
            except OSError as exc:
                raise NetworkError(
                    f"Cannot read {redact(url)} ({exc.strerror}).", url=url
                ) from None
        response = self._request(self._files, "HEAD", url)
        self._check(response, url)
        return dict(response.headers)

    def get_range(self, url: str, start: int, end: int) -> bytes | None:
        """Bytes ``start..end`` (inclusive) of ``url``; ``None`` if the server ignores ranges."""
        if urlsplit(url).scheme == "file":
            data = _read_file(url)
            return data[start : end + 1]
        return self._ranged(url, f"bytes={start}-{end}")[0]

    def get_tail(self, url: str, length: int) -> tuple[bytes, int] | None:
        """The last ``length`` bytes of ``url`` and the file's total size (a suffix range).

        ``None`` if the server refuses ranges or does not say the total size.
        """
        if urlsplit(url).scheme == "file":
            data = _read_file(url)
            return data[-length:], len(data)
        tail, total = self._ranged(url, f"bytes=-{length}")
        if tail is None or total is None:
            return None
        return tail, total

    def _ranged(self, url: str, spec: str) -> tuple[bytes | None, int | None]:
        # Identity encoding: byte offsets must refer to the file, not a gzip of it.
        response = self._request(
            self._files, "GET", url, {"Range": spec, "Accept-Encoding": "identity"}, stream=True
        )
        if response.status_code == 416 or response.status_code == 200:
            response.close()  # not reading a whole wheel we did not ask for
            return None, None
        self._check(response, url)
        if response.status_code != 206:
            response.close()
            return None, None
        match = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", response.headers.get("Content-Range", ""))
        try:
            data = response.content
        except (requests.exceptions.RequestException, OSError) as exc:
            raise self._read_error(exc, url) from None
        total = int(match[3]) if match and match[3] != "*" else None
        return data, total

    def download(
        self,
        url: str,
        dest: Path,
        expected_sha256: str | None = None,
        progress: Progress | None = None,
    ) -> str:
        """Stream ``url`` into ``dest`` (atomically) and return its sha256.

        A partial or mismatching file never appears at ``dest``.
        """
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".part-", suffix=".tmp")
        tmp = Path(tmp_name)
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk, done, total in self._chunks(url):
                    out.write(chunk)
                    digest.update(chunk)
                    if progress is not None:
                        progress(done, total)
            actual = digest.hexdigest()
            if expected_sha256 is not None and actual != expected_sha256.lower():
                raise HashMismatchError(
                    url=url,
                    expected=(expected_sha256,),
                    got=actual,
                    hint="The file changed on the index or was tampered with; nothing was kept.",
                )
            os.replace(tmp, dest)
            return actual
        finally:
            tmp.unlink(missing_ok=True)

    def _chunks(self, url: str) -> Iterator[tuple[bytes, int, int | None]]:
        total: int | None
        if urlsplit(url).scheme == "file":
            path = file_url_to_path(url)
            try:
                size = path.stat().st_size
                with path.open("rb") as handle:
                    done = 0
                    while chunk := handle.read(_CHUNK):
                        done += len(chunk)
                        yield chunk, done, size
            except OSError as exc:
                raise NetworkError(
                    f"Cannot read {redact(url)} ({exc.strerror}).", url=url
                ) from None
            return
        response = self._request(
            self._files, "GET", url, {"Accept-Encoding": "identity"}, stream=True
        )
        self._check(response, url)
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        done = 0
        try:
            with response:
                for chunk in response.iter_content(_CHUNK):
                    done += len(chunk)
                    yield chunk, done, total
        except (requests.exceptions.RequestException, OSError) as exc:
            raise self._read_error(exc, url, "downloading") from None


def _file_lock(path: str) -> AbstractContextManager[object]:
    """The HTTP cache's write lock; ``filelock`` is imported by the first write only (a
    run whose pages all come without cache headers never writes)."""
    from filelock import FileLock

    return FileLock(path)


def _retry_wait(retry_after: str | None, backoff: float) -> float:
    """Seconds to wait before a retry: Retry-After (seconds or an HTTP date), at most 60."""
    wait = backoff
    if retry_after:
        value = retry_after.strip()
        if value.isdigit():
            wait = float(value)
        else:
            try:
                when = email.utils.parsedate_to_datetime(value)
                wait = (when - datetime.now(UTC)).total_seconds()
            except (TypeError, ValueError):
                pass  # unparseable: keep the backoff
    return min(max(wait, 0.0), MAX_RETRY_AFTER)


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost reason behind requests' and urllib3's wrappers (MaxRetryError ...)."""
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        inner = getattr(current, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in current.args if isinstance(a, BaseException)), None)
        if inner is None:
            inner = current.__context__ if isinstance(current, ProtocolError) else None
        if not isinstance(inner, BaseException):
            break
        current = inner
    return current


def _retries(count: int) -> str:
    return f"{count} {'retry' if count == 1 else 'retries'}"


def _scrub(text: str, url: str) -> str:
    """Remove any credentials of ``url`` from a foreign exception's text."""
    parts = urlsplit(url)
    for secret in (parts.password, parts.username if parts.password is None else None):
        if secret:
            text = text.replace(secret, "****").replace(unquote(secret), "****")
    return text


def _read_file(url: str) -> bytes:
    path = file_url_to_path(url)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise NetworkError(f"Cannot read {redact(url)} ({exc.strerror}).", url=url) from None


def _file_page(url: str) -> Page | None:
    """A ``file://`` page: a file, or a directory's index.html (how local indexes are laid out)."""
    path = file_url_to_path(url)
    if path.is_dir():
        for candidate in ("index.html", "index.json"):
            if (path / candidate).is_file():
                path = path / candidate
                break
        else:
            return None
    if not path.is_file():
        return None
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise NetworkError(f"Cannot read {redact(url)} ({exc.strerror}).", url=url) from None
    content_type = "application/vnd.pypi.simple.v1+json" if path.suffix == ".json" else "text/html"
    # Relative links resolve against the page itself, so name the file when we read index.html.
    page_url = path.as_uri() if path != file_url_to_path(url) else url
    return Page(url=page_url, content_type=content_type, body=body)


def keyring_credentials(url: str) -> tuple[str, str] | None:
    """Credentials from the ``keyring`` package when it is installed, as pip asks it: for the
    URL, then for its host. A keyring backend that fails counts as having none."""
    if importlib.util.find_spec("keyring") is None:
        return None
    import keyring

    parts = urlsplit(url)
    for service in (url, parts.hostname or ""):
        try:
            credential = keyring.get_credential(service, None)
        except Exception:  # noqa: BLE001 - any backend fault: fall through, as pip does
            return None
        if credential is not None and credential.username:
            return credential.username, credential.password or ""
    return None
