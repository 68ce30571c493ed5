"""The builtin installer's use of PyPA installer: a wheel's layout, RECORD and .py files."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from installer import install
from installer.destinations import SchemeDictionaryDestination
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


def _destination(tmp_path: Path, cls: type = RecordingDestination, **options: Any) -> Any:
    scheme = {key: str(tmp_path / key) for key in ("purelib", "platlib", "headers", "scripts")}
    return cls(
        scheme_dict=scheme | {"data": str(tmp_path / "data")},
        interpreter="/usr/bin/python3",
        script_kind="posix",
        bytecode_optimization_levels=(),
        **options,
    )


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mode & 0o777)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_files_and_record_are_those_installer_itself_writes(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path / "wheels",
        "demo",
        "1.0",
        files={
            "demo/deep/er/mod.py": "Y = 2\n",
            "demo/deep/data.bin": "\x00" * 70_000,  # more than one of installer's chunks
            "demo-1.0.data/scripts/demo-tool": "#!python\nprint('hi')\n",
        },
    )
    for name, cls in (("ours", RecordingDestination), ("installer", SchemeDictionaryDestination)):
        with WheelFile.open(wheel) as source:
            install(source, _destination(tmp_path / name, cls), additional_metadata={})
    assert _tree(tmp_path / "ours") == _tree(tmp_path / "installer")
    record = tmp_path / "ours" / "purelib" / "demo-1.0.dist-info" / "RECORD"
    assert "demo/deep/er/mod.py,sha256=" in record.read_text()


def test_an_executable_file_gets_the_x_bits_the_umask_allows(tmp_path: Path) -> None:
    destination = _destination(tmp_path)
    previous = os.umask(0o027)
    try:
        entry = destination.write_to_fs("scripts", "tool", io.BytesIO(b"#!/bin/sh\n"), True)
    finally:
        os.umask(previous)
    assert (tmp_path / "scripts" / "tool").stat().st_mode & 0o777 == 0o751  # as pip
    assert entry.size == 10


@pytest.mark.parametrize("member", ["../escaped.py", "/etc/escaped.py", "a/../../escaped.py", "."])
def test_a_member_that_leaves_its_directory_is_refused(tmp_path: Path, member: str) -> None:
    with pytest.raises(ValueError, match="outside of the target directory"):
        _destination(tmp_path).write_to_fs("purelib", member, io.BytesIO(b"x"), False)
    assert not (tmp_path / "escaped.py").exists()
    assert not list(tmp_path.rglob("escaped.py"))


def test_an_existing_file_is_replaced_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "purelib").mkdir()
    (tmp_path / "purelib" / "m.py").write_text("old\n")
    with pytest.raises(FileExistsError, match="already exists"):
        _destination(tmp_path).write_to_fs("purelib", "m.py", io.BytesIO(b"new\n"), False)
    assert (tmp_path / "purelib" / "m.py").read_text() == "old\n"
    replacing = _destination(tmp_path, overwrite_existing=True)
    replacing.write_to_fs("purelib", "m.py", io.BytesIO(b"new\n"), False)
    assert (tmp_path / "purelib" / "m.py").read_text() == "new\n"
