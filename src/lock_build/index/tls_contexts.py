"""One verifying TLS context per CA bundle for the whole run, loaded ahead of need.

Loading a bundle is OpenSSL reading and parsing ~150 certificates: about 35 ms, which
used to come between a run's first request and its first byte. OpenSSL does it without
holding the GIL, so :func:`preload` starts it on a thread of its own as soon as a run
knows it will fetch (a sync before it imports requests, a client when it is made): it
then overlaps the imports and the rest of the set-up. The contexts live as long as the
process, shared by every client, keyed by the bundle's path.

This module imports no HTTP stack: a sync with nothing to download never loads one.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Iterable

__all__ = ["BundleContexts", "SHARED", "bundle_location", "preload"]


class BundleContexts:
    """One verifying context per CA bundle path (a file or a directory), made on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._preloading: set[str] = set()  # asked for once each (a sync, then its client)

    def for_bundle(self, location: str) -> ssl.SSLContext:
        with self._lock:  # a request that needs it while it loads waits for that load
            context = self._contexts.get(location)
            if context is None:
                if os.path.isdir(location):
                    context = ssl.create_default_context(capath=location)
                else:
                    context = ssl.create_default_context(cafile=location)
                self._contexts[location] = context
            return context

    def preload(self, location: str) -> None:
        """Start making ``location``'s context in the background. A bundle that cannot be
        loaded is not reported here: the first request that needs it says so."""
        if location in self._preloading:
            return
        self._preloading.add(location)

        def load() -> None:
            try:
                self.for_bundle(location)
            except (OSError, ValueError, ssl.SSLError):
                pass

        threading.Thread(target=load, name="lock-build-tls", daemon=True).start()


SHARED = BundleContexts()


def bundle_location(cert: str | None) -> str:
    """The bundle requests verifies against for ``cert`` (``--cert``, pip's ``cert``):
    that, else ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``, else certifi's, in
    requests' order (``Session.merge_environment_settings``, ``HTTPAdapter.cert_verify``).
    Only a prediction for :func:`preload`: the adapters take the path requests hands
    them, so a wrong guess costs one wasted load, never a different trust."""
    if cert:
        return cert
    found = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if found:
        return found
    import certifi

    return str(certifi.where())


def preload(urls: Iterable[str], cert: str | None) -> None:
    """Preload the bundle that verifies ``urls``, if any of them is https."""
    if any(url.lower().startswith("https:") for url in urls):
        SHARED.preload(bundle_location(cert))
