"""[build-system] reading: pip's defaults, partial tables, and strict validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

from lock_build.building import BuildSystem, read_build_system
from lock_build.building.build_system import LEGACY_BACKEND
from lock_build.errors import BuildError


def _tree(tmp_path: Path, pyproject: str | None, name: str = "cftime-1.6.1") -> Path:
    source = tmp_path / name
    source.mkdir()
    if pyproject is not None:
        (source / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return source


def _reqs(system: BuildSystem) -> list[str]:
    return [str(r) for r in system.requires]


def test_full_table(tmp_path: Path) -> None:
    system = read_build_system(
        _tree(
            tmp_path,
            '[build-system]\nrequires = ["setuptools>=61", "oldest-supported-numpy; '
            'python_version<\'3.12\'"]\nbuild-backend = "setuptools.build_meta"\n'
            'backend-path = ["_backend", "tools/./x"]\n',
        )
    )
    assert _reqs(system) == ["setuptools>=61", 'oldest-supported-numpy; python_version < "3.12"']
    assert all(isinstance(r, Requirement) for r in system.requires)
    assert system.backend == "setuptools.build_meta"
    assert system.backend_path == ("_backend", "tools/./x")
    assert system.legacy is False


@pytest.mark.parametrize(
    "pyproject",
    [None, '[project]\nname = "x"\nversion = "1"\n', "[tool.black]\nline-length = 80\n"],
    ids=["no-file", "no-table", "only-tool-table"],
)
def test_absent_table_means_pips_legacy_default(tmp_path: Path, pyproject: str | None) -> None:
    system = read_build_system(_tree(tmp_path, pyproject))
    assert _reqs(system) == ["setuptools>=40.8.0"]
    assert system.backend == LEGACY_BACKEND == "setuptools.build_meta:__legacy__"
    assert system.backend_path == ()
    assert system.legacy is True


def test_requires_without_backend_uses_legacy_backend_with_given_requires(tmp_path: Path) -> None:
    system = read_build_system(
        _tree(tmp_path, '[build-system]\nrequires = ["setuptools>=64", "cython<3"]\n')
    )
    assert _reqs(system) == ["setuptools>=64", "cython<3"]
    assert system.backend == LEGACY_BACKEND
    assert system.legacy is True


def test_empty_requires_is_allowed(tmp_path: Path) -> None:
    system = read_build_system(
        _tree(tmp_path, '[build-system]\nrequires = []\nbuild-backend = "flit_core.buildapi"\n')
    )
    assert system.requires == ()
    assert system.backend == "flit_core.buildapi"


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            'requires = "x"',
            "cftime-1.6.1: [build-system].requires must be a list of strings, not 'x'",
        ),
        ("requires = [1, 2]", "[build-system].requires must be a list of strings, not [1, 2]"),
        ('requires = ["numpy>>=1"]', "invalid requirement 'numpy>>=1'"),
        ("requires = []\nbuild-backend = 3", "[build-system].build-backend must be a non-empty"),
        ('requires = []\nbuild-backend = ""', "[build-system].build-backend must be a non-empty"),
        ('requires = []\nbackend-path = "_b"', "[build-system].backend-path must be a list"),
        ('requires = []\nbackend-path = ["../up"]', "'../up' points outside the source tree"),
        ('requires = []\nbackend-path = ["a/../../up"]', "points outside the source tree"),
        ('requires = []\nbackend-path = ["/abs"]', "'/abs' points outside the source tree"),
        ('requires = []\nbackend-path = [".."]', "points outside the source tree"),
        ('build-backend = "x"', "[build-system] table without `requires`"),
    ],
)
def test_broken_tables_name_sdist_and_field(tmp_path: Path, table: str, expected: str) -> None:
    source = _tree(tmp_path, f"[build-system]\n{table}\n")
    with pytest.raises(BuildError) as info:
        read_build_system(source)
    assert expected in str(info.value)
    assert str(info.value).startswith("cftime-1.6.1: ")
    assert (info.value.package, str(info.value.version)) == ("cftime", "1.6.1")


def test_build_system_not_a_table(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"cftime-1.6.1: \[build-system\] must be a table"):
        read_build_system(_tree(tmp_path, 'build-system = "setuptools"\n'))


def test_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="cftime-1.6.1: pyproject.toml is not valid TOML"):
        read_build_system(_tree(tmp_path, "[build-system\nrequires = [\n"))


def test_factory_sdists_read_as_declared(tmp_path: Path) -> None:
    """The shared test sdists (tests/support/dists.py) parse as their options say."""
    import tarfile

    from support.dists import make_sdist

    def unpack(archive: Path) -> Path:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp_path / "src", filter="data")
        return tmp_path / "src" / archive.name.removesuffix(".tar.gz")

    default = unpack(make_sdist(tmp_path, "pkg-a", "1.0", build_requires=["abiprov==1.0"]))
    system = read_build_system(default)
    assert (_reqs(system), system.backend, system.backend_path) == (
        ["abiprov==1.0"],
        "lbbackend",
        ("_backend",),
    )
    broken = unpack(make_sdist(tmp_path, "pkg-b", "1.0", build_system="broken"))
    with pytest.raises(BuildError, match="pkg_b-1.0: .*requires must be a list of strings"):
        read_build_system(broken)
    for name, kind in (("pkg-c", None), ("pkg-d", False)):
        source = unpack(make_sdist(tmp_path, name, "1.0", build_system=kind))
        assert read_build_system(source).legacy
