"""previous.py: the pins of another tool's output, whatever the format."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_export import SAMPLE

from lock_build.export import export_pylock
from lock_build.lockfile import dumps
from lock_build.previous import PreviousFileError, looks_like_lock, read_previous

REQUIREMENTS = [
    # (requirements.txt text, the pins read from it)
    (
        "a==1.0\nb[x,y]==2.0 \\\n    --hash=sha256:" + "0" * 64 + "\n    # via a\n",
        {"a": "1.0", "b": "2.0"},
    ),
    ("--index-url https://mirror.example/simple\nA_B==1.0\n", {"a-b": "1.0"}),
    ('w==1.0 ; sys_platform == "win32"\nw==2.0 ; sys_platform != "win32"\n', {"w": "1.0"}),
    ("a>=1\nb==1.*\nc===1.0\nd @ https://example/d-1.0.tar.gz\n", {"c": "1.0"}),
    (
        "# The following packages are considered to be unsafe in a requirements file:\n"
        "setuptools==69.0.0\n",
        {"setuptools": "69.0.0"},
    ),
]


@pytest.mark.parametrize(("text", "pins"), REQUIREMENTS)
def test_requirements_pins(tmp_path: Path, text: str, pins: dict[str, str]) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(text, encoding="utf-8")
    previous = read_previous(path, cwd=tmp_path)
    assert previous.kind == "requirements" and previous.lock is None
    assert {str(n): str(v) for n, v in previous.pins} == pins


def test_a_file_that_pins_nothing_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "requirements.in"
    path.write_text("a>=1\n", encoding="utf-8")
    with pytest.raises(PreviousFileError, match="pins no version") as info:
        read_previous(path, cwd=tmp_path)
    assert info.value.path == path


def test_lock_and_pylock(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text(dumps(SAMPLE), encoding="utf-8")
    pylock = tmp_path / "pylock.toml"
    pylock.write_text(export_pylock(SAMPLE).text, encoding="utf-8")
    assert looks_like_lock(lock) and not looks_like_lock(pylock)

    from_lock, from_pylock = read_previous(lock, cwd=tmp_path), read_previous(pylock, cwd=tmp_path)
    assert from_lock.kind == "lock" and from_lock.lock is not None
    assert from_pylock.kind == "pylock"
    assert from_lock.pins == from_pylock.pins
    assert ("numpy", "1.26.4") in {(str(n), str(v)) for n, v in from_lock.pins}


def test_an_invalid_pylock_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text('lock-version = "1.0"\n', encoding="utf-8")
    with pytest.raises(PreviousFileError, match="neither a lock-build lock nor a valid pylock"):
        read_previous(path, cwd=tmp_path)
