"""PEP 517 hooks in pinned build environments, with the shared in-tree-backend sdists."""

from __future__ import annotations

import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.version import Version

from lock_build.building import (
    BuildEnvironment,
    BuildSystem,
    build_wheel,
    check_requirements,
    get_requires_for_build_wheel,
    prepare_metadata,
    read_build_system,
)
from lock_build.errors import BuildError
from support.dists import make_sdist, make_wheel

PYTHON = Path(sys.executable)


def unpack(archive: Path, dest: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest / archive.name.removesuffix(".tar.gz")


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    directory = tmp_path / "wheels"
    make_wheel(directory, "abiprov", "1.0")
    make_wheel(directory, "abiprov", "2.0")
    return directory


def _env(tmp_path: Path, *wheels: Path) -> BuildEnvironment:
    return BuildEnvironment.create(PYTHON, list(wheels), tmp_path / "work")


@pytest.fixture
def env_v2(tmp_path: Path, wheels: Path) -> Iterator[BuildEnvironment]:
    with _env(tmp_path, wheels / "abiprov-2.0-py3-none-any.whl") as env:
        yield env


def _sdist(tmp_path: Path, name: str = "cftime", **options: object) -> tuple[Path, BuildSystem]:
    source = unpack(make_sdist(tmp_path / "sdists", name, "1.6.1", **options), tmp_path / "src")
    return source, read_build_system(source)


def test_get_requires_returns_the_dynamic_list(tmp_path: Path, env_v2: BuildEnvironment) -> None:
    source, system = _sdist(
        tmp_path,
        build_requires=["abiprov"],
        dynamic_build_requires=["cython>=3.0; python_version >= '3'", "numpy==2.2.6"],
    )
    reqs = get_requires_for_build_wheel(env_v2, source, system, None)
    assert [str(r) for r in reqs] == ['cython>=3.0; python_version >= "3"', "numpy==2.2.6"]


def test_get_requires_empty(tmp_path: Path, env_v2: BuildEnvironment) -> None:
    source, system = _sdist(tmp_path)
    assert get_requires_for_build_wheel(env_v2, source, system, {"k": ["a", "b"]}) == ()


def test_invalid_dynamic_requirement_names_the_sdist(
    tmp_path: Path, env_v2: BuildEnvironment
) -> None:
    source, system = _sdist(tmp_path, dynamic_build_requires=["numpy >>> 2"])
    with pytest.raises(
        BuildError,
        match=r"cftime-1.6.1: get_requires_for_build_wheel returned "
        r"an invalid requirement 'numpy >>> 2'",
    ):
        get_requires_for_build_wheel(env_v2, source, system, None)


def test_raising_hook_is_a_build_error_with_the_log(
    tmp_path: Path, env_v2: BuildEnvironment
) -> None:
    source, system = _sdist(tmp_path, hook_error="cannot find numpy headers")
    with pytest.raises(BuildError) as info:
        get_requires_for_build_wheel(env_v2, source, system, None)
    error = info.value
    assert "cftime-1.6.1: get_requires_for_build_wheel failed in backend 'lbbackend'" in str(error)
    log = Path(str(error).split("log: ")[1].rstrip("."))
    assert (error.package, error.version) == ("cftime", Version("1.6.1"))
    assert (error.hook, error.log) == ("get_requires_for_build_wheel", log)
    env_v2.cleanup()
    assert log.is_file()  # outlives the environment so the user can read it
    assert "RuntimeError: cannot find numpy headers" in log.read_text()
    assert "RuntimeError: cannot find numpy headers" in (error.detail or "")


def test_build_wheel_builds_against_the_pinned_environment(tmp_path: Path, wheels: Path) -> None:
    source, system = _sdist(
        tmp_path, build_requires=["abiprov"], abi_provider="abiprov", requires=["abiprov"]
    )
    for version in ("1.0", "2.0"):
        with _env(tmp_path, wheels / f"abiprov-{version}-py3-none-any.whl") as env:
            wheel = build_wheel(env, source, system, None, tmp_path / f"out-{version}")
        assert wheel.name == "cftime-1.6.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel) as archive:
            built = archive.read("cftime/_built_against.py").decode()
        assert f"BUILT_AGAINST = {version!r}" in built


def test_build_failure_is_a_build_error(tmp_path: Path, env_v2: BuildEnvironment) -> None:
    source, system = _sdist(tmp_path, build_error="gcc: error: no such file")
    with pytest.raises(BuildError, match="cftime-1.6.1: build_wheel failed") as info:
        build_wheel(env_v2, source, system, None, tmp_path / "out")
    assert "gcc: error: no such file" in (info.value.detail or "")
    assert (info.value.package, info.value.version) == ("cftime", Version("1.6.1"))
    assert info.value.hook == "build_wheel" and info.value.log is not None
    assert info.value.log.is_file()


def test_prepare_metadata(tmp_path: Path, env_v2: BuildEnvironment) -> None:
    source, system = _sdist(
        tmp_path,
        build_requires=["abiprov"],
        abi_provider="abiprov",
        requires=["abiprov"],
        requires_from_build=True,
    )
    dist_info = prepare_metadata(env_v2, source, system, None, tmp_path / "meta")
    assert dist_info == tmp_path / "meta" / "cftime-1.6.1.dist-info"
    metadata = (dist_info / "METADATA").read_text()
    assert "Requires-Dist: abiprov>=2.0" in metadata  # computed in the pinned env


# A backend without prepare_metadata_for_build_wheel (nor get_requires_for_build_wheel).
_MINIMAL_BACKEND = """
import base64, hashlib, zipfile, os

def _h(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {
        "mini/__init__.py": b"",
        "mini-0.1.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: mini\\nVersion: 0.1\\n"
                                       + b"Requires-Dist: abiprov\\n\\n",
        "mini-0.1.dist-info/WHEEL": b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\n"
                                    + b"Tag: py3-none-any\\n",
    }
    record = "".join(f"{p},{_h(d)},{len(d)}\\n" for p, d in files.items())
    files["mini-0.1.dist-info/RECORD"] = (record + "mini-0.1.dist-info/RECORD,,\\n").encode()
    name = "mini-0.1-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return name
"""


def _minimal_tree(tmp_path: Path, backend: str = "minimal") -> tuple[Path, BuildSystem]:
    source = tmp_path / "mini-0.1"
    (source / "_b").mkdir(parents=True)
    (source / "_b" / "minimal.py").write_text(_MINIMAL_BACKEND)
    (source / "pyproject.toml").write_text(
        f'[build-system]\nrequires = []\nbuild-backend = "{backend}"\nbackend-path = ["_b"]\n'
    )
    return source, read_build_system(source)


def test_prepare_metadata_falls_back_to_building_a_wheel(
    tmp_path: Path, env_v2: BuildEnvironment
) -> None:
    source, system = _minimal_tree(tmp_path)
    assert get_requires_for_build_wheel(env_v2, source, system, None) == ()
    dist_info = prepare_metadata(env_v2, source, system, None, tmp_path / "meta")
    assert dist_info.name == "mini-0.1.dist-info"
    assert "Requires-Dist: abiprov" in (dist_info / "METADATA").read_text()
    out = tmp_path / "out"
    wheel = build_wheel(env_v2, source, system, None, out, metadata_directory=dist_info)
    assert wheel.name == "mini-0.1-py3-none-any.whl"


def test_backend_that_cannot_be_imported(tmp_path: Path, env_v2: BuildEnvironment) -> None:
    source, system = _minimal_tree(tmp_path, backend="flit_core.buildapi")
    with pytest.raises(BuildError, match="'flit_core.buildapi' cannot be imported"):
        get_requires_for_build_wheel(env_v2, source, system, None)


@pytest.mark.parametrize(
    ("requires", "problem"),
    [
        (["abiprov==1.0"], "abiprov==1.0: 2.0 is installed"),
        (["cython>=3"], "cython>=3: not installed"),
        (["abiprov", "cython; python_version < '3'"], None),  # marker false: not needed
        (["abiprov[fast]"], "numpy>=2 (needed by abiprov 2.0): not installed"),
    ],
)
def test_unsatisfied_build_requirements_are_named(
    tmp_path: Path, requires: list[str], problem: str | None
) -> None:
    wheel = make_wheel(tmp_path / "w", "abiprov", "2.0", extras={"fast": ["numpy>=2"]})
    source, system = _sdist(tmp_path, build_requires=requires)
    with _env(tmp_path, wheel) as env:
        if problem is None:
            assert get_requires_for_build_wheel(env, source, system, None) == ()
            return
        with pytest.raises(BuildError) as info:
            get_requires_for_build_wheel(env, source, system, None)
        assert "cftime-1.6.1: the build environment does not satisfy" in str(info.value)
        assert problem in str(info.value)
        assert (info.value.package, info.value.hook) == ("cftime", None)  # before any hook
        # Checked before any hook runs: nothing is prepared or built.
        with pytest.raises(BuildError, match="does not satisfy"):
            prepare_metadata(env, source, system, None, tmp_path / "meta")
        with pytest.raises(BuildError, match="does not satisfy"):
            build_wheel(env, source, system, None, tmp_path / "out")
        assert not (tmp_path / "out").exists()
        assert not (tmp_path / "meta").exists()


def test_check_requirements_follows_dependencies(tmp_path: Path) -> None:
    scm = make_wheel(tmp_path / "w", "setuptools-scm", "8.0", requires=["packaging>=20"])
    from packaging.requirements import Requirement

    with _env(tmp_path, scm) as env:
        with pytest.raises(BuildError, match=r"packaging>=20 \(needed by setuptools-scm 8.0\)"):
            check_requirements(env, [Requirement("setuptools_scm")], label="x-1")
        check_requirements(env, [Requirement("setuptools_scm; os_name == 'nope'")], label="x-1")


def test_callers_pythonpath_does_not_leak_into_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module reachable only through the caller's PYTHONPATH is invisible to the backend."""
    leaked = tmp_path / "leaked"
    (leaked / "abiprov").mkdir(parents=True)
    (leaked / "abiprov" / "__init__.py").write_text("__version__ = '9.9'\n")
    monkeypatch.setenv("PYTHONPATH", str(leaked))
    source, system = _sdist(tmp_path, abi_provider="abiprov")  # under-declared on purpose
    with _env(tmp_path) as env:
        with pytest.raises(BuildError, match="build_wheel failed") as info:
            build_wheel(env, source, system, None, tmp_path / "out")
    assert "cannot build cftime: its build needs 'abiprov'" in (info.value.detail or "")


def test_config_settings_reach_the_backend(tmp_path: Path, env_v2: BuildEnvironment) -> None:
    source = tmp_path / "cfg-1.0"
    (source / "_b").mkdir(parents=True)
    (source / "_b" / "cfgbackend.py").write_text(
        "def get_requires_for_build_wheel(config_settings=None):\n"
        "    return [f'{k}=={v}' for k, v in sorted((config_settings or {}).items())]\n"
    )
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "cfgbackend"\nbackend-path = ["_b"]\n'
    )
    system = read_build_system(source)
    reqs = get_requires_for_build_wheel(env_v2, source, system, {"numpy": "2.2.6", "b": "1"})
    assert [str(r) for r in reqs] == ["b==1", "numpy==2.2.6"]


