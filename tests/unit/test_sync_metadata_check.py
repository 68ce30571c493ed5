"""sync.metadata_check: a wheel's METADATA against what the lock recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from tests.support.dists import make_wheel

from lock_build.lockfile import Lock, LockedPackage
from lock_build.sync import metadata_check
from lock_build.sync.installers import LocalWheel
from lock_build.sync.metadata_check import wheel_problem

LOCKED = ("click>=7", 'furo; extra == "doc"', "idna<4,>=2.5")


def _lock(requires: tuple[str, ...] = LOCKED) -> Lock:
    package = LockedPackage(
        name=canonicalize_name("alpha"),
        version=Version("1.0"),
        requires_dist=tuple(Requirement(text) for text in requires),
    )
    return Lock(
        inputs_digest="sha256:00",
        input_files=("requirements.in",),
        command="lock-build compile",
        targets=(),
        packages=(package,),
    )


def _wheel(tmp_path: Path, requires: tuple[str, ...], version: str = "1.0") -> LocalWheel:
    path = make_wheel(tmp_path, "alpha", version, requires=requires)
    return LocalWheel(name="alpha", version=version, path=path, sha256="0" * 64)


@pytest.mark.parametrize(
    "requires",
    [
        LOCKED,  # written as the lock writes them: accepted without parsing each one
        ("click (>=7)", "furo; extra == 'doc'", "idna >= 2.5, < 4"),  # spelled otherwise
    ],
)
def test_the_locked_requirements_however_spelled_pass(
    tmp_path: Path, requires: tuple[str, ...]
) -> None:
    assert wheel_problem(_lock(), _wheel(tmp_path, requires), built=False) is None


def test_requirements_spelled_as_locked_are_not_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parse(*args: object) -> None:
        raise AssertionError("parsed a wheel whose metadata reads as the lock does")

    monkeypatch.setattr(metadata_check, "core_metadata_from_headers", parse)
    assert wheel_problem(_lock(), _wheel(tmp_path, LOCKED), built=False) is None


def test_a_requirement_compile_did_not_see_is_named(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, (*LOCKED, "beta"))
    problem = wheel_problem(_lock(), wheel, built=False)
    assert problem is not None and "requires beta that compile did not see" in problem


def test_a_locked_requirement_the_wheel_lacks_is_named(tmp_path: Path) -> None:
    problem = wheel_problem(_lock(), _wheel(tmp_path, LOCKED[:1]), built=False)
    assert problem is not None and "lacks" in problem and "idna" in problem


def test_another_version_is_refused_even_with_the_same_requirements(tmp_path: Path) -> None:
    problem = wheel_problem(_lock(), _wheel(tmp_path, LOCKED, version="1.1"), built=False)
    assert problem is not None and "says version 1.1, the lock 1.0" in problem


def test_a_built_wheel_is_held_to_its_name_and_version_only(tmp_path: Path) -> None:
    assert wheel_problem(_lock(), _wheel(tmp_path, ("beta",)), built=True) is None
