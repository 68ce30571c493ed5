"""The target: markers and tags of the local interpreter, or derived for another one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.tags import Tag, sys_tags

from lock_build.errors import TargetError
from lock_build.target import platform_tags, resolve_target, select_interpreter


def test_local_target_matches_packaging_for_the_running_interpreter() -> None:
    target = resolve_target(sys.executable)
    assert target.tags == tuple(sys_tags())
    assert target.python_full_version == ".".join(map(str, sys.version_info[:3]))
    assert target.interpreter == Path(sys.executable)
    # The lock records a manylinux level where the platform has one, not linux_*.
    if sys.platform == "linux" and any("manylinux" in t.platform for t in target.tags):
        assert target.platform.startswith("manylinux_")
    # Kernel strings differ between identical machines: never written into a lock.
    assert not {"platform_release", "platform_version"} & set(target.to_dict()["markers"])


@pytest.mark.parametrize(
    ("platform", "first", "contains", "last"),
    [
        ("manylinux_2_28_x86_64", "manylinux_2_28_x86_64", "manylinux2014_x86_64", "linux_x86_64"),
        (
            "manylinux2014_aarch64",
            "manylinux_2_17_aarch64",
            "manylinux2014_aarch64",
            "linux_aarch64",
        ),
        ("musllinux_1_2_x86_64", "musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "linux_x86_64"),
        ("win_amd64", "win_amd64", "win_amd64", "win_amd64"),
    ],
)
def test_platform_tags_expand_to_what_installers_accept(
    platform: str, first: str, contains: str, last: str
) -> None:
    tags = platform_tags(platform)
    assert tags[0] == first and contains in tags and tags[-1] == last


def test_synthetic_target_derives_markers_and_tags() -> None:
    target = resolve_target(
        sys.executable, python_version="3.12", platform="manylinux_2_28_aarch64"
    )
    env = target.marker_environment
    assert env["python_version"] == "3.12" and env["python_full_version"] == "3.12.0"
    assert env["platform_machine"] == "aarch64" and env["sys_platform"] == "linux"
    assert target.tag_priority(Tag("cp312", "cp312", "manylinux_2_17_aarch64")) is not None
    assert target.tag_priority(Tag("cp311", "cp311", "manylinux_2_17_aarch64")) is None
    assert target.evaluate(Marker('python_version >= "3.12"'))
    assert target.interpreter is None  # no local interpreter can build for it


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"python_version": "three"}, "is not a version"),
        ({"platform": "amiga_68k"}, "is not a wheel platform tag"),
        ({"python": "/nonexistent/python"}, "does not exist"),
    ],
)
def test_bad_targets_are_one_clear_error(kwargs: dict[str, str], needle: str) -> None:
    with pytest.raises(TargetError, match=needle):
        resolve_target(kwargs.pop("python", sys.executable), **kwargs)


def test_active_virtualenv_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIRTUAL_ENV", str(Path(sys.executable).parent.parent))
    assert select_interpreter(None).parent == Path(sys.executable).parent
    monkeypatch.delenv("VIRTUAL_ENV")
    assert select_interpreter(None) == Path(sys.executable)
