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


# -- a big wheel unpacked in shares ----------------------------------------------------


def _many_files_wheel(tmp_path: Path, count: int = 30) -> Path:
    files = {f"big/mod{i:02d}.py": f"X = {i}\n" * (i + 1) for i in range(count)}
    files["big/__pycache__/stale.cpython-311.pyc"] = "shipped bytecode"
    files["big-1.0.data/scripts/big-tool"] = "#!python\nprint('big')\n"
    return make_wheel(tmp_path / "wheels", "big", "1.0", files=files)


def _scheme(root: Path) -> dict[str, str]:
    return {key: str(root / key) for key in ("purelib", "platlib", "scripts", "data")}


def test_shares_are_library_files_installer_writes_verbatim_in_balanced_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lock_build.sync import wheel_unpack

    wheel = _many_files_wheel(tmp_path)
    assert wheel_unpack.shares(wheel_unpack.Survey(wheel), 3) == []  # fewer than SPLIT_FILES
    monkeypatch.setattr(wheel_unpack, "SPLIT_FILES", 4)
    assert wheel_unpack.shares(wheel_unpack.Survey(wheel), 1) == []  # one worker: nothing to share
    parts = wheel_unpack.shares(wheel_unpack.Survey(wheel), 3)
    assert len(parts) == 2
    shared = [name for part in parts for name, _, _ in part]
    assert all(name.startswith("big/mod") for name in shared)  # not .dist-info, .data, pycache
    assert len(shared) == len(set(shared)) < 31  # installer's worker keeps a run too
    assert abs(len(parts[0]) - len(parts[1])) <= 1  # about equal work (equal small files)
    with WheelFile.open(wheel) as source:
        stated = {e.path: (str(e.hash_), str(e.size)) for e in record_entries(source)}
    assert all(stated[name] == (digest, size) for part in parts for name, digest, size in part)


@pytest.mark.filterwarnings("ignore:Skip installing")  # the shipped __pycache__ file
def test_a_wheel_unpacked_in_shares_is_the_wheel_unpacked_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lock_build.sync import wheel_unpack

    monkeypatch.setattr(wheel_unpack, "SPLIT_FILES", 4)
    wheel = str(_many_files_wheel(tmp_path))
    where = {"headers_base": str(tmp_path / "h"), "interpreter": "/usr/bin/python3"}
    whole = tmp_path / "whole"
    record, sources = wheel_unpack.unpack(
        wheel, scheme=_scheme(whole), **where, additional_metadata={"INSTALLER": b"x\n"}
    )
    split = tmp_path / "split"
    parts = wheel_unpack.shares(wheel_unpack.Survey(wheel), 2)
    split_record, split_sources = wheel_unpack.unpack(
        wheel,
        scheme=_scheme(split),
        **where,
        additional_metadata={"INSTALLER": b"x\n"},
        others=[name for part in parts for name, _, _ in part],
    )
    for part in parts:
        written, more = wheel_unpack.unpack_share(
            wheel, scheme=_scheme(split), **where, members=[name for name, _, _ in part]
        )
        assert written == part  # an honest RECORD: nothing to correct
        wheel_unpack.correct_record(split_record, part, written)
        split_sources += more
    assert _tree(split) == _tree(whole)  # files, modes and RECORD bytes
    assert Path(split_record).relative_to(split) == Path(record).relative_to(whole)
    names = sorted(os.path.relpath(s.path, split) for s in split_sources)
    assert names == sorted(os.path.relpath(s.path, whole) for s in sources)


def test_a_shared_file_the_record_misstates_is_recorded_as_written(tmp_path: Path) -> None:
    from lock_build.sync import wheel_unpack

    record = tmp_path / "RECORD"
    record.write_text("a.py,sha256=good,1\nb.py,sha256=lie,2\nRECORD,,\n")
    stated = [("a.py", "sha256=good", "1"), ("b.py", "sha256=lie", "2")]
    written = [("a.py", "sha256=good", "1"), ("b.py", "sha256=real", "5")]
    wheel_unpack.correct_record(str(record), stated, written)
    assert record.read_text() == "a.py,sha256=good,1\nb.py,sha256=real,5\nRECORD,,\n"


# -- small library files written before installer's pass --------------------------------


def _with_executable_member(wheel: Path, member: str) -> Path:
    """The same wheel, ``member`` marked executable (mode 0755) in the archive."""
    out = wheel.with_suffix(".x.whl")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename == member:
                item.external_attr = (0o100755 << 16) | (item.external_attr & 0xFFFF)
            dst.writestr(item, src.read(item))
    out.replace(wheel)
    return wheel


@pytest.mark.filterwarnings("ignore:Skip installing")  # the shipped __pycache__ file
def test_unpack_writes_what_installer_itself_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small library files are read whole and written before installer's pass; the
    result is installer's own, file for file, with their modes and RECORD's bytes."""
    from lock_build.sync import wheel_unpack, zip_members

    monkeypatch.setattr(zip_members, "SMALL", 4096)  # the big member streams as before
    files = {
        "demo/mod.py": "Y = 2\n",
        "demo/run.sh": "#!/bin/sh\necho hi\n",
        "demo/big.bin": "\x00" * 70_000,
        "demo/__pycache__/stale.cpython-311.pyc": "shipped bytecode",
        "demo-1.0.data/scripts/demo-tool": "#!python\nprint('hi')\n",
    }
    wheel = make_wheel(tmp_path / "wheels", "demo", "1.0", files=files)
    wheel = _with_executable_member(wheel, "demo/run.sh")
    metadata = {"INSTALLER": b"lock-build\n"}
    with WheelFile.open(wheel) as source:
        install(source, _destination(tmp_path / "installer", SchemeDictionaryDestination), metadata)
    ours = tmp_path / "ours"
    record, sources = wheel_unpack.unpack(
        str(wheel),
        scheme={key: str(ours / key) for key in ("purelib", "platlib", "scripts", "data")},
        headers_base=str(ours / "headers"),
        interpreter="/usr/bin/python3",
        additional_metadata=metadata,
    )
    assert _tree(ours) == _tree(tmp_path / "installer")
    assert (ours / "purelib" / "demo" / "run.sh").stat().st_mode & 0o111
    assert Path(record) == ours / "purelib" / "demo-1.0.dist-info" / "RECORD"
    assert sorted(Path(s.path).name for s in sources) == ["__init__.py", "mod.py"]
