"""CA bundles: one context per bundle for the run, loaded ahead of the first request."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

import certifi
import pytest
import trustme

from lock_build.index import tls_contexts
from lock_build.index.tls_contexts import BundleContexts, bundle_location
from support.spies import bundle_load_spy


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "bundle.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def _join_preloads() -> None:
    for thread in threading.enumerate():
        if thread.name == "lock-build-tls":
            thread.join()


def test_a_preloaded_bundle_is_the_context_requests_get(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = bundle_load_spy(monkeypatch)
    contexts = BundleContexts()
    contexts.preload(str(bundle))
    context = contexts.for_bundle(str(bundle))  # waits for the load under way, if any
    _join_preloads()
    assert contexts.for_bundle(str(bundle)) is context
    assert loads == [str(bundle)]  # loaded once, by whichever came first
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_a_bundle_that_cannot_load_is_reported_by_the_request_not_the_preload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unhandled: list[object] = []
    monkeypatch.setattr(threading, "excepthook", unhandled.append)
    missing = str(tmp_path / "no-such-bundle.pem")
    contexts = BundleContexts()
    contexts.preload(missing)
    _join_preloads()
    assert unhandled == []
    with pytest.raises(OSError):
        contexts.for_bundle(missing)


def test_the_bundle_is_the_one_requests_would_verify_against(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert bundle_location(None) == certifi.where()
    monkeypatch.setenv("CURL_CA_BUNDLE", "/curl.pem")
    assert bundle_location(None) == "/curl.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/requests.pem")
    assert bundle_location(None) == "/requests.pem"
    assert bundle_location("/cert.pem") == "/cert.pem"  # --cert, pip's cert: first


def test_only_https_locations_preload(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr(tls_contexts.SHARED, "preload", asked.append)
    tls_contexts.preload(["http://127.0.0.1/simple", "file:///wheels"], str(bundle))
    assert asked == []
    tls_contexts.preload(["file:///wheels", "HTTPS://pypi.org/simple"], str(bundle))
    assert asked == [str(bundle)]
