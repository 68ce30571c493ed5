"""Reading METADATA out of a remote zip through byte ranges (pure: fetches are callables)."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from lock_build.index.lazy_wheel import MAX_METADATA, TAIL, LazyWheelError, read_member_lazily

METADATA = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: six\n\n"


def wheel_bytes(pad: int = 0, zip64: bool = False, stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", method) as zf:
        with zf.open("demo-1.0.dist-info/METADATA", "w", force_zip64=zip64) as handle:
            handle.write(METADATA)
        if pad:
            zf.writestr("demo/blob.bin", os.urandom(pad), zipfile.ZIP_STORED)
        zf.writestr("vendored-2.0.dist-info/METADATA", b"Name: vendored\n")
        zf.writestr("demo-1.0.dist-info/RECORD", b"")
    return buffer.getvalue()


class Remote:
    def __init__(self, data: bytes, ranges: bool = True) -> None:
        self.data, self.ranges = data, ranges
        self.requests: list[tuple[int, int]] = []

    def fetch(self, start: int, end: int) -> bytes | None:
        self.requests.append((start, end))
        return self.data[start : end + 1] if self.ranges else None

    def tail(self, length: int) -> tuple[bytes, int] | None:
        self.requests.append((-length, -1))
        return (self.data[-length:], len(self.data)) if self.ranges else None

    def read(self) -> bytes | None:
        return read_member_lazily(self.fetch, self.tail, "demo")


@pytest.mark.parametrize(
    ("pad", "zip64", "stored", "requests"),
    [
        (0, False, False, 1),  # a small wheel: the tail holds everything
        (3 * TAIL, False, False, 2),  # tail, then the member
        (3 * TAIL, True, False, 2),  # zip64 extra fields
        (3 * TAIL, False, True, 2),  # stored, not deflated
    ],
)
def test_reads_metadata_with_few_requests(
    pad: int, zip64: bool, stored: bool, requests: int
) -> None:
    remote = Remote(wheel_bytes(pad, zip64, stored))
    assert remote.read() == METADATA
    assert len(remote.requests) == requests
    fetched = sum(min(e, len(remote.data) - 1) - s + 1 for s, e in remote.requests if s >= 0)
    assert fetched < 4096  # never the padding


def test_refused_ranges_give_none() -> None:
    assert Remote(wheel_bytes(), ranges=False).read() is None


@pytest.mark.parametrize("data", [b"not a zip at all" * 10, b"PK\x05\x06" + b"\x00" * 18])
def test_garbage_raises(data: bytes) -> None:
    with pytest.raises(LazyWheelError):
        Remote(data).read()


def test_no_metadata_member() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("demo/__init__.py", "")
    with pytest.raises(LazyWheelError, match="METADATA"):
        Remote(buffer.getvalue()).read()


def _with_stated_size(data: bytes, stated: int) -> bytes:
    """``data`` with its METADATA's uncompressed size in the central directory set to
    ``stated`` (the local header is left as it is: the reader trusts the directory)."""
    name = b"demo-1.0.dist-info/METADATA"
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    return data[: at + 24] + stated.to_bytes(4, "little") + data[at + 28 :]


def test_a_member_that_inflates_past_its_stated_size_is_refused() -> None:
    # What a bomb does: a small deflate stream, a directory that understates its size.
    bomb = b"Metadata-Version: 2.1\n" + b"x" * 5_000_000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("demo-1.0.dist-info/METADATA", bomb)
    with pytest.raises(LazyWheelError, match="size does not match"):
        Remote(_with_stated_size(buffer.getvalue(), 100)).read()


def test_a_metadata_of_absurd_stated_size_is_not_read() -> None:
    with pytest.raises(LazyWheelError, match="at most"):
        Remote(_with_stated_size(wheel_bytes(), MAX_METADATA + 1)).read()
