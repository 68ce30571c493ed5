"""The distribution factories produce archives real tools accept and build."""

from __future__ import annotations

import email.parser
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from build import BuildException, ProjectBuilder
from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile
from pyproject_hooks import BuildBackendHookCaller

from support.dists import make_bad_sdist, make_sdist, make_wheel


def _metadata(text: str) -> email.message.Message:
    return email.parser.Parser().parsestr(text)


def _unpack(sdist: Path, into: Path) -> Path:
    with tarfile.open(sdist) as tar:
        tar.extractall(into, filter="data")
    (tree,) = into.iterdir()
    return tree


def _quiet_runner(cmd, cwd=None, extra_environ=None):  # pyproject_hooks runner signature
    env = {**os.environ, **(extra_environ or {})}
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True)


def _hooks(tree: Path) -> BuildBackendHookCaller:
    return BuildBackendHookCaller(
        str(tree), "lbbackend", backend_path=["_backend"], runner=_quiet_runner
    )


def test_wheel_metadata_record_and_determinism(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path / "a",
        "My.Pkg",
        "1.2",
        requires=["dep>=1"],
        requires_python=">=3.8",
        extras={"fast": ['speedup ; python_version >= "3"']},
        tag="py2.py3-none-any",
        files={"my_pkg/data.txt": "hello"},
    )
    again = make_wheel(
        tmp_path / "b",
        "My.Pkg",
        "1.2",
        requires=["dep>=1"],
        requires_python=">=3.8",
        extras={"fast": ['speedup ; python_version >= "3"']},
        tag="py2.py3-none-any",
        files={"my_pkg/data.txt": "hello"},
    )
    assert wheel.name == "my_pkg-1.2-py2.py3-none-any.whl"
    assert wheel.read_bytes() == again.read_bytes()
    with zipfile.ZipFile(wheel) as zf:
        meta = _metadata(zf.read("my_pkg-1.2.dist-info/METADATA").decode())
        wheel_file = zf.read("my_pkg-1.2.dist-info/WHEEL").decode()
        record = zf.read("my_pkg-1.2.dist-info/RECORD").decode()
    assert meta["Name"] == "My.Pkg" and meta["Requires-Python"] == ">=3.8"
    assert meta.get_all("Provides-Extra") == ["fast"]
    assert meta.get_all("Requires-Dist") == [
        "dep>=1",
        'speedup ; (python_version >= "3") and extra == "fast"',
    ]
    assert "Tag: py2-none-any" in wheel_file and "Tag: py3-none-any" in wheel_file
    assert "my_pkg/data.txt,sha256=" in record


def test_wheel_installs_with_installer(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "thing", "3.0")
    scheme = {
        key: str(tmp_path / "site") for key in ("purelib", "platlib", "headers", "scripts", "data")
    }
    with WheelFile.open(wheel) as source:  # installer validates RECORD hashes here
        source.validate_record()
        install(source, SchemeDictionaryDestination(scheme, sys.executable, "posix"), {})
    assert (tmp_path / "site" / "thing" / "__init__.py").read_text() == "__version__ = '3.0'\n"


@pytest.fixture(scope="module")
def hook_trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hook-trees")
    trees = {}
    for key, kwargs in {
        "dynamic": dict(
            requires=["runtime-dep"],
            build_requires=["static-dep"],
            dynamic_build_requires=["numpy-ish>=2", "cython-ish"],
            dynamic_requires_dist=True,
        ),
        "hook_error": dict(hook_error="backend exploded in get_requires"),
        "build_error": dict(build_error="compiler not found"),
    }.items():
        sdist = make_sdist(root / "dists", f"pkg-{key}", "1.0", **kwargs)
        trees[key] = _unpack(sdist, root / key)
    return trees


