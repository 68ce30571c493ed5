"""The parsed-TOML cache: reused only for the same text, and never instead of validation."""

from __future__ import annotations

import json
import logging
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build.errors import LockfileError
from lock_build.lockfile import (
    Lock,
    LockedFile,
    LockedPackage,
    dumps,
    read_lock,
    read_lock_cached,
    toml_cache,
)
from support.locks import make_lock


def _lock_text(version: str = "1.0") -> str:
    wheel = LockedFile(
        url=f"https://files/demo-{version}-py3-none-any.whl",
        sha256="ab" * 32,
        filename=f"demo-{version}-py3-none-any.whl",
        upload_time=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    )
    package = LockedPackage(
        name=canonicalize_name("demo"), version=Version(version), wheels=(wheel,)
    )
    return dumps(make_lock((package,)))


def _read(path: Path, cache: Path) -> Lock:
    """What sync does: read through the cache, and keep the parse once the lock is good."""
    lock, keep = read_lock_cached(path, cache)
    keep()
    return lock


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every parse tomllib really does (the real parser runs; the list only counts)."""
    done: list[int] = []
    real = tomllib.loads

    def spy(text: str) -> dict[str, object]:
        done.append(len(text))
        return real(text)

    monkeypatch.setattr(toml_cache.tomllib, "loads", spy)
    return done


def test_the_same_text_is_parsed_once_and_reads_back_equal(
    tmp_path: Path, parses: list[int]
) -> None:
    path, cache = tmp_path / "lock-build.lock", tmp_path / "cache"
    path.write_text(_lock_text())
    first = _read(path, cache)
    again = _read(path, cache)
    assert len(parses) == 1
    assert again == first == read_lock(path)
    assert again.packages[0].wheels[0].upload_time == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert dumps(again) == path.read_text()  # byte-identical when written back


def test_a_parse_is_kept_only_when_asked(tmp_path: Path, parses: list[int]) -> None:
    # A lock that a later check refuses is read, never kept: it leaves nothing behind.
    path, cache = tmp_path / "lock-build.lock", tmp_path / "cache"
    path.write_text(_lock_text())
    read_lock_cached(path, cache)
    assert not cache.exists()
    _read(path, cache)
    _read(path, cache)
    assert len(parses) == 2


def test_a_changed_lock_is_parsed_again(tmp_path: Path, parses: list[int]) -> None:
    path, cache = tmp_path / "lock-build.lock", tmp_path / "cache"
    path.write_text(_lock_text("1.0"))
    _read(path, cache)
    path.write_text(_lock_text("2.0"))
    changed = _read(path, cache)
    assert str(changed.packages[0].version) == "2.0" and len(parses) == 2
    _read(path, cache)
    assert len(parses) == 2  # the entry now holds the new text's parse


def test_a_cached_document_is_still_validated(tmp_path: Path) -> None:
    # An entry for this very text whose document says something the text does not:
    # it is read (its digest matches), and validation refuses it as it would the text.
    path, cache = tmp_path / "lock-build.lock", tmp_path / "cache"
    path.write_text(_lock_text())
    _read(path, cache)
    entry = toml_cache.entry_path(cache, path)
    stored = json.loads(entry.read_text())
    document = json.loads(stored["value"]["document"])
    document["package"][0]["wheels"][0]["sha256"] = "not-a-digest"
    stored["value"]["document"] = json.dumps(document)
    entry.write_text(json.dumps(stored))
    with pytest.raises(LockfileError, match="sha256"):
        _read(path, cache)


@pytest.mark.parametrize(
    "damage",
    [
        lambda stored: "{not json",
        lambda stored: json.dumps({**stored, "kind": "other"}),
        lambda stored: json.dumps({**stored, "value": {"sha256": 5}}),
        lambda stored: json.dumps(
            {**stored, "value": {**stored["value"], "document": '{"x": {"$datetime": 5}}'}}
        ),
        lambda stored: json.dumps({**stored, "value": {**stored["value"], "document": "[1]"}}),
    ],
    ids=["garbage", "other kind", "bad digest", "bad date-time", "not a table"],
)
def test_a_damaged_entry_is_dropped_and_the_text_parsed(
    tmp_path: Path, parses: list[int], caplog: pytest.LogCaptureFixture, damage: object
) -> None:
    path, cache = tmp_path / "lock-build.lock", tmp_path / "cache"
    path.write_text(_lock_text())
    good = _read(path, cache)
    entry = toml_cache.entry_path(cache, path)
    entry.write_text(damage(json.loads(entry.read_text())))  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="lock_build.cache"):
        assert _read(path, cache) == good
    assert len(parses) == 2
    assert any("dropped a damaged lock-toml-1 cache entry" in r.message for r in caplog.records)


@pytest.mark.parametrize(
    "text",
    [
        'when = 2024-05-01\nname = "local date"\n',
        '"$datetime" = "2024-05-01T12:00:00+00:00"\n',
        '[table]\n"$datetime" = 2024-05-01T12:00:00Z\n',
    ],
    ids=["local date", "the tag as a key", "the tag holding a date-time"],
)
def test_a_document_json_would_change_is_not_kept(tmp_path: Path, text: str) -> None:
    cache = tmp_path / "cache"
    parsed = toml_cache.parse(text, lock_path=tmp_path / "x.lock", cache_dir=cache)
    assert parsed.data == tomllib.loads(text)
    parsed.keep()
    assert not toml_cache.entry_path(cache, tmp_path / "x.lock").exists()
