"""Exports of a multi-target lock: universal requirements with markers, per-target files,
one pylock.toml for every target, and the refusal when markers cannot tell targets apart."""

from __future__ import annotations

import tomllib

import pytest
from packaging.markers import Marker
from packaging.pylock import Pylock
from test_multilock import NUMPY_A, NUMPY_B, PY311, PY312, SHARED, merged, part, runtime_on_one

from lock_build.errors import NoMatchingTargetError
from lock_build.export_targets import UniversalExportError, export_lock, target_markers
from lock_build.multilock import merge_locks

ID311, ID312 = "cp311-manylinux_2_28_x86_64", "cp312-manylinux_2_28_x86_64"


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith(("#", " "))]


def test_universal_requirements_mark_what_not_every_target_uses() -> None:
    text = export_lock(merged(), "requirements").text
    lines = _lines(text)
    assert "shared==1.0 \\" in lines  # every target: no marker
    assert 'tomli==2.0 ; python_version == "3.11" \\' in lines
    assert 'numpy==2.2.6 ; python_version == "3.11" \\' in lines
    assert 'numpy==2.3.1 ; python_version == "3.12" \\' in lines
    assert f"for the targets {ID311}, {ID312}" in text
    # Each marked line holds for exactly the targets that use it.
    for target, version in ((PY311, "2.2.6"), (PY312, "2.3.1")):
        env = {**target["markers"], "extra": ""}  # type: ignore[dict-item]
        chosen = [
            line.split(" ; ")[0]
            for line in lines
            if line.startswith("numpy") and Marker(line.split(" ; ")[1][:-2]).evaluate(env)
        ]
        assert chosen == [f"numpy=={version}"]


def test_per_target_export_has_no_markers() -> None:
    text = export_lock(merged(), "requirements", target_id=ID312).text
    lines = _lines(text)
    assert "numpy==2.3.1 \\" in lines and not any("tomli" in line for line in lines)
    assert "--hash=sha256:" in text
    with pytest.raises(NoMatchingTargetError, match="cp39-win32"):
        export_lock(merged(), "requirements", target_id="cp39-win32")


def test_floors_that_pin_differently_cannot_share_one_file() -> None:
    low = {**PY311, "platform": "manylinux_2_17_x86_64"}
    lock = merge_locks(
        [part(PY311, SHARED, NUMPY_B), part(low, SHARED, NUMPY_A)], first=part(PY311)
    )
    assert set(target_markers(lock).values()) == {""}
    for fmt in ("requirements", "pylock"):
        with pytest.raises(UniversalExportError) as caught:
            export_lock(lock, fmt)
        assert caught.value.targets == ("cp311-manylinux_2_17_x86_64", ID311)
        assert "--target" in caught.value.render()
    # The same pins on both floors are one file without markers.
    same = merge_locks([part(PY311, SHARED), part(low, SHARED)], first=part(PY311))
    assert "shared==1.0 \\" in _lines(export_lock(same, "requirements").text)


def test_one_pylock_for_every_target_validates() -> None:
    text = export_lock(merged(), "pylock").text
    data = tomllib.loads(text)
    Pylock.from_dict(data).validate()
    assert len(data["environments"]) == 2
    markers = {(p["name"], p["version"]): p.get("marker") for p in data["packages"]}
    assert markers[("shared", "1.0")] is None
    assert markers[("numpy", "2.2.6")] == 'python_version == "3.11"'
    assert markers[("numpy", "2.3.1")] == 'python_version == "3.12"'


def test_a_pin_runtime_on_one_target_is_exported_for_that_target_only() -> None:
    lock = runtime_on_one()  # tomli 2.0: runtime on 3.11, a build pin of cftime on both
    lines = _lines(export_lock(lock, "requirements").text)
    assert 'tomli==2.0 ; python_version == "3.11" \\' in lines
    # cftime on every target (no marker); setuptools is build-only on both: absent.
    assert [line.split(" ")[0] for line in lines] == ["cftime", "tomli==2.0"]
    alone = _lines(export_lock(lock, "requirements", target_id=ID312).text)
    assert [line.split(" ")[0] for line in alone] == ["cftime"]
    pylock = tomllib.loads(export_lock(lock, "pylock").text)
    Pylock.from_dict(pylock).validate()
    markers = {p["name"]: p.get("marker") for p in pylock["packages"]}
    assert markers == {"cftime": None, "tomli": 'python_version == "3.11"'}
