"""The target: markers and tags of the local interpreter, or derived for another one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.markers import Marker, default_environment
from packaging.tags import Tag, sys_tags

from lock_build.errors import TargetError
from lock_build.target import (
    InterpreterFacts,
    describe_interpreter,
    described_meanwhile,
    platform_tags,
    resolve_target,
    select_interpreter,
)
from support.spies import probe_spy


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


def _facts(**changes: object) -> dict[str, object]:
    """A probe answer, as a CPython 3.12 on glibc 2.28 x86_64 would give it."""
    facts: dict[str, object] = {
        "version_info": [3, 12, 4, "final", 0],
        "implementation": "cpython",
        "implementation_version": [3, 12, 4, "final", 0],
        "python_version": "3.12.4",
        "python_implementation": "CPython",
        "os_name": "posix",
        "sys_platform": "linux",
        "machine": "x86_64",
        "system": "Linux",
        "release": "6.1",
        "platform_version": "#1",
        "sysconfig_platform": "linux-x86_64",
        "ext_suffix": ".cpython-312-x86_64-linux-gnu.so",
        "extension_suffixes": [".cpython-312-x86_64-linux-gnu.so", ".abi3.so", ".so"],
        "py_version_nodot": "312",
        "py_debug": 0,
        "gil_disabled": 0,
        "with_pymalloc": 1,
        "has_refcount": False,
        "pointer_bytes": 8,
        "glibc": "2.28",
        "musl": None,
        "macos": None,
        "executable": "/x/bin/python",
        "prefix": "/x",
        "base_prefix": "/usr",
        "purelib": "/x/lib/python3.12/site-packages",
    }
    facts.update(changes)
    return facts


@pytest.mark.parametrize(
    ("changes", "first", "present", "absent"),
    [
        pytest.param(
            {},
            "cp312-cp312-linux_x86_64",
            ("cp312-cp312-manylinux_2_28_x86_64", "cp312-abi3-manylinux2014_x86_64"),
            ("cp312-cp312-musllinux_1_2_x86_64", "cp312-cp312-manylinux_2_29_x86_64"),
            id="glibc",
        ),
        pytest.param(
            {"glibc": None, "musl": "1.2.4"},
            "cp312-cp312-linux_x86_64",
            ("cp312-cp312-musllinux_1_2_x86_64", "py3-none-musllinux_1_0_x86_64"),
            ("cp312-cp312-manylinux_2_17_x86_64",),
            id="musl",
        ),
        pytest.param(
            {
                "sys_platform": "darwin",
                "system": "Darwin",
                "machine": "arm64",
                "sysconfig_platform": "macosx-11.0-arm64",
                "ext_suffix": ".cpython-312-darwin.so",
                "glibc": None,
                "macos": {"version": "14.5", "arch": "arm64"},
            },
            "cp312-cp312-macosx_14_0_arm64",
            ("cp312-cp312-macosx_11_0_universal2", "py3-none-macosx_12_0_arm64"),
            ("cp312-cp312-macosx_10_9_x86_64",),
            id="macos",
        ),
        pytest.param(
            {
                "os_name": "nt",
                "sys_platform": "win32",
                "system": "Windows",
                "machine": "AMD64",
                "sysconfig_platform": "win-amd64",
                "ext_suffix": ".cp312-win_amd64.pyd",
                "glibc": None,
            },
            "cp312-cp312-win_amd64",
            ("cp312-abi3-win_amd64", "py3-none-any"),
            ("cp312-cp312-win32",),
            id="windows",
        ),
        pytest.param(
            {
                "version_info": [3, 13, 0, "final", 0],
                "python_version": "3.13.0",
                "py_version_nodot": "313",
                "gil_disabled": 1,
            },
            "cp313-cp313t-linux_x86_64",
            ("cp313-cp313t-manylinux_2_17_x86_64", "py313-none-any"),
            ("cp313-cp313-linux_x86_64", "cp313-abi3-linux_x86_64"),
            id="free-threaded",
        ),
        pytest.param(
            {"pointer_bytes": 4},
            "cp312-cp312-linux_i686",
            ("cp312-cp312-manylinux1_i686",),
            ("cp312-cp312-linux_x86_64",),
            id="32-bit-on-64-bit-kernel",
        ),
    ],
)
def test_probe_facts_become_the_tags_an_installer_there_computes(
    changes: dict[str, object], first: str, present: tuple[str, ...], absent: tuple[str, ...]
) -> None:
    tags = [str(t) for t in InterpreterFacts.parse(Path("python"), _facts(**changes)).tags()]
    assert tags[0] == first
    assert set(present) <= set(tags)
    assert not set(absent) & set(tags)


def test_probe_facts_become_the_marker_environment() -> None:
    facts = InterpreterFacts.parse(
        Path("python"), _facts(version_info=[3, 13, 0, "candidate", 2], python_version="3.13.0rc2")
    )
    assert facts.markers["python_version"] == "3.13"
    assert facts.markers["python_full_version"] == "3.13.0rc2"
    assert facts.markers["implementation_version"] == "3.12.4"


def test_the_running_interpreter_gives_packagings_own_markers() -> None:
    target = resolve_target(sys.executable)
    assert target.marker_environment == default_environment()


def test_an_interpreter_that_does_not_run_is_named_as_such(tmp_path: Path) -> None:
    failing = tmp_path / "python"
    failing.write_text(
        "#!/bin/sh\necho 'libpython3.9.so: cannot open shared object' >&2\nexit 127\n"
    )
    failing.chmod(0o755)
    with pytest.raises(TargetError) as info:
        resolve_target(str(failing))
    assert "does not run: it exited with status 127" in str(info.value)
    assert "libpython3.9.so: cannot open shared object" in str(info.value)

    not_a_program = tmp_path / "python3"
    not_a_program.write_bytes(b"\x00\x01garbage")
    not_a_program.chmod(0o755)
    with pytest.raises(TargetError) as info:
        resolve_target(str(not_a_program))
    assert "cannot be run" in str(info.value)


def test_an_answer_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(TargetError) as info:
        InterpreterFacts.parse(Path("python"), _facts(sys_platform=7))
    assert "unusable answer" in str(info.value) and "sys_platform" in str(info.value)


def test_a_python_older_than_the_floor_is_refused_by_version() -> None:
    with pytest.raises(TargetError) as info:
        InterpreterFacts.parse(Path("py"), {"version_info": [2, 7, 18, "final", 0]})
    assert "is Python 2.7.18; lock-build locks for Python 3.9 or newer" in str(info.value)


def test_a_python_without_isolated_mode_is_still_asked_for_its_version(tmp_path: Path) -> None:
    # Python 2 answers -I with a usage error; the second question (-E -s) gets its version.
    old = tmp_path / "python2"
    old.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-I" ]; then echo "Unknown option: -I" >&2; exit 2; fi\n'
        'echo \'{"version_info": [2, 7, 18, "final", 0]}\'\n'
    )
    old.chmod(0o755)
    with pytest.raises(TargetError) as info:
        resolve_target(str(old))
    assert "is Python 2.7.18; lock-build locks for Python 3.9 or newer" in str(info.value)


def test_each_marker_is_evaluated_once_per_set_of_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    target = resolve_target(sys.executable, python_version="3.12", platform="manylinux_2_28_x86_64")
    marker = Marker('python_version >= "3.12" and extra == "socks"')
    calls: list[frozenset[str]] = []
    evaluate = Marker.evaluate

    def counted(self: Marker, environment: dict[str, str] | None = None) -> bool:
        calls.append(frozenset({environment["extra"]}) if environment else frozenset())
        return evaluate(self, environment)

    monkeypatch.setattr(Marker, "evaluate", counted)
    for _ in range(3):
        assert not target.evaluate(marker)
        assert target.evaluate(marker, frozenset({"socks"}))
        # The same text in another object is the same question.
        assert target.evaluate(Marker(str(marker)), frozenset({"socks"}))
    assert calls == [frozenset({""}), frozenset({"socks"})]


# -- an interpreter described while the caller does other work -------------------------


def test_an_interpreter_described_meanwhile_is_probed_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probes = probe_spy(monkeypatch)
    python = Path(sys.executable)
    with described_meanwhile(python, None):
        described = describe_interpreter(python)  # waits for the thread's answer
    assert probes == [python]
    assert described.path == python
    assert described.target.tags == tuple(sys_tags())
    describe_interpreter(python)  # outside the block: a probe of its own
    assert probes == [python, python]


def test_a_probe_made_meanwhile_fails_where_the_answer_is_taken(tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    with described_meanwhile(broken, None):
        with pytest.raises(TargetError) as meanwhile:
            describe_interpreter(broken)
    with pytest.raises(TargetError) as directly:
        describe_interpreter(broken)
    assert meanwhile.value.message == directly.value.message


def test_an_answer_nobody_took_is_dropped() -> None:
    from lock_build import target

    python = Path(sys.executable)
    with target.described_meanwhile(python, None):
        pass
    assert python not in target._PENDING
