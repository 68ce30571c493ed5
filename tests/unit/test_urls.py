"""file: URLs to paths, decoded once, without the network stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lock_build.urls import file_url_to_path


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("file:///tmp/wheels/a-1.0-py3-none-any.whl", "/tmp/wheels/a-1.0-py3-none-any.whl"),
        ("file://localhost/srv/simple/", "/srv/simple"),
        ("file:///tmp/my%20project", "/tmp/my project"),
        ("file:///tmp/a%2520b", "/tmp/a%20b"),  # one decoding: %25 is a literal '%'
    ],
)
def test_a_local_file_url_is_its_path(url: str, path: str) -> None:
    assert file_url_to_path(url) == Path(path)


def test_reading_pip_configuration_needs_neither_requests_nor_the_requirement_parsers() -> None:
    code = (
        "import sys, lock_build.inputs.pip_config, lock_build.lockfile.sources, lock_build.urls\n"
        "print('requests' in sys.modules, 'lock_build.inputs.requirement_files' in sys.modules)\n"
        "import lock_build.inputs as i; print(i.InputSet.__module__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "False False"
    assert out[1] == "lock_build.inputs.model"
