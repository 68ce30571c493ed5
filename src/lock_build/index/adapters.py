"""The transport adapters under the client's sessions, and what they save per request.

Certificate bundles are loaded once per run, not once per connection. requests hands
urllib3 the bundle's path (``--cert``, pip's ``cert``, ``REQUESTS_CA_BUNDLE``, or
certifi's when ``verify`` is just true), and urllib3 parses the whole bundle again for
every new connection: about 25 ms of CPU each, so 16 pooled connections to one index
cost 0.4 s before the first byte. The adapters here verify against one
:class:`ssl.SSLContext` per bundle instead (see :mod:`lock_build.index.tls_contexts`).
Verification itself is unchanged: the context requires a certificate chained to that
bundle and checks the host name, as urllib3's own context does.

Index pages pass through CacheControl, which copies every body into a temporary file so
that it can store it afterwards. A page sent with neither an ETag nor Expires nor
Cache-Control is one CacheControl will neither store nor purge, so it is not copied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cachecontrol import CacheControlAdapter
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3 import HTTPResponse
from urllib3.connectionpool import ConnectionPool

from lock_build.index.tls_contexts import SHARED, BundleContexts

if TYPE_CHECKING:  # the stubs' names for what requests passes to urllib3
    from requests.adapters import _HostParams, _PoolKwargs

__all__ = ["SharedBundleAdapter", "SharedBundleCacheAdapter"]


def _bundle_of(verify: bool | str) -> bool | str:
    """``verify`` as the path requests verifies against: true is certifi's bundle
    (``HTTPAdapter.cert_verify``), which each connection would load again too."""
    return DEFAULT_CA_BUNDLE_PATH if verify is True else verify


class SharedBundleAdapter(HTTPAdapter):
    """Connections verified against a bundle use its one preloaded context."""

    def __init__(self, bundles: BundleContexts = SHARED, **kwargs: Any) -> None:
        self.bundles = bundles
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[_HostParams, _PoolKwargs]:
        verify = _bundle_of(verify)
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        if isinstance(verify, str) and host_params.get("scheme") == "https":
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
            pool_kwargs["ssl_context"] = self.bundles.for_bundle(verify)
        return host_params, pool_kwargs

    def cert_verify(self, conn: ConnectionPool, url: str, verify: bool | str, cert: Any) -> None:
        # requests checks that the bundle exists, as before.
        verify = _bundle_of(verify)
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]
        if isinstance(verify, str) and url.lower().startswith("https"):
            # The pool's context already holds the bundle; a path here would reload it.
            conn.ca_certs = None  # type: ignore[attr-defined]
            conn.ca_cert_dir = None  # type: ignore[attr-defined]


class SharedBundleCacheAdapter(SharedBundleAdapter, CacheControlAdapter):
    """The same, for index pages: CacheControl's adapter (its ``cache=`` and the rest
    reach it through ``SharedBundleAdapter.__init__``)."""

    def build_response(  # type: ignore[override]
        self,
        request: PreparedRequest,
        response: HTTPResponse,
        from_cache: bool = False,
        cacheable_methods: Any = None,
    ) -> Response:
        if not from_cache and response.status == 200 and not _says_how_to_cache(response):
            built = HTTPAdapter.build_response(self, request, response)
            built.from_cache = False  # type: ignore[attr-defined]
            return built
        return super().build_response(request, response, from_cache, cacheable_methods)


def _says_how_to_cache(response: HTTPResponse) -> bool:
    headers = response.headers
    return any(name in headers for name in ("etag", "expires", "cache-control"))
