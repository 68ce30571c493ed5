"""Core metadata helpers: parsing, reading wheels and sdists, PEP 643 static checks."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from lock_build.errors import ArchiveError, MetadataError
from lock_build.metadata import (
    find_metadata_member,
    metadata_is_static,
    parse_core_metadata,
    read_sdist_pkg_info,
    read_wheel_metadata,
)

METADATA = b"""\
Metadata-Version: 2.1
Name: My_Pkg
Version: 1.2.0
Requires-Python: >=3.9
Requires-Dist: numpy>=1.26
Requires-Dist: rich; extra == "cli"
Provides-Extra: CLI
Description-Content-Type: text/markdown

A long description, which is ignored.
"""


def test_parse_core_metadata_normalizes_and_parses() -> None:
    meta = parse_core_metadata(METADATA, "my-pkg 1.2.0")
    assert meta.name == "my-pkg"
    assert str(meta.version) == "1.2.0"
    assert meta.requires_python == SpecifierSet(">=3.9")
    assert [str(r) for r in meta.requires_dist] == ["numpy>=1.26", 'rich; extra == "cli"']
    assert meta.provides_extra == frozenset({"cli"})


def test_bad_requirement_names_the_distribution() -> None:
    data = METADATA.replace(b"numpy>=1.26", b"numpy>=>1")
    with pytest.raises(MetadataError, match="my-pkg 1.2.0.*numpy>=>1") as info:
        parse_core_metadata(data, "my-pkg 1.2.0")
    error = info.value
    assert (error.source, error.package, str(error.version)) == ("my-pkg 1.2.0", "my-pkg", "1.2.0")


@pytest.mark.parametrize(
    ("data", "package"),
    [
        (b"Metadata-Version: 2.1\nVersion: 1.0\n", None),
        (b"Name: X_Y\nVersion: not a version\n", "x-y"),
    ],
)
def test_missing_or_bad_name_version(data: bytes, package: str | None) -> None:
    with pytest.raises(MetadataError) as info:
        parse_core_metadata(data, "https://u:pw@host/x.whl")
    assert (info.value.source, info.value.package) == ("https://u:****@host/x.whl", package)
    assert info.value.version is None


@pytest.mark.parametrize(
    ("headers", "static"),
    [
        ("Metadata-Version: 2.1\n", False),  # PEP 643 needs 2.2
        ("Metadata-Version: 2.2\n", True),
        ("Metadata-Version: 2.2\nDynamic: Requires-Dist\n", False),
        ("Metadata-Version: 2.3\nDynamic: requires-python\n", False),
        ("Metadata-Version: 2.4\nDynamic: Description\n", True),
    ],
)
def test_metadata_is_static(headers: str, static: bool) -> None:
    raw = (headers + "Name: x\nVersion: 1.0\n").encode()
    assert metadata_is_static(raw) is static


def test_find_metadata_member_prefers_the_project() -> None:
    names = ["vendored-1.0.dist-info/METADATA", "my_pkg-1.0.dist-info/METADATA", "a/b/METADATA"]
    assert find_metadata_member(names, "My-Pkg") == "my_pkg-1.0.dist-info/METADATA"
    assert find_metadata_member(["x.txt"]) is None


def test_read_wheel_metadata(tmp_path: Path) -> None:
    wheel = tmp_path / "my_pkg-1.2.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("my_pkg/__init__.py", "")
        zf.writestr("my_pkg-1.2.0.dist-info/METADATA", METADATA)
    assert read_wheel_metadata(wheel) == METADATA
    broken = tmp_path / "broken-1.0-py3-none-any.whl"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ArchiveError, match="broken-1.0"):
        read_wheel_metadata(broken)


def _sdist(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_read_sdist_pkg_info(tmp_path: Path) -> None:
    pkg_info = b"Metadata-Version: 2.2\nName: x\nVersion: 1.0\n"
    sdist = _sdist(
        tmp_path / "x-1.0.tar.gz",
        {"x-1.0/PKG-INFO": pkg_info, "x-1.0/sub/PKG-INFO": b"nested, ignored"},
    )
    assert read_sdist_pkg_info(sdist) == pkg_info
    bare = _sdist(tmp_path / "y-1.0.tar.gz", {"y-1.0/setup.py": b""})
    assert read_sdist_pkg_info(bare) is None
    zipped = tmp_path / "z-1.0.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("z-1.0/PKG-INFO", pkg_info)
    assert read_sdist_pkg_info(zipped) == pkg_info


def test_requirements_are_packaging_values() -> None:
    meta = parse_core_metadata(METADATA, "my-pkg")
    assert all(isinstance(r, Requirement) for r in meta.requires_dist)
