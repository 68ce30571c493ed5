"""The cache entry format: JSON envelopes read through a schema; damage is a dropped miss."""

from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import pytest

from lock_build.cache import FORMAT, expect_list, expect_str, read_entry, write_entry

SRC = Path(__file__).resolve().parents[2] / "src" / "lock_build"


def _strings(value: object) -> tuple[str, ...]:
    return tuple(expect_str(v, "item") for v in expect_list(value, "value"))


def test_round_trip_and_envelope(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "entry.json"
    assert write_entry(path, "demo-v1", ["a", "b"])
    assert json.loads(path.read_text()) == {
        "kind": "demo-v1",
        "format": FORMAT,
        "value": ["a", "b"],
    }
    assert read_entry(path, "demo-v1", _strings) == ("a", "b")
    assert [p.name for p in path.parent.iterdir()] == ["entry.json"]  # no temporaries left


@pytest.mark.parametrize(
    "value",
    [
        {"rows": [["demo-1.0.tar.gz", None, 3, True]], "b": {"z": 1, "a": "é\n\u2028"}},
        ["name-\udcff.whl"],  # a lone surrogate (an undecodable file name): json's way
    ],
    ids=["compact-sorted", "surrogate"],
)
def test_entries_are_compact_sorted_json_whatever_they_hold(tmp_path: Path, value: object) -> None:
    path = tmp_path / "entry.json"
    assert write_entry(path, "demo-v1", value)
    document = {"format": FORMAT, "kind": "demo-v1", "value": value}
    expected = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert path.read_bytes() == expected.encode("utf-8", "surrogateescape")


def test_absent_entry_is_a_silent_miss(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert read_entry(tmp_path / "none.json", "demo-v1", _strings) is None
    assert caplog.records == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x80\x04\x95garbage", "not UTF-8"),
        (b'{"kind": "demo-v1", "format": 2, "value": ["a"', "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"metadata": 5}', "not a format-2 demo-v1 entry"),
        (b'{"kind": "other", "format": 2, "value": []}', "not a format-2 demo-v1 entry"),
        (b'{"kind": "demo-v1", "format": 1, "value": []}', "not a format-2 demo-v1 entry"),
        (b'{"kind": "demo-v1", "format": 2}', "no value"),
        (b'{"kind": "demo-v1", "format": 2, "value": [5]}', "item is int, not a string"),
        (b'{"kind": "demo-v1", "format": 2, "value": {}}', "value is dict, not a list"),
    ],
    ids=[
        "pickle",
        "truncated",
        "array",
        "foreign",
        "other-kind",
        "old-format",
        "no-value",
        "wrong-item",
        "wrong-shape",
    ],
)
def test_damaged_entry_is_dropped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes, reason: str
) -> None:
    path = tmp_path / "entry.json"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="lock_build.cache"):
        assert read_entry(path, "demo-v1", _strings) is None
    (record,) = caplog.records
    assert record.getMessage() == (
        f"dropped a damaged demo-v1 cache entry {path} ({reason}); recomputing it"
    )
    assert not path.exists()


def test_no_module_uses_pickle() -> None:
    """Nothing in lock-build can unpickle a cache file (pickle runs code when read)."""
    users = []
    for module in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] in ("pickle", "marshal", "shelve", "dill") for n in names):
                users.append(str(module.relative_to(SRC)))
    assert users == []
