"""Merging one-target locks into one, and each target's view of a merged lock."""

from __future__ import annotations

from dataclasses import replace

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build.errors import LockfileError, NoMatchingTargetError
from lock_build.lockfile import Lock, LockedFile, LockedPackage, dumps, loads
from lock_build.multilock import (
    agreed_pins,
    choose_target,
    lock_for_target,
    merge_locks,
    target_infos,
)
from support.locks import build, make_lock

PY311 = {
    "implementation": "cpython",
    "python-version": "3.11",
    "python-full-version": "3.11.7",
    "platform": "manylinux_2_28_x86_64",
    "markers": {"python_version": "3.11", "sys_platform": "linux"},
}
PY312 = {**PY311, "python-version": "3.12", "python-full-version": "3.12.1"}
PY312["markers"] = {"python_version": "3.12", "sys_platform": "linux"}


INDEX = "https://files/simple"


def pkg(name: str, version: str, *wheels: str, runtime: bool = True) -> LockedPackage:
    files = tuple(
        LockedFile(url=f"https://files/{w}", sha256="ab" * 32, filename=w, index=INDEX)
        for w in wheels
    )
    return LockedPackage(
        name=canonicalize_name(name), version=Version(version), runtime=runtime, wheels=files
    )


def part(target: dict[str, object], *packages: LockedPackage, builds: tuple = ()) -> Lock:  # type: ignore[type-arg]
    return make_lock(packages, builds, target=target)


SHARED = pkg("shared", "1.0", "shared-1.0-py3-none-any.whl")
OLD_ONLY = pkg("tomli", "2.0", "tomli-2.0-py3-none-any.whl")
NATIVE_311 = pkg("native", "1.0", "native-1.0-cp311-cp311-manylinux_2_17_x86_64.whl")
NATIVE_312 = pkg("native", "1.0", "native-1.0-cp312-cp312-manylinux_2_17_x86_64.whl")
NUMPY_A = pkg("numpy", "2.2.6", "numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.whl")
NUMPY_B = pkg("numpy", "2.3.1", "numpy-2.3.1-cp312-cp312-manylinux_2_17_x86_64.whl")
TOOL = pkg("setuptools", "80.0", "setuptools-80.0-py3-none-any.whl", runtime=False)
SDIST_BUILD = build("cftime", "1.6.1", ("setuptools==80.0",))
CFTIME = replace(
    pkg("cftime", "1.6.1"),
    sdist=LockedFile(
        url="https://files/cftime-1.6.1.tar.gz", sha256="cd" * 32, filename="cftime-1.6.1.tar.gz"
    ),
)


def merged() -> Lock:
    a = part(PY311, SHARED, OLD_ONLY, NATIVE_311, NUMPY_A, TOOL, CFTIME, builds=(SDIST_BUILD,))
    b = part(PY312, SHARED, NATIVE_312, NUMPY_B, TOOL, CFTIME, builds=(SDIST_BUILD,))
    return merge_locks([b, a], first=a)


def test_merge_stores_shared_entries_once_and_lists_partial_users() -> None:
    lock = merged()
    assert [t.id for t in lock.targets] == [
        "cp311-manylinux_2_28_x86_64",
        "cp312-manylinux_2_28_x86_64",
    ]
    by_key = {(p.name, str(p.version)): p for p in lock.packages}
    assert by_key[("shared", "1.0")].targets == ()  # every target
    assert by_key[("tomli", "2.0")].targets == ("cp311-manylinux_2_28_x86_64",)
    assert by_key[("numpy", "2.2.6")].targets == ("cp311-manylinux_2_28_x86_64",)
    assert by_key[("numpy", "2.3.1")].targets == ("cp312-manylinux_2_28_x86_64",)
    # One (name, version) for both targets holds the wheels each of them uses.
    assert {w.filename for w in by_key[("native", "1.0")].wheels} == {
        "native-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "native-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
    }
    # Identical build environments for every target: one entry, for all of them.
    assert len(lock.builds) == 1 and lock.builds[0].target is None
    lock.validate()


def test_builds_that_differ_are_kept_per_target() -> None:
    other = build("cftime", "1.6.1", ("setuptools==80.0",), dynamic_requires=("wheel",))
    a = part(PY311, TOOL, builds=(SDIST_BUILD,))
    b = part(PY312, TOOL, builds=(other,))
    lock = merge_locks([a, b], first=a)
    assert sorted((b.target or "", b.dynamic_requires) for b in lock.builds) == [
        ("cp311-manylinux_2_28_x86_64", ()),
        ("cp312-manylinux_2_28_x86_64", ("wheel",)),
    ]
    view = lock_for_target(lock, "cp312-manylinux_2_28_x86_64")
    assert [(b.target, b.dynamic_requires) for b in view.builds] == [(None, ("wheel",))]
    # Built by one target only: for that target.
    c = part(PY312, TOOL)
    only = merge_locks([a, c], first=a)
    assert [b.target for b in only.builds] == ["cp311-manylinux_2_28_x86_64"]


def test_each_target_sees_a_plain_one_target_lock() -> None:
    lock = merged()
    view = lock_for_target(lock, "cp312-manylinux_2_28_x86_64")
    assert [t.id for t in view.targets] == ["cp312-manylinux_2_28_x86_64"]
    assert {(p.name, str(p.version)) for p in view.runtime_packages()} == {
        ("shared", "1.0"),
        ("native", "1.0"),
        ("numpy", "2.3.1"),
        ("cftime", "1.6.1"),
    }
    assert all(p.targets == () for p in view.packages)
    view.validate()
    with pytest.raises(LockfileError, match="no target 'cp39-win32'"):
        lock_for_target(lock, "cp39-win32")


def test_the_merged_lock_round_trips_through_toml() -> None:
    lock = merged()
    text = dumps(lock)
    assert loads(text).packages == tuple(sorted(lock.packages, key=lambda p: (p.name, p.version)))
    assert dumps(loads(text)) == text
    assert 'targets = ["cp311-manylinux_2_28_x86_64"]' in text


def test_one_part_is_that_lock() -> None:
    a = part(PY311, SHARED)
    assert merge_locks([a], first=a) == a


def test_agreed_pins_keep_the_first_choice() -> None:
    a = part(PY311, NUMPY_A, TOOL, builds=(SDIST_BUILD,))
    b = part(PY312, NUMPY_B)
    runtime, builds = agreed_pins([a, b])
    assert runtime[canonicalize_name("numpy")] == Version("2.2.6")
    assert canonicalize_name("setuptools") not in runtime  # build-only
    assert builds == {"cftime": {"setuptools": Version("80.0")}}


def test_consumers_choose_among_the_lock_targets() -> None:
    lock = merged()
    assert [t.id for t in target_infos(lock)] == [t.id for t in lock.targets]
    assert choose_target(lock, None, "cp312-manylinux_2_28_x86_64").named
    with pytest.raises(NoMatchingTargetError) as caught:
        choose_target(lock, None, "nope")
    assert caught.value.targets == tuple(t.id for t in lock.targets)
    single = replace(lock, targets=lock.targets[:1])
    assert choose_target(single, None, None).chosen.id == "cp311-manylinux_2_28_x86_64"
