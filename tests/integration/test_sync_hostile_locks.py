"""A hostile lock is refused by sync before anything is fetched or written."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_sync_support import run_cli

from lock_build.cli import sync_cmd
from lock_build.lockfile import LockedFile, LockedPackage, dumps
from support.index import LocalIndex
from support.locks import make_lock


def _lock_text(index: LocalIndex, **file: str) -> str:
    wheel = index.add_wheel("alpha", "1.0")
    values = {
        "filename": wheel.name,
        "url": index.file_url(wheel.name),
        "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
    }
    base = LockedPackage(
        name="alpha",  # type: ignore[arg-type]
        version=__import__("packaging.version").version.Version("1.0"),
        wheels=(LockedFile(**values),),
    )
    text = dumps(make_lock((base,)))
    for key, new in file.items():
        text = text.replace(f'{key} = "{values[key]}"', f'{key} = "{new}"', 1)
    return text


HOSTILE: dict[str, Callable[[LocalIndex, Path], dict[str, str]]] = {
    "traversal": lambda index, tmp: {"filename": "../../escaped-1.0-py3-none-any.whl"},
    "absolute": lambda index, tmp: {"filename": str(tmp / "escaped.whl")},
    "passwd": lambda index, tmp: {"url": "file:///etc/passwd"},
    "untrusted-http": lambda index, tmp: {},  # the index's own URL, but not trusted here
    "no-sha256": lambda index, tmp: {"sha256": ""},
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_lock_is_refused_before_anything_is_fetched_or_written(
    case: str, local_index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project" / "sub"
    project.mkdir(parents=True)
    lockfile = project / "requirements.lock"
    lockfile.write_text(_lock_text(local_index, **HOSTILE[case](local_index, tmp_path)))
    cache = tmp_path / "cache"
    local_index.clear_requests()
    monkeypatch.delenv("PIP_TRUSTED_HOST", raising=False)

    code, output = run_cli(
        sync_cmd.command,
        [lockfile, "--python", sys.executable, "--cache-dir", cache, "--dry-run"],
    )

    assert code == 2, output
    assert f"{lockfile}:" in output  # located: the file and a line
    assert local_index.requests == []  # nothing fetched
    assert not cache.exists()  # nothing written
    assert not (tmp_path / "escaped-1.0-py3-none-any.whl").exists()
    assert not (tmp_path / "escaped.whl").exists()


def test_sync_trusts_a_plain_http_index_named_by_its_own_flag(
    local_index: LocalIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sync takes compile's connection settings as flags too: --trusted-host admits the
    plain-http index that the untrusted-http case above refuses."""
    project = tmp_path / "project" / "sub"
    project.mkdir(parents=True)
    lockfile = project / "requirements.lock"
    lockfile.write_text(_lock_text(local_index, **HOSTILE["untrusted-http"](local_index, tmp_path)))
    monkeypatch.delenv("PIP_TRUSTED_HOST", raising=False)
    args = [lockfile, "--python", sys.executable, "--cache-dir", tmp_path / "cache", "--dry-run"]

    code, output = run_cli(sync_cmd.command, [*args, "--trusted-host", "127.0.0.1"])

    assert "not a usable lock" not in output
    assert code in (0, 1), output  # 1: the dry run found changes to make
