"""Pinned build environments: real venvs holding exactly the wheels they were given."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from lock_build.building import BuildEnvironment
from lock_build.errors import ArchiveError, BuildError
from support.dists import make_wheel

PYTHON = Path(sys.executable)
MakeEnv = Callable[[Sequence[Path]], BuildEnvironment]


# Installed in this process, or by a process of its own (compile's way): the same venv.
INSTALLS = pytest.mark.parametrize("apart", [False, True], ids=["in-process", "apart"])


@pytest.fixture(params=[False, True], ids=["in-process", "apart"])
def make_env(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[MakeEnv]:
    made: list[BuildEnvironment] = []

    def make(wheels: Sequence[Path]) -> BuildEnvironment:
        env = BuildEnvironment.create(
            PYTHON, wheels, tmp_path / "work", install_apart=request.param
        )
        made.append(env)
        return env

    yield make
    for env in made:
        env.cleanup()


def _run(env: BuildEnvironment, code: str) -> str:
    result = subprocess.run(
        [str(env.python), "-c", code],
        capture_output=True,
        text=True,
        env=env.subprocess_environ(),
        check=True,
    )
    return result.stdout.strip()


def test_contains_exactly_the_given_wheels(tmp_path: Path, make_env: MakeEnv) -> None:
    wheels = [
        make_wheel(tmp_path / "w", "abiprov", "1.0"),
        make_wheel(tmp_path / "w", "Cython_Fake", "3.0.1", requires=["abiprov"]),
    ]
    env = make_env(wheels)
    assert env.installed() == {"abiprov": "1.0", "cython-fake": "3.0.1"}
    assert _run(env, "import abiprov, cython_fake; print(abiprov.__version__)") == "1.0"
    # Nothing else: no pip, no setuptools from the interpreter running the tests.
    assert _run(env, "import importlib.util as u; print(u.find_spec('pip'))") == "None"
    dist = env.distributions()["cython-fake"]
    assert dist.requires == ("abiprov",)
    assert (dist.dist_info / "INSTALLER").read_text() == "lock-build\n"


def test_scripts_run_with_the_venv_interpreter(tmp_path: Path, make_env: MakeEnv) -> None:
    wheel = make_wheel(
        tmp_path / "w",
        "tool",
        "1.0",
        files={
            "tool/cli.py": "import sys\ndef main():\n    print(sys.prefix)\n",
            "tool-1.0.dist-info/entry_points.txt": "[console_scripts]\ntool-cli = tool.cli:main\n",
        },
    )
    env = make_env([wheel])
    script = Path(env.paths["scripts"]) / "tool-cli"
    assert script.read_text().splitlines()[0] == f"#!{env.python}"
    out = subprocess.run([str(script)], capture_output=True, text=True, check=True).stdout
    assert Path(out.strip()) == env.path


def test_real_setuptools_and_wheel_install(tools_wheels: Path, make_env: MakeEnv) -> None:
    # How fast this is (~0.25 s here) is for benchmarks/, not a timed test.
    wheels = [next(tools_wheels.glob("setuptools-*.whl")), next(tools_wheels.glob("wheel-*.whl"))]
    env = make_env(wheels)
    assert set(env.installed()) == {"setuptools", "wheel"}
    assert _run(env, "import setuptools.build_meta; print('ok')") == "ok"


@INSTALLS
def test_duplicate_project_is_refused(tmp_path: Path, apart: bool) -> None:
    wheels = [
        make_wheel(tmp_path / "a", "abiprov", "1.0"),
        make_wheel(tmp_path / "b", "abiprov", "2.0"),
    ]
    with pytest.raises(BuildError, match="Two wheels for abiprov") as raised:
        BuildEnvironment.create(PYTHON, wheels, tmp_path / "work", install_apart=apart)
    assert raised.value.hint is not None and "exactly one version" in raised.value.hint
    assert [p.name for p in (tmp_path / "work").iterdir()] == []  # half-made venv removed


@INSTALLS
def test_corrupt_wheel_is_an_archive_error(tmp_path: Path, apart: bool) -> None:
    bad = tmp_path / "broken-1.0-py3-none-any.whl"
    bad.write_bytes(b"garbage")
    with pytest.raises(ArchiveError, match="broken-1.0-py3-none-any.whl") as raised:
        BuildEnvironment.create(PYTHON, [bad], tmp_path / "work", install_apart=apart)
    assert raised.value.path == bad
    assert list((tmp_path / "work").iterdir()) == []


def test_missing_interpreter(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="interpreter .*nope.* not found"):
        BuildEnvironment.create(tmp_path / "nope", [], tmp_path / "work")


def test_cleanup_and_context_manager(tmp_path: Path) -> None:
    with BuildEnvironment.create(PYTHON, [], tmp_path / "work") as env:
        assert env.python.is_file()
        assert env.installed() == {}
    assert not env.path.exists()


def test_subprocess_environment_is_clean(
    tmp_path: Path, make_env: MakeEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("PIP_INDEX_URL", "http://example.invalid/simple")
    monkeypatch.setenv("PYTHONNOUSERSITE", "0")
    env = make_env([])
    environ = env.subprocess_environ()
    assert "PYTHONPATH" not in environ
    assert not any(key.startswith("PIP_") for key in environ)
    assert environ["PYTHONNOUSERSITE"] == "1"
    assert environ["VIRTUAL_ENV"] == str(env.path)
    assert environ["PATH"].split(":")[0] == env.paths["scripts"]


@pytest.mark.parametrize("dont_write", ["1", None])
def test_hooks_keep_bytecode_inside_the_venv_when_the_user_writes_none(
    tmp_path: Path, make_env: MakeEnv, monkeypatch: pytest.MonkeyPatch, dont_write: str | None
) -> None:
    source = tmp_path / "project"
    source.mkdir()
    (source / "backendish.py").write_text("VALUE = 1\n")
    if dont_write is None:
        monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    else:
        monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", dont_write)
    env = make_env([])
    environ = env.subprocess_environ()
    subprocess.run(
        [str(env.python), "-c", "import backendish"], cwd=source, env=environ, check=True
    )
    if dont_write is None:
        # As the user's Python would: bytecode next to the source, no prefix of ours.
        assert "PYTHONPYCACHEPREFIX" not in environ
        assert list((source / "__pycache__").glob("backendish.*.pyc"))
    else:
        # Every hook process would compile its backend again: bytecode is kept, under the
        # venv only (removed with it), never next to the user's sources.
        assert "PYTHONDONTWRITEBYTECODE" not in environ
        assert environ["PYTHONPYCACHEPREFIX"] == str(env.path / "pycache")
        assert not (source / "__pycache__").exists()
        assert list((env.path / "pycache").rglob("backendish.*.pyc"))