def _setuptools_tree(tmp_path: Path, name: str) -> tuple[Path, BuildSystem]:
    source = tmp_path / f"{name}-1.0"
    (source / name).mkdir(parents=True)
    (source / name / "__init__.py").write_text("")
    (source / "setup.py").write_text(
        "from setuptools import setup\n"
        f"setup(name={name!r}, version='1.0', packages=[{name!r}], install_requires=['abiprov'])\n"
    )
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    return source, read_build_system(source)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="hook servers: Linux")
def test_an_installed_backend_runs_in_forked_hooks_as_in_plain_processes(
    tmp_path: Path, tools_wheels: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setuptools = next(tools_wheels.glob("setuptools-*.whl"))
    results = {}
    for switch in ("1", "0"):  # plain processes, then the hook server
        monkeypatch.setenv("LOCK_BUILD_NO_HOOK_SERVER", switch)
        with _env(tmp_path / f"run{switch}", setuptools) as env:
            metadata = {}
            for name in ("first", "second"):  # the second hook of each kind reuses a server
                source, system = _setuptools_tree(tmp_path / f"run{switch}", name)
                requires = get_requires_for_build_wheel(env, source, system, None)
                dist_info = prepare_metadata(
                    env, source, system, None, tmp_path / f"m{switch}{name}"
                )
                wheel = build_wheel(env, source, system, None, tmp_path / f"w{switch}{name}")
                with zipfile.ZipFile(wheel) as archive:
                    members = sorted(archive.namelist())
                metadata[name] = (
                    [str(r) for r in requires],
                    (dist_info / "METADATA").read_text(),
                    wheel.name,
                    members,
                )
            used = env._servers is not None and any(env._servers._idle.values())
        results[switch] = (metadata, used)
    assert results["0"][0] == results["1"][0]
    assert "Requires-Dist: abiprov" in results["0"][0]["second"][1]
    assert results["1"][1] is False and results["0"][1] is True
