"""Read one member of a remote wheel with HTTP range requests instead of downloading it.

A wheel is a zip: its directory sits at the end. We fetch the tail, parse the
end-of-central-directory record (zip64 too), find ``*.dist-info/METADATA`` in the
central directory, then fetch just that member and inflate it — usually two small
requests instead of a download of tens of megabytes (as uv does on indexes without
PEP 658 files). The parsing is pure and takes the fetches as callables.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from lock_build.metadata import find_metadata_member

TAIL = 64 * 1024
# No real METADATA comes near this (the largest on PyPI are a few hundred KB of README).
MAX_METADATA = 16 * 1024 * 1024

_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_METADATA_SUFFIX = b".dist-info/METADATA"

Fetch = Callable[[int, int], bytes | None]  # inclusive byte range → bytes, None if refused
FetchTail = Callable[[int], tuple[bytes, int] | None]  # length → (bytes, total size)


class LazyWheelError(Exception):
    """The remote file is not a zip we can read lazily; the caller downloads it instead."""


@dataclass(frozen=True, kw_only=True, slots=True)
class _Entry:
    name: str
    method: int
    compressed_size: int
    size: int
    header_offset: int


def read_member_lazily(
    fetch: Fetch, fetch_tail: FetchTail, project: str | None = None
) -> bytes | None:
    """The METADATA member of a remote wheel; ``None`` if the server refuses ranges.

    Raises :class:`LazyWheelError` if the bytes are not a readable zip.
    """
    tail = fetch_tail(TAIL)
    if tail is None:
        return None
    data, total = tail
    tail_start = total - len(data)
    cd_offset, cd_size = _central_directory(data, tail_start, fetch)
    if cd_offset >= tail_start:
        directory = data[cd_offset - tail_start : cd_offset - tail_start + cd_size]
    else:
        fetched = fetch(cd_offset, cd_offset + cd_size - 1)
        if fetched is None:
            return None
        directory = fetched
    entries = {e.name: e for e in _entries(directory)}
    member = find_metadata_member(entries, project)
    if member is None:
        raise LazyWheelError("no .dist-info/METADATA in the wheel")
    entry = entries[member]
    # Local header extra fields may differ from the central ones: over-fetch a little.
    span = 30 + len(entry.name.encode()) + 1024 + entry.compressed_size
    end = min(entry.header_offset + span, total) - 1
    if entry.header_offset >= tail_start and end < total:
        local = data[entry.header_offset - tail_start :]
    else:
        fetched = fetch(entry.header_offset, end)
        if fetched is None:
            return None
        local = fetched
    return _inflate(local, entry)


def _central_directory(data: bytes, tail_start: int, fetch: Fetch) -> tuple[int, int]:
    at = data.rfind(_EOCD)
    if at < 0 or len(data) - at < 22:
        raise LazyWheelError("no end-of-central-directory record")
    (_sig, _disk, _cd_disk, _n_here, _n, cd_size, cd_offset, _comment) = struct.unpack(
        "<4sHHHHIIH", data[at : at + 22]
    )
    if cd_offset != 0xFFFFFFFF and cd_size != 0xFFFFFFFF:
        return cd_offset, cd_size
    locator_at = at - 20
    if locator_at < 0 or data[locator_at : locator_at + 4] != _ZIP64_LOCATOR:
        raise LazyWheelError("zip64 locator missing")
    locator = data[locator_at : locator_at + 20]
    (_sig, _disk, eocd64_offset, _disks) = struct.unpack("<4sIQI", locator)
    if eocd64_offset >= tail_start:
        record = data[eocd64_offset - tail_start : eocd64_offset - tail_start + 56]
    else:
        record = fetch(eocd64_offset, eocd64_offset + 55) or b""
    if len(record) < 56 or record[:4] != _ZIP64_EOCD:
        raise LazyWheelError("zip64 end-of-central-directory record missing")
    cd_size, cd_offset = struct.unpack("<QQ", record[40:56])
    return cd_offset, cd_size


def _entries(directory: bytes) -> list[_Entry]:
    """The central directory's ``*.dist-info/METADATA`` entries (a wheel of thousands of
    files needs only those: the others are walked over, not built)."""
    entries = []
    walked = 0
    pos = 0
    while pos + 46 <= len(directory) and directory[pos : pos + 4] == _CENTRAL:
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", directory, pos + 28)
        name_end = pos + 46 + name_len
        walked += 1
        if directory.endswith(_METADATA_SUFFIX, pos + 46, name_end):
            fields = struct.unpack_from("<4sHHHHHHIIIHHHHHII", directory, pos)
            method, compressed, size, offset = fields[4], fields[8], fields[9], fields[16]
            extra = directory[name_end : name_end + extra_len]
            size, compressed, offset = _zip64_extra(extra, size, compressed, offset)
            entries.append(
                _Entry(
                    name=directory[pos + 46 : name_end].decode("utf-8", "replace"),
                    method=method,
                    compressed_size=compressed,
                    size=size,
                    header_offset=offset,
                )
            )
        pos = name_end + extra_len + comment_len
    if not walked:
        raise LazyWheelError("empty or unreadable central directory")
    return entries


def _zip64_extra(extra: bytes, size: int, compressed: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        header_id, length = struct.unpack("<HH", extra[pos : pos + 4])
        if header_id == 0x0001:
            values = extra[pos + 4 : pos + 4 + length]
            cursor = 0
            # Only the fields that overflowed are present, in this order.
            if size == 0xFFFFFFFF:
                (size,) = struct.unpack("<Q", values[cursor : cursor + 8])
                cursor += 8
            if compressed == 0xFFFFFFFF:
                (compressed,) = struct.unpack("<Q", values[cursor : cursor + 8])
                cursor += 8
            if offset == 0xFFFFFFFF:
                (offset,) = struct.unpack("<Q", values[cursor : cursor + 8])
            break
        pos += 4 + length
    return size, compressed, offset


def _inflate(local: bytes, entry: _Entry) -> bytes:
    if len(local) < 30 or local[:4] != _LOCAL:
        raise LazyWheelError("bad local file header")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    start = 30 + name_len + extra_len
    raw = local[start : start + entry.compressed_size]
    if len(raw) < entry.compressed_size:
        raise LazyWheelError("truncated member")
    if entry.size > MAX_METADATA:
        raise LazyWheelError(f"METADATA of {entry.size} bytes (at most {MAX_METADATA} read)")
    if entry.method == 0:
        data = raw
    elif entry.method == 8:
        # At most one byte more than the directory states: a member that inflates past
        # its size (a zip bomb's trick) is refused below without being inflated whole.
        try:
            data = zlib.decompressobj(-15).decompress(raw, entry.size + 1)
        except zlib.error as exc:
            raise LazyWheelError(f"cannot inflate METADATA ({exc})") from None
    else:
        raise LazyWheelError(f"unsupported compression method {entry.method}")
    if len(data) != entry.size:
        raise LazyWheelError("METADATA size does not match the central directory")
    return data


__all__ = [
    "Fetch",
    "FetchTail",
    "MAX_METADATA",
    "LazyWheelError",
    "TAIL",
    "read_member_lazily",
]
