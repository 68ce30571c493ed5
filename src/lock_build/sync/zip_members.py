"""A wheel's small members read whole, without a zipfile file object each.

``ZipFile.open`` builds an object per member (a header read, a decompressor, a CRC
checker) and reading through it is several Python calls per member: for the 6,000
files of the web stack that was a third of unpacking. A member that is small, stored
or deflated and not encrypted is read here with three reads and one inflate, and
checked as zipfile checks it: its local header names it, the inflate is bounded by the
size the archive's directory states, and that size and CRC-32 must be what comes out.
Anything else is left to zipfile (:func:`read_small` answers None).
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO
from zipfile import ZIP_DEFLATED, ZIP_STORED, BadZipFile, ZipInfo

__all__ = ["SMALL", "read_small"]

# Members up to this size (stated and compressed) are read whole: nearly every file of
# a wheel; a bigger one is streamed by zipfile in chunks, as before.
SMALL = 1024 * 1024

# signature, version, flags, method, time, date, CRC-32, compressed and stated sizes,
# name and extra field lengths (APPNOTE 4.3.7).
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_SIGNATURE = b"PK\x03\x04"
# Flags zipfile reads otherwise or refuses (encrypted, patched, strongly encrypted): such
# a member, in the directory or in its own header, is zipfile's.
_UNUSUAL = 0x1 | 0x20 | 0x40
_UTF8_NAME = 0x800


def read_small(handle: BinaryIO, info: ZipInfo) -> bytes | None:
    """The content of ``info``'s member of the archive open as ``handle``, or None for
    a member this reader leaves to zipfile. A member that is not what the archive's
    directory says raises :class:`zipfile.BadZipFile`, as zipfile would."""
    if (
        info.file_size > SMALL
        or info.compress_size > SMALL
        or info.flag_bits & _UNUSUAL
        or info.compress_type not in (ZIP_STORED, ZIP_DEFLATED)
    ):
        return None
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size:
        raise BadZipFile(f"Truncated file header of {info.filename!r}")
    signature, _, flags, *_, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    if signature != _SIGNATURE:
        raise BadZipFile(f"Bad magic number for file header of {info.filename!r}")
    if flags & _UNUSUAL:
        return None
    try:
        name = handle.read(name_length).decode("utf-8" if flags & _UTF8_NAME else "cp437")
    except UnicodeDecodeError as exc:
        raise BadZipFile(f"The header of {info.filename!r} names no file ({exc})") from exc
    if name != info.orig_filename:
        raise BadZipFile(
            f"File name in directory {info.orig_filename!r} and header {name!r} differ."
        )
    handle.seek(extra_length, 1)
    data = handle.read(info.compress_size)
    if len(data) != info.compress_size:
        raise BadZipFile(f"Truncated data of {info.filename!r}")
    if info.compress_type == ZIP_DEFLATED:
        try:  # one byte more than stated: a member that inflates past its size is refused
            data = zlib.decompressobj(-15).decompress(data, info.file_size + 1)
        except zlib.error as exc:
            raise BadZipFile(f"Corrupt data of {info.filename!r} ({exc})") from exc
    if len(data) != info.file_size:
        raise BadZipFile(f"Size of {info.filename!r} is not the size its directory states")
    if zlib.crc32(data) != info.CRC:
        raise BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
    return data