def test_sdist_layout_and_dynamic_metadata(hook_trees: dict[str, Path], tmp_path: Path) -> None:
    tree = hook_trees["dynamic"]
    assert tree.name == "pkg_dynamic-1.0"
    pkg_info = _metadata((tree / "PKG-INFO").read_text())
    assert pkg_info["Metadata-Version"] == "2.2"
    assert pkg_info.get_all("Dynamic") == ["Requires-Dist"]
    assert pkg_info.get_all("Requires-Dist") is None
    pyproject = (tree / "pyproject.toml").read_text()
    assert 'requires = ["static-dep"]' in pyproject and 'backend-path = ["_backend"]' in pyproject

    hooks = _hooks(tree)
    assert hooks.get_requires_for_build_wheel() == ["numpy-ish>=2", "cython-ish"]
    dist_info = hooks.prepare_metadata_for_build_wheel(str(tmp_path))
    prepared = _metadata((tmp_path / dist_info / "METADATA").read_text())
    assert prepared.get_all("Requires-Dist") == ["runtime-dep"]

    wheel_name = hooks.build_wheel(str(tmp_path / "out"))
    with zipfile.ZipFile(tmp_path / "out" / wheel_name) as zf:
        assert "pkg_dynamic/__init__.py" in zf.namelist()
    sdist_name = hooks.build_sdist(str(tmp_path / "sdist-out"))
    with tarfile.open(tmp_path / "sdist-out" / sdist_name) as tar:
        assert "pkg_dynamic-1.0/_backend/lbconfig.json" in tar.getnames()


@pytest.mark.parametrize(
    ("key", "hook", "message"),
    [
        ("hook_error", "get_requires_for_build_wheel", "backend exploded in get_requires"),
        ("build_error", "build_wheel", "compiler not found"),
    ],
)
def test_sdist_hook_failures(
    hook_trees: dict[str, Path], tmp_path: Path, key: str, hook: str, message: str
) -> None:
    hooks = _hooks(hook_trees[key])
    args = (str(tmp_path),) if hook == "build_wheel" else ()
    with pytest.raises(subprocess.CalledProcessError) as failure:
        getattr(hooks, hook)(*args)
    assert f"RuntimeError: {message}" in failure.value.stderr


def test_sdist_abi_build_without_provider_fails_clearly(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "needs-prov", "1.0", abi_provider="abiprov_missing_here")
    hooks = _hooks(_unpack(sdist, tmp_path / "tree"))
    with pytest.raises(subprocess.CalledProcessError) as failure:
        hooks.build_wheel(str(tmp_path / "out"))
    assert "its build needs 'abiprov_missing_here'" in failure.value.stderr
    assert "not importable in the build environment" in failure.value.stderr


@pytest.mark.parametrize(
    ("build_system", "error"),
    [("broken", BuildException), ("invalid-toml", BuildException)],
)
def test_sdist_broken_build_system(tmp_path: Path, build_system: str, error: type) -> None:
    sdist = make_sdist(tmp_path, "broken", "1.0", build_system=build_system)
    with pytest.raises(error):
        ProjectBuilder(_unpack(sdist, tmp_path / "tree"))


def test_sdist_without_build_system_shapes(tmp_path: Path) -> None:
    none_tree = _unpack(
        make_sdist(tmp_path / "d", "plain", "1.0", build_system=None), tmp_path / "n"
    )
    assert "[build-system]" not in (none_tree / "pyproject.toml").read_text()
    (fallback,) = ProjectBuilder(none_tree).build_system_requires
    assert fallback.replace(" ", "") == "setuptools>=40.8.0"
    legacy = _unpack(
        make_sdist(tmp_path / "d", "legacy", "1.0", requires=["x>1"], build_system=False),
        tmp_path / "l",
    )
    assert not (legacy / "pyproject.toml").exists()
    assert "install_requires=['x>1']" in (legacy / "setup.py").read_text()


@pytest.mark.parametrize("kind", ["traversal", "symlink-out"])
def test_bad_sdists_are_refused_by_safe_extraction(tmp_path: Path, kind: str) -> None:
    sdist = make_bad_sdist(tmp_path, "evil", "1.0", kind)
    with tarfile.open(sdist) as tar, pytest.raises(tarfile.FilterError):
        tar.extractall(tmp_path / "out", filter="data")
    assert not (tmp_path / "escaped.txt").exists()


def test_bad_sdist_absolute_member(tmp_path: Path) -> None:
    sdist = make_bad_sdist(tmp_path, "evil", "1.0", "absolute")
    with tarfile.open(sdist) as tar:
        assert "/tmp/lock-build-escaped.txt" in tar.getnames()
        tar.extractall(tmp_path / "out", filter="data")  # the data filter strips the "/"
    assert (tmp_path / "out" / "tmp" / "lock-build-escaped.txt").is_file()


