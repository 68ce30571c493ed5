"""Small members read whole: what zipfile reads, and refused where zipfile refuses."""

from __future__ import annotations

import io
import zipfile
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lock_build.sync.zip_members import SMALL, read_small


def _archive(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _read(blob: bytes, name: str) -> bytes | None:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return read_small(io.BytesIO(blob), archive.getinfo(name))


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_small_member_is_its_content(method: int) -> None:
    members = {"pkg/__init__.py": b"X = 1\n" * 100, "pkg/empty.py": b"", "pkg/é.txt": b"utf-8"}
    blob = _archive(members, method)
    for name, data in members.items():
        assert _read(blob, name) == data


def test_a_big_member_or_another_method_is_left_to_zipfile() -> None:
    big = _archive({"big.bin": b"\0" * (SMALL + 1)})
    assert _read(big, "big.bin") is None
    bzip = _archive({"a.py": b"X = 1\n"}, zipfile.ZIP_BZIP2)
    assert _read(bzip, "a.py") is None


def _tampered(blob: bytes, name: str, **changes: int) -> zipfile.ZipInfo:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        info = archive.getinfo(name)
    for key, value in changes.items():
        setattr(info, key, value)
    return info


def test_a_member_that_inflates_past_its_stated_size_is_refused() -> None:
    """A bomb whose directory states a small size: at most that size + 1 is inflated."""
    data = b"\0" * 100_000
    blob = _archive({"bomb.bin": data})
    info = _tampered(blob, "bomb.bin", file_size=10)
    with pytest.raises(zipfile.BadZipFile, match="size"):
        read_small(io.BytesIO(blob), info)


def test_a_member_whose_crc_is_wrong_is_refused() -> None:
    blob = _archive({"a.py": b"X = 1\n"})
    info = _tampered(blob, "a.py", CRC=zlib.crc32(b"other"))
    with pytest.raises(zipfile.BadZipFile, match="CRC"):
        read_small(io.BytesIO(blob), info)


def test_a_local_header_naming_another_file_is_refused() -> None:
    blob = _archive({"a.py": b"X = 1\n", "b.py": b"Y = 2\n"})
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        info = archive.getinfo("b.py")
        info.header_offset = archive.getinfo("a.py").header_offset
    with pytest.raises(zipfile.BadZipFile, match="differ"):
        read_small(io.BytesIO(blob), info)


def test_a_header_that_is_not_one_is_refused() -> None:
    blob = _archive({"a.py": b"X = 1\n"})
    info = _tampered(blob, "a.py", header_offset=1)
    with pytest.raises(zipfile.BadZipFile, match="magic"):
        read_small(io.BytesIO(blob), info)


def test_truncated_data_is_refused() -> None:
    blob = _archive({"a.py": b"X = 1\n" * 1000})
    info = _tampered(blob, "a.py")
    with pytest.raises(zipfile.BadZipFile, match="Truncated"):
        read_small(io.BytesIO(blob[: info.header_offset + 40]), info)  # the data cut short
    with pytest.raises(zipfile.BadZipFile, match="Truncated"):
        read_small(io.BytesIO(blob[: info.header_offset + 10]), info)  # the header too


def test_corrupt_deflate_data_is_refused() -> None:
    blob = bytearray(_archive({"a.py": b"X = 1\n" * 1000}))
    info = _tampered(bytes(blob), "a.py")
    start = info.header_offset + 30 + len(b"a.py")
    blob[start : start + 4] = b"\xff\xff\xff\xff"
    with pytest.raises(zipfile.BadZipFile):
        read_small(io.BytesIO(bytes(blob)), info)


def test_an_encrypted_member_is_left_to_zipfile() -> None:
    blob = _archive({"a.py": b"X = 1\n"})
    assert read_small(io.BytesIO(blob), _tampered(blob, "a.py", flag_bits=0x1)) is None


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=4096),
    method=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
    position=st.integers(min_value=0),
    byte=st.integers(min_value=0, max_value=255),
)
def test_a_damaged_archive_reads_as_zipfile_reads_it_or_is_refused(
    data: bytes, method: int, position: int, byte: int
) -> None:
    """One byte of the member's header or data changed: read_small gives zipfile's
    content (the member's), or refuses with BadZipFile: never other content or another
    error."""
    blob = bytearray(_archive({"m.bin": data}, method))
    info = _tampered(bytes(blob), "m.bin")
    end = info.header_offset + 30 + len("m.bin") + info.compress_size
    blob[position % end] = byte
    try:
        ours: bytes | None = read_small(io.BytesIO(bytes(blob)), info)
    except zipfile.BadZipFile:
        ours = None
    with zipfile.ZipFile(io.BytesIO(bytes(blob))) as archive:
        try:
            theirs: bytes | None = archive.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError):
            theirs = None
    if ours is not None:
        assert ours == data
        assert theirs in (None, data)
