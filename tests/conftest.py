"""Shared fixtures: the local index server, real virtual environments, the tool wheels, and
an environment scrubbed of this machine's pip configuration."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.index import LocalIndex, LocalIndexServer
from support.venvs import VirtualEnv, create_venv

REPO = Path(__file__).resolve().parents[1]
TOOLS = ("setuptools", "wheel", "pip")
# Kept for network tests only: reaching PyPI through this machine's proxy needs its CA bundle.
_NETWORK_KEEP = ("PIP_CERT",)


@pytest.fixture(autouse=True)
def isolated_pip_env(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Hide this machine's pip/uv configuration from every test.

    Tests that exercise config reading set their own PIP_* variables / files on top."""
    keep = _NETWORK_KEEP if request.node.get_closest_marker("network") else ()
    for key in list(os.environ):
        if (key.startswith("PIP_") and key not in keep) or key.startswith("UV_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    # The local test index is plain http on 127.0.0.1: sync fetches from an http host only
    # when the run trusts it, as a user's pip configuration would.
    monkeypatch.setenv("PIP_TRUSTED_HOST", "127.0.0.1")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("LOCK_BUILD_CACHE_DIR", str(tmp_path_factory.mktemp("lock-build-cache")))


@pytest.fixture(scope="session")
def index_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndexServer]:
    """One HTTP server on 127.0.0.1 for the whole session; make indexes with `new_index()`."""
    with LocalIndexServer(tmp_path_factory.mktemp("indexes")) as server:
        yield server


@pytest.fixture
def local_index(index_server: LocalIndexServer, tmp_path: Path) -> Iterator[LocalIndex]:
    """A fresh, empty index for this test (files under tmp_path/_local_index)."""
    index = index_server.new_index(directory=tmp_path / "_local_index")
    yield index
    index_server.remove_index(index)


@pytest.fixture(scope="session")
def tools_wheels() -> Path:
    """A directory holding real setuptools, wheel and pip wheels (skips if absent)."""
    configured = os.environ.get("LOCK_BUILD_TEST_WHEELS")
    directory = Path(configured) if configured else REPO / ".ci-cache" / "wheels"
    absent = [t for t in TOOLS if not any(directory.glob(f"{t}-*.whl"))]
    if absent:
        pytest.skip(
            f"tool wheels ({', '.join(absent)}) not found in {directory}: run .ci/run or "
            "`python tests/support/fetch_tool_wheels.py` (or set LOCK_BUILD_TEST_WHEELS)"
        )
    return directory


@pytest.fixture
def venv_factory(tmp_path: Path) -> Callable[..., VirtualEnv]:
    """Make real pip-less virtual environments: `venv_factory()` or `venv_factory("name")`.

    Drive pip with `env.pip("install", ...)` (the test runner's pip, `--python <env>`)."""
    counter = 0

    def make(name: str | None = None) -> VirtualEnv:
        nonlocal counter
        counter += 1
        return create_venv(tmp_path / "venvs" / (name or f"venv{counter}"))

    return make
