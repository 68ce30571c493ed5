"""Every on-disk cache kind survives damage: a compile over a damaged cache drops the bad
entries with one warning each, recomputes them, and writes the same lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_compile_builds_support import compile_lock

KINDS = ("pages", "metadata", "hooks")


def _flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in (1, len(data) // 2, len(data) - 2):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "flipped-bytes": _flip_bytes,
    "wrong-schema": lambda p: p.write_text('{"metadata": 5}'),
    "empty-list": lambda p: p.write_text("[]"),
    "wrong-value": lambda p: p.write_text(
        json.dumps({**json.loads(p.read_text()), "value": 5}), encoding="utf-8"
    ),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
}


@pytest.fixture(scope="module")
def index(index_server, tmp_path_factory):  # noqa: ANN001, ANN201
    idx = index_server.new_index(directory=tmp_path_factory.mktemp("cache-index"))
    idx.add_wheel("ctool", "1.0")
    # get_requires_for_build_wheel and prepare_metadata both run (hook-result entries).
    idx.add_sdist(
        "cachey",
        "1.0",
        dynamic_build_requires=["ctool"],
        dynamic_requires_dist=True,
        requires=["ctool"],
    )
    yield idx
    index_server.remove_index(idx)


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_compile_over_a_damaged_cache_recomputes(index, tmp_path: Path, damage: str) -> None:  # noqa: ANN001
    cache = tmp_path / "cache"
    first = compile_lock(tmp_path / "a", index.url, ["cachey"], cache_dir=cache)
    expected = first.lockfile.read_text(encoding="utf-8")
    assert first.code == 0, first.stderr
    entries = {kind: sorted((cache / kind).glob("*.json")) for kind in KINDS}
    assert all(entries.values()), entries
    for kind in KINDS:
        for path in entries[kind]:
            DAMAGE[damage](path)

    again = compile_lock(tmp_path / "b", index.url, ["cachey"], cache_dir=cache)

    assert again.code == 0, again.stderr
    assert "Traceback" not in again.stderr
    assert again.lockfile.read_text(encoding="utf-8") == expected
    warnings = [line for line in again.stderr.splitlines() if line.startswith("warning: ")]
    dropped = [line for line in warnings if "dropped a damaged" in line]
    assert len(dropped) == sum(len(paths) for paths in entries.values()), again.stderr
    for kind in KINDS:
        for path in entries[kind]:
            assert any(str(path) in line for line in dropped), (path, again.stderr)
            # Recomputed and stored again, in the current format.
            assert json.loads(path.read_text(encoding="utf-8"))["format"] == 2


def test_a_relative_cache_dir_works_for_every_command(index, tmp_path: Path) -> None:  # noqa: ANN001
    """Hooks and build environments run elsewhere: a relative --cache-dir used to break
    every sdist build ('No such file or directory: cache/build/build-env-…/bin/python')."""
    run = compile_lock(tmp_path, index.url, ["cachey"], cache_dir=Path("rel-cache"))
    assert run.code == 0, run.stderr
    assert (tmp_path / "rel-cache" / "hooks").is_dir()
    for args in (
        ["export", "requirements.lock", "--format", "requirements"],
        ["plan", "requirements.lock"],
        ["graph", "requirements.lock"],
        ["sync", "requirements.lock", "--dry-run", "--python", sys.executable],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "lock_build", *args, "--cache-dir", "rel-cache"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**os.environ, "PIP_INDEX_URL": index.url},  # sync fetches only from it
            timeout=180,
            check=False,
        )
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode in (0, 1), (args, done.stderr)
