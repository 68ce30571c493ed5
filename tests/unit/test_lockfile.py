"""The lock ⇄ TOML: canonical, round-trips, refuses what it cannot read."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build.errors import LockfileError
from lock_build.lockfile import (
    LocalSource,
    LockedFile,
    LockedPackage,
    Substitution,
    dumps,
    find_lockfile,
    loads,
    read_lock,
    write_lock,
)
from support.locks import build, make_lock


def pkg(name: str, version: str, url: str, **fields: object) -> LockedPackage:
    file = LockedFile(url=url, sha256="ab" * 32, filename=url.rsplit("/", 1)[-1])
    return LockedPackage(
        name=canonicalize_name(name), version=Version(version), wheels=(file,), **fields
    )


LOCK = make_lock(
    (
        pkg(
            "numpy",
            "2.2.6",
            "https://files/numpy-2.2.6-cp311-cp311-linux_x86_64.whl",
            via=("cftime (build)", "-r requirements.in"),
        ),
        pkg("local", "1.0", "wheels/local-1.0-py3-none-any.whl"),
        pkg("setuptools", "80", "https://files/setuptools-80-py3-none-any.whl", runtime=False),
        LockedPackage(
            name=canonicalize_name("cftime"),
            version=Version("1.6.1"),
            sdist=LockedFile(
                url="https://files/cftime-1.6.1.tar.gz",
                sha256="cd" * 32,
                filename="cftime-1.6.1.tar.gz",
            ),
        ),
        LockedPackage(
            name=canonicalize_name("proj"),
            version=Version("0.1"),
            source=LocalSource(kind="directory", url="proj", editable=True),
        ),
    ),
    (
        build(
            "cftime",
            "1.6.1",
            ("setuptools==80", "numpy==2.2.6"),
            shared=("numpy",),
            substitutions=(
                Substitution(
                    package=canonicalize_name("numpy"),
                    declared="numpy==1.23.2",
                    used=Version("2.2.6"),
                ),
            ),
        ),
    ),
    command="lock-build compile requirements.in",
    digest="sha256:00",
    target={"python-version": "3.11", "markers": {"sys_platform": "linux"}},
)


def test_text_is_canonical_and_round_trips() -> None:
    text = dumps(LOCK)
    assert dumps(loads(text)) == text
    # Sorted regardless of the order values were built in.
    reordered = make_lock(
        tuple(reversed(LOCK.packages)),
        LOCK.builds,
        command=LOCK.command,
        digest=LOCK.inputs_digest,
        target=LOCK.target,
    )
    assert dumps(reordered) == text
    assert text.index('name = "local"') < text.index('name = "numpy"') < text.index('name = "proj"')
    assert "lock-build compile requirements.in" in text.splitlines()[2]


def test_write_is_a_no_op_when_nothing_changed(tmp_path: Path) -> None:
    path = tmp_path / "requirements.lock"
    assert write_lock(path, LOCK) is True
    before = path.stat().st_mtime_ns
    assert write_lock(path, LOCK) is False
    assert path.stat().st_mtime_ns == before
    assert read_lock(path) == loads(dumps(LOCK), source=str(path))


def test_pylock_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(LockfileError, match="PEP 751"):
        write_lock(tmp_path / "pylock.toml", LOCK)
    assert not (tmp_path / "pylock.toml").exists()


def test_relative_files_become_absolute_for_consumers_elsewhere(tmp_path: Path) -> None:
    absolute = LOCK.with_absolute_files(tmp_path)
    local = absolute.package("local")
    assert local is not None and local.wheels
    assert local.wheels[0].url == (tmp_path / "wheels/local-1.0-py3-none-any.whl").as_uri()
    numpy = absolute.package("numpy")
    assert numpy is not None and numpy.wheels
    assert numpy.wheels[0].url.startswith("https://")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("lock-version = 99\n", "bad.lock:1: lock-version: is 99; this lock-build reads"),
        ("this is = = not toml", "bad.lock:1: not valid TOML"),
        ('lock-version = 1\n[[package]]\nversion = "1"\n', r"bad.lock:2: package\[0\], name: is"),
        (
            'lock-version = 1\n[[package]]\nname = "a"\nversion = "x y"\n',
            "bad.lock:4: package \"a\", version: 'x y' is not a valid version",
        ),
    ],
)
def test_unreadable_locks_are_one_clear_error(text: str, needle: str) -> None:
    with pytest.raises(LockfileError, match=needle):
        loads(text, source="bad.lock")


def test_find_lockfile(tmp_path: Path) -> None:
    with pytest.raises(LockfileError, match="No lockfile"):
        find_lockfile(tmp_path)
    write_lock(tmp_path / "requirements.lock", LOCK)
    (tmp_path / "other.lock").write_text("not ours\n")  # e.g. a poetry.lock-like file
    assert find_lockfile(tmp_path) == tmp_path / "requirements.lock"
    write_lock(tmp_path / "dev.lock", LOCK)
    with pytest.raises(LockfileError, match="Several lockfiles"):
        find_lockfile(tmp_path)


def test_unwritable_destination_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "requirements.in"
    blocker.write_text("a\n")
    with pytest.raises(LockfileError, match="not a writable directory"):
        write_lock(blocker / "requirements.lock", LOCK)
