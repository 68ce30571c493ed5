"""extract_archive: sdists unpack to their top-level directory; hostile archives are refused."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from lock_build.archives import extract_archive
from lock_build.errors import ArchiveError


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tf.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return path


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_sdist_extracts_to_its_top_level_dir(tmp_path: Path) -> None:
    archive = _tar(
        tmp_path / "pkg-1.0.tar.gz",
        [
            ("pkg-1.0/PKG-INFO", b"Name: pkg"),
            ("pkg-1.0/src/pkg/__init__.py", b"x = 1"),
            _link("pkg-1.0/alias.py", "src/pkg/__init__.py"),
        ],
    )
    top = extract_archive(archive, tmp_path / "out")
    assert top == tmp_path / "out" / "pkg-1.0"
    assert (top / "src" / "pkg" / "__init__.py").read_text() == "x = 1"
    assert (top / "alias.py").is_symlink()


def test_zip_extracts_and_returns_dest_without_single_root(tmp_path: Path) -> None:
    archive = tmp_path / "multi.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/x.txt", "a")
        zf.writestr("b.txt", "b")
    assert extract_archive(archive, tmp_path / "out") == tmp_path / "out"
    assert (tmp_path / "out" / "a" / "x.txt").read_text() == "a"


@pytest.mark.parametrize(
    ("members", "culprit"),
    [
        ([("pkg-1.0/../../evil.txt", b"x")], "../../evil.txt"),
        ([("/etc/evil", b"x")], "/etc/evil"),
        ([_link("pkg-1.0/link", "../../outside")], "pkg-1.0/link"),
        ([_link("pkg-1.0/abs", "/etc/passwd")], "pkg-1.0/abs"),
        ([_link("pkg-1.0/hard", "../x", tarfile.LNKTYPE)], "pkg-1.0/hard"),
        ([_link("pkg-1.0/dev", "", tarfile.CHRTYPE)], "pkg-1.0/dev"),
    ],
    ids=["dotdot", "absolute", "symlink-out", "symlink-abs", "hardlink-out", "device"],
)
def test_unsafe_tar_members_are_refused(tmp_path: Path, members: list, culprit: str) -> None:
    archive = _tar(tmp_path / "bad-1.0.tar.gz", members)
    with pytest.raises(ArchiveError, match="refusing") as info:
        extract_archive(archive, tmp_path / "out")
    assert culprit in str(info.value)
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize("member", ["../evil.txt", "/abs/evil.txt", "pkg/../../evil.txt"])
def test_unsafe_zip_members_are_refused(tmp_path: Path, member: str) -> None:
    archive = tmp_path / "bad-1.0.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("pkg/ok.txt", "ok")
        info = zipfile.ZipInfo(member)
        zf.writestr(info, "x")
    with pytest.raises(ArchiveError, match="refusing"):
        extract_archive(archive, tmp_path / "out" / "deep")
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "out" / "evil.txt").exists()


def test_corrupt_and_unknown_archives(tmp_path: Path) -> None:
    corrupt = tmp_path / "x-1.0.tar.gz"
    corrupt.write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(ArchiveError, match="x-1.0.tar.gz"):
        extract_archive(corrupt, tmp_path / "out")
    odd = tmp_path / "x-1.0.rar"
    odd.write_bytes(b"")
    with pytest.raises(ArchiveError, match="not a .tar.gz or .zip"):
        extract_archive(odd, tmp_path / "out2")
