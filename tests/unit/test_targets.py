"""--target values, target ids, local interpreters and the consumer's choice of target."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.version import Version

from lock_build.errors import NoMatchingTargetError, TargetError, TargetSpecError
from lock_build.target import Target, platform_tags
from lock_build.targets import (
    TargetInfo,
    TargetSpec,
    find_interpreter,
    id_of,
    interpreter_candidates,
    interpreter_version,
    manylinux_floor,
    normalize_platform,
    parse_target_spec,
    select_target,
    target_for_spec,
    target_id,
    targets_for_specs,
)

PYENV = Path.home() / ".pyenv" / "versions"


@pytest.mark.parametrize(
    ("text", "version", "platform"),
    [
        ("3.12", "3.12", None),
        ("3.12.4", "3.12.4", None),
        ("3.11-manylinux_2_28_x86_64", "3.11", "manylinux_2_28_x86_64"),
        ("3.11-manylinux2014_aarch64", "3.11", "manylinux_2_17_aarch64"),
        ("3.12-macosx_14_0_arm64", "3.12", "macosx_14_0_arm64"),
        ("3.13-win_amd64", "3.13", "win_amd64"),
        ("3.10-musllinux_1_2_x86_64", "3.10", "musllinux_1_2_x86_64"),
        (" 3.9-linux_x86_64 ", "3.9", "linux_x86_64"),
    ],
)
def test_version_specs_parse_into_a_version_and_a_platform(
    text: str, version: str, platform: str | None
) -> None:
    spec = parse_target_spec(text)
    assert spec.python_version == Version(version)
    assert spec.platform == platform
    assert spec.interpreter is None
    assert spec.minor == (Version(version).major, Version(version).minor)


def test_an_interpreter_path_is_a_spec() -> None:
    spec = parse_target_spec(sys.executable)
    assert spec == TargetSpec(text=sys.executable, interpreter=Path(sys.executable))
    assert spec.minor is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "is empty"),
        ("three", "neither a Python version nor the path"),
        ("2.7", "Python 2"),
        ("3.12-", "no platform tag"),
        ("3.12-amiga_68k", "not a wheel platform tag"),
        ("3.12-manylinux_x86_64", "not a wheel platform tag"),
        ("/nonexistent/bin/python3", "does not exist"),
    ],
)
def test_bad_specs_are_one_clear_error(text: str, needle: str) -> None:
    with pytest.raises(TargetSpecError, match=needle) as caught:
        parse_target_spec(text)
    assert caught.value.spec == text and caught.value.exit_code == 2
    assert "3.11-manylinux_2_28_x86_64" in caught.value.render()  # the hint shows the forms


@pytest.mark.parametrize(
    ("implementation", "version", "platform", "expected"),
    [
        ("cpython", "3.11", "manylinux_2_28_x86_64", "cp311-manylinux_2_28_x86_64"),
        ("cpython", "3.12.1", "macosx_14_0_arm64", "cp312-macosx_14_0_arm64"),
        ("cpython", "3.13", "win_amd64", "cp313-win_amd64"),
        ("cpython", "3.10", "manylinux2014_x86_64", "cp310-manylinux_2_17_x86_64"),
        ("pypy", "3.10", "manylinux_2_17_x86_64", "pp310-manylinux_2_17_x86_64"),
    ],
)
def test_target_ids(implementation: str, version: str, platform: str, expected: str) -> None:
    assert target_id(implementation, version, platform) == expected


@pytest.mark.parametrize(
    ("platform", "floor"),
    [
        ("manylinux_2_28_x86_64", (2, 28)),
        ("manylinux2014_x86_64", (2, 17)),
        ("manylinux1_x86_64", (2, 5)),
        ("musllinux_1_2_x86_64", None),
        ("win_amd64", None),
    ],
)
def test_manylinux_floor(platform: str, floor: tuple[int, int] | None) -> None:
    assert manylinux_floor(platform) == floor
    assert normalize_platform(platform).startswith(platform.split("_")[0][:5])


# -- local interpreters --------------------------------------------------------------


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return path


def test_candidates_come_from_path_then_pyenv_then_uv_newest_patch_first(tmp_path: Path) -> None:
    on_path = _touch(tmp_path / "bin" / "python3.11")
    pyenv = tmp_path / "pyenv"
    old = _touch(pyenv / "versions" / "3.11.2" / "bin" / "python3.11")
    new = _touch(pyenv / "versions" / "3.11.10" / "bin" / "python3.11")
    _touch(pyenv / "versions" / "3.12.1" / "bin" / "python3.12")  # another version
    uv_dir = tmp_path / "home" / ".local" / "share" / "uv" / "python"
    managed = _touch(uv_dir / "cpython-3.11.9-linux-x86_64-gnu" / "bin" / "python3.11")
    _touch(uv_dir / "cpython-3.11.9+freethreaded-linux-x86_64-gnu" / "bin" / "python3.11")
    found = interpreter_candidates(
        (3, 11),
        environ={"PATH": str(tmp_path / "bin"), "PYENV_ROOT": str(pyenv)},
        home=tmp_path / "home",
    )
    assert found == (on_path, new, old, managed)


def test_uv_install_dir_and_pyenv_default_root(tmp_path: Path) -> None:
    default_pyenv = _touch(tmp_path / ".pyenv" / "versions" / "3.9.18" / "bin" / "python3.9")
    custom = _touch(tmp_path / "uvpy" / "cpython-3.9.20-linux-x86_64-gnu" / "bin" / "python3.9")
    found = interpreter_candidates(
        (3, 9), environ={"PATH": "", "UV_PYTHON_INSTALL_DIR": str(tmp_path / "uvpy")}, home=tmp_path
    )
    assert found == (default_pyenv, custom)


def test_find_interpreter_skips_candidates_that_do_not_run(tmp_path: Path) -> None:
    shim = _touch(tmp_path / "shims" / "python3.10")  # a pyenv shim for an unselected version
    real = _touch(tmp_path / "pyenv" / "versions" / "3.10.13" / "bin" / "python3.10")
    answers = {shim: None, real: (3, 10)}
    found = find_interpreter(
        (3, 10),
        environ={"PATH": str(tmp_path / "shims"), "PYENV_ROOT": str(tmp_path / "pyenv")},
        home=tmp_path,
        ask=answers.get,
    )
    assert found == real
    assert find_interpreter((3, 99), environ={"PATH": ""}, home=tmp_path, ask=answers.get) is None


# The versions the probe's copy of packaging runs on.
LOCAL_VERSIONS = sorted(
    v
    for v in {(int(p.name.split(".")[0]), int(p.name.split(".")[1])) for p in PYENV.glob("3.*.*")}
    if v >= (3, 8)
)


@pytest.mark.skipif(not LOCAL_VERSIONS, reason="no pyenv Pythons on this machine")
@pytest.mark.parametrize("version", LOCAL_VERSIONS)
def test_find_interpreter_finds_the_pyenv_pythons_of_this_machine(
    version: tuple[int, int],
) -> None:
    found = find_interpreter(version)
    assert found is not None and interpreter_version(found) == version


# -- from a spec to a Target --------------------------------------------------------


def _machine(version: tuple[int, int], platform: str, interpreter: Path | None = None) -> Target:
    """A Target as a probe of an interpreter on ``platform`` would describe it."""
    plats = platform_tags(platform)
    tags = tuple(cpython_tags(version, platforms=plats)) + tuple(
        compatible_tags(version, f"cp{version[0]}{version[1]}", plats)
    )
    short = f"{version[0]}.{version[1]}"
    markers = {
        "python_version": short,
        "python_full_version": f"{short}.4",
        "implementation_name": "cpython",
        "sys_platform": "linux",
        "platform_machine": "x86_64",
    }
    return Target(
        python_version=short,
        python_full_version=f"{short}.4",
        implementation="cpython",
        platform=platform,
        markers=tuple(sorted(markers.items())),
        tags=tags,
        interpreter=interpreter,
    )


HERE = _machine((3, 12), "manylinux_2_36_x86_64", Path("/here/python3.12"))


def test_a_version_of_the_local_interpreter_is_the_local_target() -> None:
    target = target_for_spec(parse_target_spec("3.12"), local=HERE, find=lambda v: None)
    assert target is HERE
    assert id_of(target) == "cp312-manylinux_2_36_x86_64"


def test_a_version_without_a_local_interpreter_cannot_build() -> None:
    target = target_for_spec(parse_target_spec("3.11"), local=HERE, find=lambda v: None)
    assert target.python_version == "3.11" and target.platform == HERE.platform
    assert target.interpreter is None
    assert target.tag_priority(Tag("cp311", "cp311", "manylinux_2_17_x86_64")) is not None


def test_a_linux_floor_excludes_wheels_for_a_newer_glibc() -> None:
    target = target_for_spec(
        parse_target_spec("3.12-manylinux_2_28_x86_64"), local=HERE, find=lambda v: None
    )
    assert id_of(target) == "cp312-manylinux_2_28_x86_64"
    assert target.tag_priority(Tag("cp312", "cp312", "manylinux_2_28_x86_64")) is not None
    assert target.tag_priority(Tag("cp312", "cp312", "manylinux_2_17_x86_64")) is not None
    assert target.tag_priority(Tag("cp312", "cp312", "manylinux_2_29_x86_64")) is None
    assert target.tag_priority(Tag("cp312", "cp312", "manylinux_2_34_x86_64")) is None
    # This machine (glibc 2.36) satisfies the floor: hooks run in its interpreter.
    assert target.interpreter == HERE.interpreter


@pytest.mark.parametrize(
    ("spec", "accepted", "refused"),
    [
        ("3.12-macosx_14_0_arm64", "macosx_11_0_arm64", "macosx_14_0_x86_64"),
        ("3.12-macosx_14_0_arm64", "macosx_14_0_universal2", "macosx_15_0_arm64"),
        ("3.13-win_amd64", "win_amd64", "win32"),
        ("3.12-musllinux_1_2_aarch64", "musllinux_1_1_aarch64", "manylinux_2_17_aarch64"),
    ],
)
def test_a_foreign_platform_has_its_own_tags_and_no_interpreter(
    spec: str, accepted: str, refused: str
) -> None:
    target = target_for_spec(parse_target_spec(spec), local=HERE, find=lambda v: None)
    version = spec.split("-")[0].replace(".", "")
    assert target.tag_priority(Tag(f"cp{version}", f"cp{version}", accepted)) is not None
    assert target.tag_priority(Tag(f"cp{version}", f"cp{version}", refused)) is None
    assert target.interpreter is None
    assert id_of(target) == f"cp{version}-{spec.split('-')[1]}"


def test_foreign_markers_follow_the_platform() -> None:
    target = target_for_spec(parse_target_spec("3.13-win_amd64"), local=HERE, find=lambda v: None)
    env = target.marker_environment
    assert (env["sys_platform"], env["platform_system"], env["os_name"]) == (
        "win32",
        "Windows",
        "nt",
    )
    assert env["python_version"] == "3.13"


def test_an_interpreter_spec_is_probed() -> None:
    target = target_for_spec(parse_target_spec(sys.executable), local=HERE)
    assert target.interpreter == Path(sys.executable)
    assert target.python_version == f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_the_same_target_twice_is_refused() -> None:
    specs = [parse_target_spec("3.12"), parse_target_spec("3.11"), parse_target_spec("3.12")]
    with pytest.raises(TargetError, match="'3.12' and --target '3.12' are the same target"):
        targets_for_specs(specs, local=HERE, find=lambda v: None)
    two = targets_for_specs(specs[:2], local=HERE, find=lambda v: None)
    assert [id_of(t) for t in two] == [
        "cp312-manylinux_2_36_x86_64",
        "cp311-manylinux_2_36_x86_64",
    ]


# -- consumers ------------------------------------------------------------------------


def _info(text: str) -> TargetInfo:
    version, _, platform = text.partition("-")
    return TargetInfo.of("cpython", version, platform)


LOCK_TARGETS = tuple(
    _info(t)
    for t in (
        "3.11-manylinux_2_17_x86_64",
        "3.12-manylinux_2_17_x86_64",
        "3.12-manylinux_2_28_x86_64",
        "3.12-macosx_14_0_arm64",
        "3.12-manylinux_2_40_x86_64",
    )
)


@pytest.mark.parametrize(
    ("machine", "chosen", "also"),
    [
        # floors 2.17 and 2.28 on glibc 2.36: the most specific satisfied floor wins
        (
            _machine((3, 12), "manylinux_2_36_x86_64"),
            "cp312-manylinux_2_28_x86_64",
            ("cp312-manylinux_2_17_x86_64",),
        ),
        (_machine((3, 12), "manylinux_2_17_x86_64"), "cp312-manylinux_2_17_x86_64", ()),
        (_machine((3, 11), "manylinux_2_36_x86_64"), "cp311-manylinux_2_17_x86_64", ()),
        (
            _machine((3, 12), "manylinux_2_40_x86_64"),
            "cp312-manylinux_2_40_x86_64",
            ("cp312-manylinux_2_28_x86_64", "cp312-manylinux_2_17_x86_64"),
        ),
    ],
)
def test_the_most_specific_fitting_target_wins(
    machine: Target, chosen: str, also: tuple[str, ...]
) -> None:
    selection = select_target(LOCK_TARGETS, machine)
    assert selection.chosen.id == chosen
    assert tuple(t.id for t in selection.also_fitting) == also
    note = selection.note()
    assert (note is None) == (not also)
    if note:
        assert chosen in note and all(a in note for a in also)


@pytest.mark.parametrize(
    "machine",
    [
        _machine((3, 13), "manylinux_2_36_x86_64"),  # no target for this version
        _machine((3, 12), "manylinux_2_12_x86_64"),  # glibc older than every floor
        _machine((3, 12), "manylinux_2_36_aarch64"),  # another architecture
    ],
)
def test_no_fitting_target_lists_the_targets(machine: Target) -> None:
    with pytest.raises(NoMatchingTargetError) as caught:
        select_target(LOCK_TARGETS, machine)
    error = caught.value
    assert error.targets == tuple(t.id for t in LOCK_TARGETS)
    assert error.exit_code == 2
    assert all(t.id in error.render() for t in LOCK_TARGETS)
    assert "--target ID" in error.render()


def test_target_id_names_one() -> None:
    selection = select_target(LOCK_TARGETS, None, "cp312-macosx_14_0_arm64")
    assert selection.chosen.id == "cp312-macosx_14_0_arm64" and selection.named
    with pytest.raises(NoMatchingTargetError, match="no target 'cp39-win32'") as caught:
        select_target(LOCK_TARGETS, HERE, "cp39-win32")
    assert caught.value.wanted == "cp39-win32"


def test_a_single_target_lock_gives_its_target_and_several_need_a_machine_or_an_id() -> None:
    only = (_info("3.11-manylinux_2_17_x86_64"),)
    assert select_target(only, HERE).chosen == only[0]
    with pytest.raises(TargetError, match="several targets"):
        select_target(LOCK_TARGETS, None)


def test_target_info_reads_a_lock_target_table() -> None:
    record = {
        "implementation": "cpython",
        "python-version": "3.11",
        "platform": "manylinux2014_x86_64",
    }
    assert TargetInfo.from_record(record).id == "cp311-manylinux_2_17_x86_64"
    assert TargetInfo.from_record({**record, "id": "custom"}).id == "custom"
