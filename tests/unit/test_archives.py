"""extract_archive: sdists unpack to their top-level directory; hostile archives are refused."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from lock_build.archives import ExtractLimits, extract_archive
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
    assert info.value.path == archive
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


# -- limits and the data filter on every Python ------------------------------------------


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("kind", ["tar", "zip"])
@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (
            ExtractLimits(max_bytes=1 << 20, max_members=100),
            "unpacks to more than the limit of 1 MiB",
        ),
        (
            ExtractLimits(max_bytes=1 << 30, max_members=3),
            "holds more than the limit of 3 members",
        ),
    ],
    ids=["size", "members"],
)
def test_limits_refuse_a_bomb_before_writing(
    tmp_path: Path, kind: str, limits: ExtractLimits, message: str
) -> None:
    members = {f"bomb-1.0/f{i}": b"\0" * (512 << 10) for i in range(4)}  # 2 MiB of zeros
    if kind == "tar":
        archive = _tar(tmp_path / "bomb-1.0.tar.gz", list(members.items()))
    else:
        archive = _zip(tmp_path / "bomb-1.0.zip", members)
    assert archive.stat().st_size < 100_000  # small on disk
    with pytest.raises(ArchiveError, match=message):
        extract_archive(archive, tmp_path / "out", limits)
    assert not any((tmp_path / "out").iterdir())


def test_limits_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = _tar(tmp_path / "pkg-1.0.tar.gz", [("pkg-1.0/a", b"1"), ("pkg-1.0/b", b"2")])
    monkeypatch.setenv("LOCK_BUILD_MAX_MEMBERS", "1")
    with pytest.raises(ArchiveError) as info:
        extract_archive(archive, tmp_path / "out")
    assert "raise LOCK_BUILD_MAX_MEMBERS" in info.value.render()
    monkeypatch.setenv("LOCK_BUILD_MAX_MEMBERS", "lots")
    with pytest.raises(ArchiveError, match="is not a positive whole number"):
        extract_archive(archive, tmp_path / "out")


@pytest.mark.parametrize("has_filter", [True, False], ids=["data-filter", "pre-3.11.4"])
def test_modes_are_made_safe_on_every_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, has_filter: bool
) -> None:
    if not has_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    setuid = tarfile.TarInfo("pkg-1.0/run")
    setuid.mode, setuid.size = 0o4777, 2
    plain = tarfile.TarInfo("pkg-1.0/data")
    plain.mode, plain.size = 0o666, 2
    archive = tmp_path / "pkg-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.addfile(setuid, io.BytesIO(b"#!"))
        tf.addfile(plain, io.BytesIO(b"ok"))
    top = extract_archive(archive, tmp_path / "out")
    assert (top / "run").stat().st_mode & 0o7777 == 0o755
    assert (top / "data").stat().st_mode & 0o7777 == 0o644


@pytest.mark.parametrize("has_filter", [True, False], ids=["data-filter", "pre-3.11.4"])
def test_escaping_links_are_refused_on_every_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, has_filter: bool
) -> None:
    if not has_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    archive = _tar(tmp_path / "evil-1.0.tar.gz", [_link("evil-1.0/x", "../../etc/passwd")])
    with pytest.raises(ArchiveError, match="pointing outside"):
        extract_archive(archive, tmp_path / "out")


@pytest.mark.parametrize(
    "content",
    [b"", b"\x1f\x8b" + b"\0" * 50, b"PK\x03\x04" + b"\xff" * 60, b"x" * 1024],
    ids=["empty", "bad-gzip", "bad-zip", "junk"],
)
@pytest.mark.parametrize("suffix", [".tar.gz", ".zip", ".tar.xz", ".tar.bz2"])
def test_garbage_is_one_error(tmp_path: Path, content: bytes, suffix: str) -> None:
    archive = tmp_path / f"pkg-1.0{suffix}"
    archive.write_bytes(content)
    with pytest.raises(ArchiveError, match="cannot be unpacked"):
        extract_archive(archive, tmp_path / "out")