def test_wheel_installs_with_pip_from_local_index(local_index, venv_factory) -> None:
    local_index.add_wheel("app-core", "1.0", requires=["helper>=2"], extras={"x": ["extra-dep"]})
    local_index.add_wheel("helper", "1.0")
    local_index.add_wheel("helper", "2.5")
    local_index.add_wheel("extra-dep", "0.1")
    env = venv_factory()
    env.pip("install", "--index-url", local_index.url, "--no-cache-dir", "app-core[x]")
    assert env.freeze() == {"app-core": "1.0", "helper": "2.5", "extra-dep": "0.1"}
    run = env.run("-c", "import app_core, helper, extra_dep; print(app_core.__version__)")
    assert run.stdout.strip() == "1.0", run.stderr


def test_abi_sdist_import_check(local_index, venv_factory, tmp_path: Path) -> None:
    for version in ("1.0", "2.0"):
        local_index.add_wheel("abiprov", version)
    sdist = make_sdist(
        tmp_path,
        "uses-abi",
        "0.5",
        requires=["abiprov"],
        build_requires=["abiprov"],
        abi_provider="abiprov",
        requires_from_build=True,
    )
    env = venv_factory()
    env.pip("install", "--index-url", local_index.url, "abiprov==1.0")
    env.pip("wheel", "--no-build-isolation", "--no-deps", "-w", tmp_path / "wheels", sdist)
    (wheel,) = (tmp_path / "wheels").glob("uses_abi-0.5-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("uses_abi/_built_against.py").decode() == (
            "PROVIDER = 'abiprov'\nBUILT_AGAINST = '1.0'\n"
        )
        assert "Requires-Dist: abiprov>=1.0" in zf.read("uses_abi-0.5.dist-info/METADATA").decode()
    env.pip("install", "--no-deps", wheel)
    assert env.run("-c", "import uses_abi").returncode == 0

    env.pip("install", "--index-url", local_index.url, "abiprov==2.0")
    broken = env.run("-c", "import uses_abi")
    assert "ImportError: uses_abi was built against abiprov 1.0 but abiprov 2.0 is installed" in (
        broken.stderr
    )
    assert "(binary incompatibility)" in broken.stderr


def test_isolated_pip_install_reproduces_the_abi_mismatch(local_index, venv_factory) -> None:
    """The product's motivating failure: isolation builds against the newest provider."""
    local_index.add_wheel("abiprov", "1.0")
    local_index.add_wheel("abiprov", "2.0")
    local_index.add_sdist(
        "victim",
        "1.0",
        requires=["abiprov==1.0"],
        build_requires=["abiprov"],
        abi_provider="abiprov",
        dynamic_build_requires=["abiprov"],
    )
    env = venv_factory()
    env.pip("install", "--index-url", local_index.url, "victim")
    assert env.freeze() == {"victim": "1.0", "abiprov": "1.0"}
    result = env.run("-c", "import victim")
    assert "built against abiprov 2.0 but abiprov 1.0 is installed" in result.stderr


def test_setuptools_fallback_sdists_build_with_tool_wheels(
    local_index, venv_factory, tools_wheels: Path
) -> None:
    local_index.add(tools_wheels.glob("*.whl"))
    local_index.add_wheel("dep", "1.0")
    local_index.add_sdist("legacy-proj", "1.0", requires=["dep"], build_system=False)
    local_index.add_sdist("no-table", "2.0", build_system=None)
    env = venv_factory()
    env.pip("install", "--index-url", local_index.url, "legacy-proj", "no-table")
    assert env.run("-c", "import legacy_proj, no_table").returncode == 0
    frozen = env.freeze()
    assert frozen["legacy-proj"] == "1.0" and frozen["no-table"] == "2.0" and frozen["dep"] == "1.0"


def test_sdist_files_and_extras_reach_the_wheel(tmp_path: Path) -> None:
    sdist = make_sdist(
        tmp_path,
        "with-data",
        "3.1",
        requires=["base"],
        requires_python=">=3.9",
        extras={"cli": ["click>=8"]},
        files={"with_data/data.txt": "payload", "README.md": "not in the wheel"},
    )
    tree = _unpack(sdist, tmp_path / "tree")
    pkg_info = _metadata((tree / "PKG-INFO").read_text())
    assert pkg_info.get_all("Requires-Dist") == ["base", 'click>=8 ; extra == "cli"']
    wheel = tmp_path / "out" / _hooks(tree).build_wheel(str(tmp_path / "out"))
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("with_data/data.txt") == b"payload"
        assert "README.md" not in zf.namelist()
        meta = _metadata(zf.read("with_data-3.1.dist-info/METADATA").decode())
    assert meta["Requires-Python"] == ">=3.9" and meta.get_all("Provides-Extra") == ["cli"]
