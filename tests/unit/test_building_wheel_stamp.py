"""Wheel stamps (no environments: archives only)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from installer.sources import WheelFile

from lock_build.building import (
    STAMP_NAME,
    read_stamp,
    read_wheel_stamp,
    stamp_wheel,
)
from lock_build.errors import ArchiveError
from support.dists import make_wheel


def _record_rows(wheel: Path) -> dict[str, tuple[str, str]]:
    with zipfile.ZipFile(wheel) as archive:
        record = archive.read("demo-1.0.dist-info/RECORD").decode()
    return {row[0]: (row[1], row[2]) for row in csv.reader(io.StringIO(record))}


def test_stamp_adds_file_and_keeps_record_valid(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", requires=["numpy>=1.20"])
    before = _record_rows(wheel)
    result = stamp_wheel(wheel, {"NumPy": "2.2.6", "setuptools": "80.0"}, "f" * 64)
    assert result == wheel
    rows = _record_rows(wheel)
    assert set(rows) == set(before) | {f"demo-1.0.dist-info/{STAMP_NAME}"}
    assert rows["demo-1.0.dist-info/RECORD"] == ("", "")
    with WheelFile.open(wheel) as source:
        source.validate_record()  # every member hashed, sizes right
    stamp = read_wheel_stamp(wheel)
    assert stamp == {
        "format": 1,
        "fingerprint": "f" * 64,
        "pins": {"numpy": "2.2.6", "setuptools": "80.0"},
    }


def test_restamping_replaces_the_stamp(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0")
    stamp_wheel(wheel, {"numpy": "1.26.4"}, "1" * 64)
    stamp_wheel(wheel, {"numpy": "2.2.6"}, "2" * 64)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert names.count(f"demo-1.0.dist-info/{STAMP_NAME}") == 1
    assert names.count("demo-1.0.dist-info/RECORD") == 1
    assert read_wheel_stamp(wheel)["pins"] == {"numpy": "2.2.6"}  # type: ignore[index]
    with WheelFile.open(wheel) as source:
        source.validate_record()


def test_stamp_refuses_non_wheels(tmp_path: Path) -> None:
    bogus = tmp_path / "demo-1.0-py3-none-any.whl"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(ArchiveError, match="Cannot stamp demo-1.0-py3-none-any.whl"):
        stamp_wheel(bogus, {}, "0" * 64)
    assert bogus.read_bytes() == b"not a zip"
    assert list(tmp_path.iterdir()) == [bogus]  # no temporary file left behind


def test_read_stamp_from_dist_info(tmp_path: Path) -> None:
    dist_info = tmp_path / "demo-1.0.dist-info"
    dist_info.mkdir()
    assert read_stamp(dist_info) is None
    (dist_info / STAMP_NAME).write_text("{not json", encoding="utf-8")
    assert read_stamp(dist_info) is None
    (dist_info / STAMP_NAME).write_text('{"fingerprint": "x", "pins": {"a": "1"}}')
    assert read_stamp(dist_info) == {"fingerprint": "x", "pins": {"a": "1"}}
