"""Build fingerprints and wheel stamps (no environments: archives only)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from installer.sources import WheelFile

from lock_build.building import (
    STAMP_NAME,
    BuildFingerprint,
    BuildPin,
    read_stamp,
    read_wheel_stamp,
    stamp_wheel,
)
from lock_build.errors import ArchiveError
from support.dists import make_wheel

NUMPY = BuildPin(name="numpy", version="2.2.6", sha256="a" * 64)
SETUPTOOLS = BuildPin(name="setuptools", version="80.0", sha256="b" * 64)
TAG = "cp311-cp311-manylinux_2_36_x86_64"


def test_fingerprint_is_order_and_spelling_independent() -> None:
    one = BuildFingerprint.of([NUMPY, SETUPTOOLS], {"b": "1", "a": ["x", "y"]}, TAG)
    two = BuildFingerprint.of(
        [BuildPin(name="SetupTools", version="80.0.0", sha256="b" * 64), NUMPY],
        {"a": ["x", "y"], "b": "1"},
        TAG,
    )
    assert one.digest == two.digest
    assert len(one.digest) == 64
    assert "numpy==2.2.6 " + "a" * 64 in one.text()


@pytest.mark.parametrize(
    "other",
    [
        BuildFingerprint.of(
            [BuildPin(name="numpy", version="1.26.4", sha256="a" * 64), SETUPTOOLS], None, TAG
        ),
        BuildFingerprint.of(
            [BuildPin(name="numpy", version="2.2.6", sha256="c" * 64), SETUPTOOLS], None, TAG
        ),
        BuildFingerprint.of([NUMPY], None, TAG),
        BuildFingerprint.of([NUMPY, SETUPTOOLS], {"setup-args": "-Dblas=none"}, TAG),
        BuildFingerprint.of([NUMPY, SETUPTOOLS], None, "cp312-cp312-manylinux_2_36_x86_64"),
    ],
    ids=["other-version", "other-hash", "missing-pin", "config-settings", "other-target"],
)
def test_fingerprint_changes_with_anything_that_changes_the_build(
    other: BuildFingerprint,
) -> None:
    base = BuildFingerprint.of([NUMPY, SETUPTOOLS], None, TAG)
    assert other.digest != base.digest


def test_config_setting_string_and_list_differ() -> None:
    as_str = BuildFingerprint.of([NUMPY], {"k": "v"}, TAG)
    as_list = BuildFingerprint.of([NUMPY], {"k": ["v"]}, TAG)
    assert as_str.digest != as_list.digest


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
