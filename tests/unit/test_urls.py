"""file: URLs to paths, decoded once."""

from __future__ import annotations

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
