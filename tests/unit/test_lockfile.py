"""The lock ⇄ TOML: canonical, round-trips, refuses what it cannot read."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build.errors import LockfileError
from lock_build.lockfile import (
    LocalSource,
    LockedFile,
    LockedPackage,
    Substitution,
    dumps,
    dumps_with_tomlkit,
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


def test_a_new_lock_gets_the_umask_mode_and_a_rewrite_keeps_the_old_one(tmp_path: Path) -> None:
    import os

    path = tmp_path / "requirements.lock"
    previous = os.umask(0o022)
    try:
        write_lock(path, LOCK)
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    path.chmod(0o640)
    changed = replace(LOCK, command="lock-build compile other.in")
    assert write_lock(path, changed) is True
    assert path.stat().st_mode & 0o777 == 0o640


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


# -- the fast writer of arrays of tables writes what tomlkit writes ----------------------

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(dumps_with_tomlkit(LOCK), id="hand-built"),
        pytest.param((REPO / "requirements" / "test.lock").read_text("utf-8"), id="test.lock"),
    ],
)
def test_the_fast_writer_gives_tomlkits_bytes(text: str) -> None:
    lock = loads(text)
    assert dumps(lock) == dumps_with_tomlkit(lock) == text


@dataclass(frozen=True, kw_only=True, slots=True)
class _Data:
    """Anything with a lock's to_dict and command: lets the writers meet arbitrary values."""

    data: dict[str, Any]
    command: str = "lock-build compile"

    def to_dict(self) -> dict[str, Any]:
        return self.data


_SCALARS = (
    st.text(max_size=12)
    | st.sampled_from(['a"b', "a\\b", "tab\there", "nl\nx", "\x00\x1b\x7f", "é€𝄞", "'", ""])
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.datetimes(timezones=st.none() | st.just(UTC) | st.timezones())
)
_KEYS = st.text(min_size=1, max_size=8) | st.sampled_from(["name", "a b", "é", 'q"', "x.y"])
# The shapes a lock's to_dict gives: scalars, inline tables of scalars and arrays of
# scalars, arrays of those tables, arrays of scalars (others: the cases below).
_INLINE_TABLE = st.dictionaries(_KEYS, _SCALARS | st.lists(_SCALARS, max_size=3), max_size=4)
_TABLE_VALUES = (
    _SCALARS
    | _INLINE_TABLE
    | st.lists(_INLINE_TABLE, min_size=1, max_size=3)
    | st.lists(_SCALARS, max_size=5)
)
_TABLES = st.lists(
    st.dictionaries(_KEYS, _TABLE_VALUES, min_size=1, max_size=5), min_size=1, max_size=3
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    tables=st.fixed_dictionaries({}, optional={k: _TABLES for k in ("target", "package", "build")}),
    options=st.none() | st.dictionaries(_KEYS, st.lists(st.text(max_size=5), max_size=3)),
)
def test_the_fast_writer_equals_tomlkit_on_any_values(
    tables: dict[str, Any], options: dict[str, Any] | None
) -> None:
    data = {"lock-version": 2, "inputs": {"digest": "sha256:00", "files": ["a.in"]}}
    if options is not None:
        data["options"] = options
    lock = _Data(data={**data, **tables})
    try:
        expected = dumps_with_tomlkit(lock)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - a value TOML cannot hold: the fast path must fail too
        with pytest.raises(Exception):  # noqa: B017
            dumps(lock)  # type: ignore[arg-type]
        return
    assert dumps(lock) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "packages",
    [
        *([{"name": "a", "x": value}] for value in (1.5, date(2026, 1, 2), [[1, 2]], (1, 2))),
        [{"name": "a", "x": {"a": [{"b": 1}]}}],
        [{"name": "a", "x": {"a": {"b": 1, "c": 2}}}],
        [],
        [{}],
    ],
    ids=[
        "float",
        "date",
        "nested-array",
        "tuple",
        "array-of-tables-inline",
        "nested-inline-table",
        "no-tables",
        "empty-table",
    ],
)
def test_values_the_fast_writer_does_not_know_go_through_tomlkit(
    packages: list[dict[str, Any]],
) -> None:
    lock = _Data(data={"lock-version": 2, "inputs": {}, "package": packages})
    assert dumps(lock) == dumps_with_tomlkit(lock)  # type: ignore[arg-type]
