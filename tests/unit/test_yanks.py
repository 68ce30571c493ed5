"""Yanked releases of a lock, as every consumer reports them."""

from __future__ import annotations

from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build.lockfile import LockedFile, LockedPackage
from lock_build.yanks import yanked_notes


def _file(filename: str, yanked: str | None) -> LockedFile:
    return LockedFile(
        filename=filename, url=f"https://x/{filename}", sha256="0" * 64, yanked=yanked
    )


def _package(name: str, version: str, *files: LockedFile) -> LockedPackage:
    wheels = tuple(f for f in files if f.filename.endswith(".whl"))
    sdist = next((f for f in files if not f.filename.endswith(".whl")), None)
    return LockedPackage(
        name=canonicalize_name(name), version=Version(version), wheels=wheels, sdist=sdist
    )


def test_only_releases_whose_every_file_is_yanked_are_named_with_their_reason() -> None:
    packages = (
        _package("zeta", "1.0", _file("zeta-1.0-py3-none-any.whl", "")),
        _package(
            "alpha",
            "2.0",
            _file("alpha-2.0-py3-none-any.whl", "broken build"),
            _file("alpha-2.0.tar.gz", "broken build"),
        ),
        _package(
            "mixed",
            "1.0",
            _file("mixed-1.0-py3-none-any.whl", "bad wheel"),
            _file("mixed-1.0.tar.gz", None),
        ),
        _package("fine", "1.0", _file("fine-1.0-py3-none-any.whl", None)),
    )
    assert yanked_notes(packages) == (
        "alpha 2.0 is yanked (reason: broken build); the lock pins it",
        "zeta 1.0 is yanked (no reason given); the lock pins it",
    )
