"""The autouse environment scrubbing and the venv fixture behave as the suite relies on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_pip_configuration_is_hidden(tmp_path: Path) -> None:
    assert os.environ["PIP_CONFIG_FILE"] == os.devnull
    # The one setting conftest adds: the local http test index is a trusted host.
    assert os.environ["PIP_TRUSTED_HOST"] == "127.0.0.1"
    ours = {"PIP_CONFIG_FILE", "PIP_TRUSTED_HOST"}
    assert not [k for k in os.environ if k.startswith("PIP_") and k not in ours]
    assert os.environ["UV_NO_CONFIG"] == "1"
    cache = Path(os.environ["LOCK_BUILD_CACHE_DIR"])
    assert cache.is_dir() and not any(cache.iterdir())
    # pip itself sees no configuration file and no configured index/find-links.
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True
    )
    assert listing.stdout.split() == [
        ":env:.config-file='/dev/null'",
        ":env:.trusted-host='127.0.0.1'",
    ]


def test_venv_factory_makes_isolated_environments(venv_factory, local_index) -> None:
    local_index.add_wheel("alpha", "1.0")
    first, second = venv_factory(), venv_factory("named")
    assert first.path != second.path and second.path.name == "named"
    assert first.freeze() == {} and first.python.is_file()
    first.pip("install", "--index-url", local_index.url, "alpha")
    assert first.freeze() == {"alpha": "1.0"} and second.freeze() == {}
    assert (first.site_packages / "alpha" / "__init__.py").is_file()
    failed = first.pip("install", "--index-url", local_index.url, "missing-thing", check=False)
    assert failed.returncode != 0
