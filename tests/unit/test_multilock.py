"""Merging one-target locks into one, and each target's view of a merged lock."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build.errors import LockfileError, NoMatchingTargetError
from lock_build.lockfile import Lock, LockedFile, LockedPackage, LockValidationError, dumps, loads
from lock_build.multilock import (
    DropTargetError,
    agreed_pins,
    choose_target,
    lock_for_target,
    merge_locks,
    target_infos,
    without_targets,
)
from lock_build.plan import make_plan
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
    assert len(lock.builds) == 1 and lock.builds[0].targets == ()
    lock.validate()


def test_builds_that_differ_are_kept_per_target() -> None:
    other = build("cftime", "1.6.1", ("setuptools==80.0",), dynamic_requires=("wheel",))
    a = part(PY311, TOOL, builds=(SDIST_BUILD,))
    b = part(PY312, TOOL, builds=(other,))
    lock = merge_locks([a, b], first=a)
    assert sorted((b.targets, b.dynamic_requires) for b in lock.builds) == [
        (("cp311-manylinux_2_28_x86_64",), ()),
        (("cp312-manylinux_2_28_x86_64",), ("wheel",)),
    ]
    view = lock_for_target(lock, "cp312-manylinux_2_28_x86_64")
    assert [(b.targets, b.dynamic_requires) for b in view.builds] == [((), ("wheel",))]
    # Built by one target only: for that target.
    c = part(PY312, TOOL)
    only = merge_locks([a, c], first=a)
    assert [b.targets for b in only.builds] == [("cp311-manylinux_2_28_x86_64",)]


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


ID311, ID312, ID313 = (
    "cp311-manylinux_2_28_x86_64",
    "cp312-manylinux_2_28_x86_64",
    "cp313-manylinux_2_28_x86_64",
)
PY313 = {**PY311, "python-version": "3.13", "python-full-version": "3.13.0"}
PY313["markers"] = {"python_version": "3.13", "sys_platform": "linux"}
# tomli is a runtime pin on 3.11 only (`tomli ; python_version < "3.12"`) and a build pin
# of cftime on every target.
TOMLI = pkg("tomli", "2.0", "tomli-2.0-py3-none-any.whl")
TOMLI_BUILD_ONLY = replace(TOMLI, runtime=False)
CFTIME_BUILD = build("cftime", "1.6.1", ("setuptools==80.0", "tomli==2.0"))


def runtime_on_one() -> Lock:
    a = part(PY311, CFTIME, TOMLI, TOOL, builds=(CFTIME_BUILD,))
    b = part(PY312, CFTIME, TOMLI_BUILD_ONLY, TOOL, builds=(CFTIME_BUILD,))
    return merge_locks([a, b], first=a)


def _runtime_names(lock: Lock) -> set[str]:
    return {p.name for p in lock.runtime_packages()}


def test_a_version_runtime_on_one_target_only_says_which() -> None:
    lock = runtime_on_one()
    lock.validate()
    tomli = lock.package("tomli", "2.0")
    assert tomli is not None
    assert tomli.targets == ()  # both use it: one in its runtime, both in cftime's build
    assert tomli.runtime == (ID311,)
    assert (tomli.runtime_on(ID311), tomli.runtime_on(ID312)) == (True, False)
    text = dumps(lock)
    assert f'name = "tomli"\nversion = "2.0"\nruntime = ["{ID311}"]\n' in text
    assert loads(text) == replace(lock, packages=tuple(sorted(lock.packages, key=_by_key)))
    assert dumps(loads(text)) == text
    # Each target's view marks runtime only its own runtime pins; the build still has it.
    assert _runtime_names(lock_for_target(lock, ID311)) == {"cftime", "tomli"}
    view = lock_for_target(lock, ID312)
    assert _runtime_names(view) == {"cftime"}
    assert [p.key for p in view.build_packages(view.builds[0])] == [
        "setuptools==80.0",
        "tomli==2.0",
    ]
    view.validate()


def test_plans_install_only_the_targets_runtime_pins() -> None:
    lock = runtime_on_one()
    installs = {
        ident: {step.name for step in make_plan(lock_for_target(lock, ident)).install}
        for ident in (ID311, ID312)
    }
    assert installs == {ID311: {"cftime", "tomli"}, ID312: {"cftime"}}


def test_one_version_runtime_on_one_target_and_another_on_the_next() -> None:
    # 3.11 runs foo 1.0; 3.12 runs foo 2.0 and builds cftime with foo 1.0.
    foo1, foo2 = (
        pkg("foo", "1.0", "foo-1.0-py3-none-any.whl"),
        pkg("foo", "2.0", "foo-2.0-py3-none-any.whl"),
    )
    uses_foo = build("cftime", "1.6.1", ("foo==1.0",))
    a = part(PY311, CFTIME, foo1, builds=(uses_foo,))
    b = part(PY312, CFTIME, foo2, replace(foo1, runtime=False), builds=(uses_foo,))
    lock = merge_locks([a, b], first=a)
    lock.validate()  # one runtime foo per target
    by_key = {p.key: p for p in lock.packages}
    assert (by_key["foo==1.0"].runtime, by_key["foo==1.0"].targets) == ((ID311,), ())
    assert (by_key["foo==2.0"].runtime, by_key["foo==2.0"].targets) == (True, (ID312,))
    for ident, version in ((ID311, "1.0"), (ID312, "2.0")):
        view = lock_for_target(lock, ident)
        assert [p.key for p in view.runtime_packages() if p.name == "foo"] == [f"foo=={version}"]


def test_a_build_environment_some_targets_share_is_stored_once_for_them() -> None:
    other = build("cftime", "1.6.1", ("setuptools==80.0",), dynamic_requires=("wheel",))
    parts = [
        part(PY311, CFTIME, TOOL, builds=(SDIST_BUILD,)),
        part(PY312, CFTIME, TOOL, builds=(SDIST_BUILD,)),
        part(PY313, CFTIME, TOOL, builds=(other,)),
    ]
    lock = merge_locks(parts, first=parts[0])
    lock.validate()
    assert sorted((b.targets, b.dynamic_requires) for b in lock.builds) == [
        ((ID311, ID312), ()),
        ((ID313,), ("wheel",)),
    ]
    assert f'targets = ["{ID311}", "{ID312}"]' in dumps(lock)
    assert loads(dumps(lock)).builds == lock.builds  # one canonical order
    for ident, dynamic in ((ID311, ()), (ID312, ()), (ID313, ("wheel",))):
        (only,) = lock_for_target(lock, ident).builds
        assert (only.targets, only.dynamic_requires) == ((), dynamic)


def test_dropping_a_target_leaves_the_others_as_they_were() -> None:
    a = part(PY311, SHARED, OLD_ONLY, TOOL, CFTIME, builds=(SDIST_BUILD,))
    b = part(PY312, SHARED, NUMPY_B, TOOL, CFTIME, builds=(SDIST_BUILD,))
    both = merge_locks([a, b], first=a)
    # What only 3.12 used goes; what is left reads as the one-target lock it is again.
    assert dumps(without_targets(both, [ID312])) == dumps(a)
    lock = runtime_on_one()
    kept = without_targets(lock, [ID311])
    assert [t.id for t in kept.targets] == [ID312]
    tomli = kept.package("tomli", "2.0")
    assert tomli is not None and tomli.runtime is False and tomli.targets == ()
    kept.validate()


@pytest.mark.parametrize(
    ("dropped", "message"),
    [
        pytest.param(
            ["cp39-win32"], "no target cp39-win32 to drop; its targets are: ", id="unknown"
        ),
        pytest.param([ID311, ID312], "would leave the lock without a target", id="every-target"),
    ],
)
def test_dropping_what_cannot_be_dropped_is_refused(dropped: list[str], message: str) -> None:
    with pytest.raises(DropTargetError) as caught:
        without_targets(runtime_on_one(), dropped)
    assert message in caught.value.render()
    assert caught.value.targets == (ID311, ID312)


def _two_builds_for_one_target(lock: Lock) -> Lock:
    (shared,) = lock.builds
    return replace(lock, builds=(shared, replace(shared, targets=(ID311,), requires=("x",))))


def _runtime_everywhere(lock: Lock) -> Lock:
    return replace(
        lock,
        packages=tuple(
            replace(p, targets=()) if p.key == "numpy==2.3.1" else p for p in lock.packages
        ),
    )


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        pytest.param(
            _two_builds_for_one_target,
            f"a second build environment of cftime==1.6.1 for {ID311} (see build[0])",
            id="two-builds-for-a-target",
        ),
        pytest.param(
            _runtime_everywhere,
            f"version: a second runtime version of numpy on {ID311}",
            id="two-runtime-versions-on-a-target",
        ),
    ],
)
def test_a_multi_target_lock_that_contradicts_itself_is_refused(
    broken: Callable[[Lock], Lock], message: str
) -> None:
    with pytest.raises(LockValidationError, match=re.escape(message)):
        broken(merged()).validate()


def test_a_runtime_target_the_entry_does_not_use_is_located() -> None:
    text = dumps(merged()).replace(
        'name = "tomli"\nversion = "2.0"\nruntime = true\n',
        f'name = "tomli"\nversion = "2.0"\nruntime = ["{ID312}"]\n',
    )
    assert f'runtime = ["{ID312}"]' in text
    with pytest.raises(LockfileError) as caught:
        loads(text, source="multi.lock")
    line = text[: text.index(f'runtime = ["{ID312}"]')].count("\n") + 1
    assert (
        f"multi.lock:{line}: package \"tomli\" 2.0, runtime[0]: '{ID312}' is not one of the "
        f"entry's targets ({ID311})"
    ) in caught.value.render()


def _by_key(p: LockedPackage) -> tuple[str, Version]:
    return p.name, p.version
