"""The interpreter cache: one probe's answer reused until the interpreter could answer
otherwise, and never trusted unchecked.

Each test counts the probes that really start the interpreter (a spy around the real
probe) in a real virtual environment, changes one thing the answer depends on, and
checks that the next answer is asked for again and reflects the change."""

from __future__ import annotations

import json
import logging
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from lock_build import target
from lock_build.interpreter_cache import entry_path
from lock_build.target import describe_interpreter
from support.spies import probe_spy
from support.venvs import VirtualEnv


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The interpreters really asked (the real probe runs; the list only records it)."""
    return probe_spy(monkeypatch)


@pytest.fixture
def env(venv_factory: Callable[..., VirtualEnv]) -> VirtualEnv:
    return venv_factory()


def test_an_unchanged_interpreter_is_asked_once(
    env: VirtualEnv, probes: list[Path], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = describe_interpreter(env.python, cache)
    again = describe_interpreter(env.python, cache)
    assert probes == [env.python]
    assert again == first
    assert again.layout.prefix == env.path and str(env.site_packages) in again.layout.sys_path
    assert again.target.tags == first.target.tags and again.target.interpreter == env.python
    # Without a cache directory nothing is kept: every call asks.
    describe_interpreter(env.python)
    assert probes == [env.python, env.python]


def _replace_executable(env: VirtualEnv, tmp_path: Path) -> str:
    real = env.python.resolve()
    env.python.unlink()
    shutil.copy2(real, env.python)  # what `venv --copies` makes: another file, same Python
    return str(env.site_packages)


def _edit_pyvenv_cfg(env: VirtualEnv, tmp_path: Path) -> str:
    with (env.path / "pyvenv.cfg").open("a") as handle:
        handle.write("# edited\n")
    return str(env.site_packages)


def _add_pth(env: VirtualEnv, tmp_path: Path) -> str:
    added = tmp_path / "added"
    added.mkdir()
    (env.site_packages / "added.pth").write_text(f"{added}\n")
    return str(added)


def _create_dir_a_pth_names(env: VirtualEnv, tmp_path: Path) -> str:
    # Written before the first probe (see below); site adds a directory only once it exists.
    later = tmp_path / "later"
    later.mkdir()
    return str(later)


def _install_distribution(env: VirtualEnv) -> None:
    info = env.site_packages / "newcomer-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: newcomer\nVersion: 1.0\n")
    (env.site_packages / "newcomer.py").write_text("")


def _extend_path_in(module: Path, tmp_path: Path, name: str) -> str:
    """``module`` rewritten to put a new directory on sys.path when it is imported."""
    added = tmp_path / name
    added.mkdir()
    module.write_text(f"import sys\nsys.path.append({str(added)!r})\n")
    return str(added)


def _change_a_module_a_pth_imports(env: VirtualEnv, tmp_path: Path) -> str:
    # hooked.pth (written before the first probe) imports it; an upgrade rewrites it.
    return _extend_path_in(env.site_packages / "_hook.py", tmp_path, "hooked")


def _add_sitecustomize(env: VirtualEnv, tmp_path: Path) -> str:
    package = env.site_packages / "sitecustomize"
    package.mkdir()
    return _extend_path_in(package / "__init__.py", tmp_path, "customized")


@pytest.mark.parametrize(
    "change",
    [
        _replace_executable,
        _edit_pyvenv_cfg,
        _add_pth,
        _create_dir_a_pth_names,
        _change_a_module_a_pth_imports,
        _add_sitecustomize,
    ],
    ids=[
        "executable",
        "pyvenv.cfg",
        "new .pth",
        "dir a .pth names",
        "module a .pth imports",
        "sitecustomize",
    ],
)
def test_a_changed_interpreter_is_asked_again(
    env: VirtualEnv,
    probes: list[Path],
    tmp_path: Path,
    change: Callable[[VirtualEnv, Path], str],
) -> None:
    cache = tmp_path / "cache"
    (env.site_packages / "later.pth").write_text(f"{tmp_path / 'later'}\n")
    (env.site_packages / "_hook.py").write_text("")
    (env.site_packages / "hooked.pth").write_text("import _hook\n")
    describe_interpreter(env.python, cache)
    on_path = change(env, tmp_path)
    changed = describe_interpreter(env.python, cache)
    assert probes == [env.python, env.python]
    assert on_path in changed.layout.sys_path  # the new answer, not the kept one
    describe_interpreter(env.python, cache)
    assert len(probes) == 2  # and that answer is kept in turn


def test_installing_an_ordinary_distribution_keeps_the_answer(
    env: VirtualEnv, probes: list[Path], tmp_path: Path
) -> None:
    """What sync installs changes the site directory, not what the interpreter answers:
    the check after installing and the next sync reuse the probe."""
    cache = tmp_path / "cache"
    first = describe_interpreter(env.python, cache)
    _install_distribution(env)
    assert describe_interpreter(env.python, cache) == first
    assert probes == [env.python]


def test_a_new_interpreter_behind_the_same_symlink_is_asked_again(
    env: VirtualEnv, probes: list[Path], tmp_path: Path
) -> None:
    # A venv's bin/python links to its base interpreter; upgrading that one in place
    # leaves the link as it was.
    base = tmp_path / "base" / "python3"
    base.parent.mkdir()
    shutil.copy2(env.python.resolve(), base)
    env.python.unlink()
    env.python.symlink_to(base)
    cache = tmp_path / "cache"
    describe_interpreter(env.python, cache)
    describe_interpreter(env.python, cache)
    assert len(probes) == 1
    base.unlink()
    shutil.copy2(sys.executable, base)  # the new build: another file at the same path
    describe_interpreter(env.python, cache)
    assert len(probes) == 2


def test_an_environment_variable_sysconfig_reads_is_part_of_the_key(
    env: VirtualEnv, probes: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    describe_interpreter(env.python, cache)
    monkeypatch.setenv("_PYTHON_HOST_PLATFORM", "linux-armv7l")
    describe_interpreter(env.python, cache)
    assert len(probes) == 2


def _garbage(entry: dict[str, object], other: Path) -> bytes:
    return b"\x80\x04\x95not json"


def _answer_without_version(entry: dict[str, object], other: Path) -> bytes:
    value = entry["value"]
    assert isinstance(value, dict)
    del value["answer"]["version_info"]
    return json.dumps(entry).encode()


def _answer_with_bad_paths(entry: dict[str, object], other: Path) -> bytes:
    value = entry["value"]
    assert isinstance(value, dict)
    value["answer"]["sys_path"] = "/not/a/list"
    return json.dumps(entry).encode()


def _another_interpreters_entry(entry: dict[str, object], other: Path) -> bytes:
    value = entry["value"]
    assert isinstance(value, dict)
    value["stamp"]["interpreter"] = str(other)
    return json.dumps(entry).encode()


def _stamp_of_the_wrong_shape(entry: dict[str, object], other: Path) -> bytes:
    value = entry["value"]
    assert isinstance(value, dict)
    value["stamp"] = ["not", "an", "object"]
    return json.dumps(entry).encode()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_garbage, "not UTF-8"),
        (_answer_without_version, "version_info"),
        (_answer_with_bad_paths, "sys_path"),
        (_another_interpreters_entry, "another interpreter's"),
        (_stamp_of_the_wrong_shape, "stamp is list"),
    ],
    ids=["garbage", "no version", "bad sys.path", "other interpreter", "bad stamp"],
)
def test_a_damaged_entry_is_dropped_and_the_interpreter_asked(
    env: VirtualEnv,
    probes: list[Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[dict[str, object], Path], bytes],
    reason: str,
) -> None:
    cache = tmp_path / "cache"
    good = describe_interpreter(env.python, cache)
    path = entry_path(cache, env.python)
    path.write_bytes(damage(json.loads(path.read_text()), Path(sys.executable)))
    with caplog.at_level(logging.WARNING, logger="lock_build.cache"):
        again = describe_interpreter(env.python, cache)
    assert again == good and len(probes) == 2
    assert any(
        "dropped a damaged interpreter-1 cache entry" in r.message and reason in r.message
        for r in caplog.records
    ), [r.message for r in caplog.records]
    describe_interpreter(env.python, cache)
    assert len(probes) == 2  # rewritten whole: the next run is a hit


def test_an_older_lock_builds_entry_is_a_plain_miss(
    env: VirtualEnv, probes: list[Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An entry written before the scheme joined the probe (its stamp then had each site
    directory's mtime): asked again, rewritten, and no warning about damage."""
    cache = tmp_path / "cache"
    good = describe_interpreter(env.python, cache)
    path = entry_path(cache, env.python)
    entry = json.loads(path.read_text())
    for key in ("scripts", "data", "include"):
        del entry["value"]["answer"][key]
    for site in entry["value"]["stamp"]["site-dirs"].values():
        site["mtime"] = 1
        del site["code"]
    path.write_text(json.dumps(entry))
    with caplog.at_level(logging.DEBUG, logger="lock_build.cache"):
        again = describe_interpreter(env.python, cache)
    assert again == good and len(probes) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    describe_interpreter(env.python, cache)
    assert len(probes) == 2


def test_compile_reuses_the_probe_of_an_earlier_run(
    env: VirtualEnv, probes: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """compile's target comes through the same cache as sync's: a second run (a fresh
    process, so no in-memory answer) starts no interpreter."""
    cache = tmp_path / "cache"
    first = target.resolve_target(str(env.python), cache_dir=cache)
    monkeypatch.setattr(target, "_PROBES", {})  # as a new process starts
    again = target.resolve_target(str(env.python), cache_dir=cache)
    assert probes == [env.python]
    assert again.tags == first.tags and again.markers == first.markers
