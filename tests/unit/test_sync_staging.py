"""The staging area: a mirror of the prefix per wheel, moved in by renames and merges."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lock_build.sync.staging import STAGING_PREFIX, StagingArea

pytestmark = pytest.mark.skipif(os.name != "posix", reason="staging is POSIX only")


def _venv_like(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    prefix = tmp_path / "venv"
    site = prefix / "lib" / "python3.X" / "site-packages"
    site.mkdir(parents=True)
    (prefix / "bin").mkdir()
    scheme = {"purelib": str(site), "platlib": str(site), "scripts": str(prefix / "bin")}
    return prefix, {**scheme, "data": str(prefix)}


def _area(prefix: Path, scheme: dict[str, str]) -> StagingArea:
    area = StagingArea.create(str(prefix), scheme.values())
    assert area is not None
    return area


def test_a_staged_scheme_mirrors_the_prefix_and_maps_back(tmp_path: Path) -> None:
    prefix, scheme = _venv_like(tmp_path)
    area = _area(prefix, scheme)
    assert Path(area.root).parent == prefix and Path(area.root).name.startswith(STAGING_PREFIX)
    staged = area.staged(3, scheme)
    assert staged["purelib"] == os.path.join(area.tree(3), "lib", "python3.X", "site-packages")
    assert staged["data"] == os.path.join(area.tree(3), ".")
    inside = os.path.join(staged["purelib"], "pkg", "__init__.py")
    assert area.final(3, inside) == os.path.join(scheme["purelib"], "pkg", "__init__.py")
    with pytest.raises(ValueError, match="not in the staging tree of wheel 4"):
        area.final(4, inside)


def test_moving_in_renames_new_directories_merges_existing_ones_and_replaces_files(
    tmp_path: Path,
) -> None:
    prefix, scheme = _venv_like(tmp_path)
    site = Path(scheme["purelib"])
    (site / "namespace" / "old").mkdir(parents=True)
    (site / "namespace" / "old" / "keep.py").write_text("old\n")
    (site / "stray.py").write_text("stray\n")
    (prefix / "bin" / "existing-tool").write_text("#!tool\n")
    area = _area(prefix, scheme)
    staged = {k: Path(v) for k, v in area.staged(0, scheme).items()}
    (staged["purelib"] / "pkg" / "sub").mkdir(parents=True)
    (staged["purelib"] / "pkg" / "sub" / "mod.py").write_text("new\n")
    (staged["purelib"] / "namespace" / "new").mkdir(parents=True)
    (staged["purelib"] / "namespace" / "new" / "mod.py").write_text("ns\n")
    (staged["purelib"] / "stray.py").write_text("replaced\n")
    staged["scripts"].mkdir(parents=True)
    (staged["scripts"] / "tool").write_text("#!python\n")

    area.move_in(0)

    assert (site / "pkg" / "sub" / "mod.py").read_text() == "new\n"
    assert (site / "namespace" / "old" / "keep.py").read_text() == "old\n"
    assert (site / "namespace" / "new" / "mod.py").read_text() == "ns\n"
    assert (site / "stray.py").read_text() == "replaced\n"
    assert (prefix / "bin" / "tool").read_text() == "#!python\n"
    assert (prefix / "bin" / "existing-tool").read_text() == "#!tool\n"
    area.remove()
    assert sorted(p.name for p in prefix.iterdir()) == ["bin", "lib"]


def test_a_symlinked_directory_of_the_prefix_is_merged_into_not_replaced(tmp_path: Path) -> None:
    prefix, scheme = _venv_like(tmp_path)
    (prefix / "lib64").symlink_to("lib")  # as venv makes it on 64-bit Linux
    platlib = str(prefix / "lib64" / "python3.X" / "site-packages")
    scheme = {**scheme, "platlib": platlib}
    area = _area(prefix, scheme)
    staged = Path(area.staged(0, scheme)["platlib"])
    (staged / "ext").mkdir(parents=True)
    (staged / "ext" / "fast.so").write_bytes(b"\x7fELF")
    area.move_in(0)
    assert (prefix / "lib64").is_symlink()
    assert (Path(scheme["purelib"]) / "ext" / "fast.so").read_bytes() == b"\x7fELF"


def test_a_file_where_the_wheel_has_a_directory_is_an_error(tmp_path: Path) -> None:
    prefix, scheme = _venv_like(tmp_path)
    (Path(scheme["purelib"]) / "pkg").write_text("a file\n")
    area = _area(prefix, scheme)
    staged = Path(area.staged(0, scheme)["purelib"])
    (staged / "pkg").mkdir(parents=True)
    (staged / "pkg" / "__init__.py").write_text("")
    with pytest.raises(OSError):
        area.move_in(0)


def test_no_area_where_a_scheme_directory_is_outside_the_prefix(tmp_path: Path) -> None:
    prefix, scheme = _venv_like(tmp_path)
    elsewhere = tmp_path / "elsewhere" / "bin"
    assert StagingArea.create(str(prefix), [*scheme.values(), str(elsewhere)]) is None
    assert not any(p.name.startswith(STAGING_PREFIX) for p in prefix.iterdir())


def test_an_area_left_by_a_dead_process_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    prefix, scheme = _venv_like(tmp_path)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dead = prefix / f"{STAGING_PREFIX}{gone}-abc"
    (dead / "0" / "lib").mkdir(parents=True)
    live = prefix / f"{STAGING_PREFIX}{os.getpid()}-xyz"
    live.mkdir()
    area = _area(prefix, scheme)
    assert not dead.exists()
    assert live.is_dir()
    assert Path(area.root).is_dir()
