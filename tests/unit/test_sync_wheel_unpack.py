"""The builtin installer's use of PyPA installer: a wheel's layout, RECORD and .py files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from installer import install
from installer.sources import WheelFile

from lock_build.sync.wheel_unpack import RecordingDestination, record_entries, root_is_purelib
from support.dists import make_wheel


def _wheel(tmp_path: Path, *, purelib: bool = True) -> Path:
    wheel = make_wheel(
        tmp_path / "wheels",
        "demo",
        "1.0",
        files={"demo/util.py": "X = 1\n", "demo/data.txt": "not code\n"},
    )
    if not purelib:  # the same wheel, declared platlib
        unpacked = tmp_path / "platlib.whl"
        with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(unpacked, "w") as dst:
            for item in src.infolist():
                data = src.read(item)
                if item.filename.endswith(".dist-info/WHEEL"):
                    data = data.replace(b"Root-Is-Purelib: true", b"Root-Is-Purelib: false")
                dst.writestr(item, data)
        unpacked.replace(wheel)
    return wheel


@pytest.mark.parametrize("purelib", [True, False])
def test_root_is_purelib_reads_the_wheel_file(tmp_path: Path, purelib: bool) -> None:
    with WheelFile.open(_wheel(tmp_path, purelib=purelib)) as source:
        assert root_is_purelib(source) is purelib


def test_record_entries_list_every_member_with_its_hash(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path)
    with WheelFile.open(wheel) as source:
        entries = {entry.path: entry for entry in record_entries(source)}
    with zipfile.ZipFile(wheel) as archive:
        assert set(entries) == set(archive.namelist())
    assert entries["demo/util.py"].hash_ is not None
    assert entries["demo/util.py"].size == len(b"X = 1\n")
    assert entries["demo-1.0.dist-info/RECORD"].hash_ is None  # RECORD cannot hash itself


def test_recording_destination_remembers_the_python_files_it_writes(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    scheme = {key: str(tmp_path / key) for key in ("platlib", "headers", "scripts", "data")} | {
        "purelib": str(lib)
    }
    with WheelFile.open(_wheel(tmp_path)) as source:
        destination = RecordingDestination(
            scheme_dict=scheme,
            interpreter="/usr/bin/python3",
            script_kind="posix",
            bytecode_optimization_levels=(),
        )
        install(source, destination, additional_metadata={})
    written = {Path(s.path).relative_to(lib).as_posix(): s.size for s in destination.sources}
    assert written == {"demo/__init__.py": len("__version__ = '1.0'\n"), "demo/util.py": 6}
    assert (lib / "demo" / "data.txt").read_text() == "not code\n"  # written, not a source
