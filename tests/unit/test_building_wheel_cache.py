"""The built-wheel cache is keyed by sdist, build fingerprint and target together."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from lock_build.building import WheelCache
from lock_build.errors import BuildError
from support.dists import make_wheel

SDIST = "1" * 64
OTHER_SDIST = "2" * 64
FP = "a" * 64
OTHER_FP = "b" * 64
TARGET = "cp311-cp311-manylinux_2_36_x86_64"


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return make_wheel(tmp_path / "built", "cftime", "1.6.1", tag="cp311-cp311-linux_x86_64")


def test_put_then_get(tmp_path: Path, wheel: Path) -> None:
    cache = WheelCache(tmp_path / "cache")
    assert cache.get(SDIST, FP, TARGET) is None
    stored = cache.put(wheel, SDIST, FP, TARGET)
    assert stored.name == wheel.name
    assert stored.read_bytes() == wheel.read_bytes()
    assert cache.get(SDIST, FP, TARGET) == stored
    # A new instance over the same directory sees it (it is on disk, not in memory).
    assert WheelCache(tmp_path / "cache").get(SDIST, FP, TARGET) == stored


@pytest.mark.parametrize(
    "key",
    [(SDIST, OTHER_FP, TARGET), (OTHER_SDIST, FP, TARGET), (SDIST, FP, "cp312-cp312-x")],
    ids=["other-build-pins", "other-sdist", "other-target"],
)
def test_never_returns_a_wheel_for_another_key(
    tmp_path: Path, wheel: Path, key: tuple[str, str, str]
) -> None:
    cache = WheelCache(tmp_path / "cache")
    cache.put(wheel, SDIST, FP, TARGET)
    assert cache.get(*key) is None


def test_same_sdist_two_fingerprints_two_wheels(tmp_path: Path) -> None:
    cache = WheelCache(tmp_path / "cache")
    old = make_wheel(tmp_path / "old", "cftime", "1.6.1", files={"cftime/abi.txt": "numpy 1"})
    new = make_wheel(tmp_path / "new", "cftime", "1.6.1", files={"cftime/abi.txt": "numpy 2"})
    a = cache.put(old, SDIST, FP, TARGET)
    b = cache.put(new, SDIST, OTHER_FP, TARGET)
    assert a != b
    assert cache.get(SDIST, FP, TARGET).read_bytes() == old.read_bytes()  # type: ignore[union-attr]
    assert cache.get(SDIST, OTHER_FP, TARGET).read_bytes() == new.read_bytes()  # type: ignore[union-attr]


def test_put_is_idempotent_and_leaves_no_temporaries(tmp_path: Path, wheel: Path) -> None:
    cache = WheelCache(tmp_path / "cache")
    first = cache.put(wheel, SDIST, FP, TARGET)
    second = cache.put(wheel, SDIST, FP, TARGET)
    assert first == second
    leftovers = [p for p in (tmp_path / "cache").rglob(".tmp-*")]
    assert leftovers == []


def test_half_written_entry_is_a_miss_and_gets_replaced(tmp_path: Path, wheel: Path) -> None:
    cache = WheelCache(tmp_path / "cache")
    stored = cache.put(wheel, SDIST, FP, TARGET)
    (stored.parent / "entry.json").unlink()  # as if a foreign tool half-deleted it
    assert cache.get(SDIST, FP, TARGET) is None
    again = cache.put(wheel, SDIST, FP, TARGET)
    assert cache.get(SDIST, FP, TARGET) == again


def test_rejects_a_bad_sdist_digest(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="not a sha256"):
        WheelCache(tmp_path).get("abc", FP, TARGET)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda w: w.write_bytes(w.read_bytes() + b"edited"), "has sha256"),
        (lambda w: w.unlink(), "cannot be read"),
        (lambda w: (w.parent / "entry.json").write_text("[]"), "no valid entry.json"),
        (lambda w: (w.parent / "entry.json").unlink(), "no valid entry.json"),
    ],
    ids=["wheel-edited", "wheel-gone", "sidecar-damaged", "sidecar-gone"],
)
def test_a_damaged_entry_is_dropped_and_rebuilt(
    tmp_path: Path,
    wheel: Path,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path], object],
    reason: str,
) -> None:
    """A wheel edited after its build is never handed out: pip's hash check would only
    compare the cached file with itself."""
    cache = WheelCache(tmp_path / "cache")
    stored = cache.put(wheel, SDIST, FP, TARGET)
    damage(stored)
    with caplog.at_level(logging.WARNING, logger="lock_build.cache"):
        assert cache.get(SDIST, FP, TARGET) is None
    assert any(reason in r.getMessage() for r in caplog.records), caplog.text
    assert not stored.parent.exists()
    again = cache.put(wheel, SDIST, FP, TARGET)
    assert cache.get(SDIST, FP, TARGET) == again
    assert again.read_bytes() == wheel.read_bytes()


def test_sidecar_records_the_sha256_at_build_time(tmp_path: Path, wheel: Path) -> None:
    stored = WheelCache(tmp_path / "cache").put(wheel, SDIST, FP, TARGET)
    sidecar = json.loads((stored.parent / "entry.json").read_text())
    assert sidecar["value"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert sidecar["value"]["filename"] == wheel.name
