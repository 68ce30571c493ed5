"""`--hash` options on requirement lines win over the index, as in pip's hash-checking mode."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from test_compile_harness import Project, assert_clean_error, make_project

from support.index import LocalIndex


@pytest.fixture
def project(tmp_path: Path, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> Project:
    return make_project(tmp_path, local_index, monkeypatch)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(project: Project, name: str) -> list[str]:
    (entry,) = [p for p in project.lock()["package"] if p["name"] == name]
    files = [entry["wheel"]] if "wheel" in entry else []
    files += entry.get("wheels", [])
    files += [entry["sdist"]] if "sdist" in entry else []
    return sorted({f["sha256"] for f in files})


def test_only_the_hashed_file_is_locked(project: Project) -> None:
    wheel = project.index.add_wheel("alpha", "1.0")
    sdist = project.index.add_sdist("alpha", "1.0")
    project.write("requirements.in", f"alpha==1.0 --hash=sha256:{_sha(sdist)}\n")

    project.compile("--no-binary", ":none:").ok()

    assert _files(project, "alpha") == [_sha(sdist)]
    assert _sha(wheel) not in project.read("requirements.lock")


def test_a_hash_no_file_has_is_an_error_naming_package_and_hashes(project: Project) -> None:
    wheel = project.index.add_wheel("alpha", "1.0")
    wrong = "0" * 64
    project.write("requirements.in", f"alpha==1.0 --hash=sha256:{wrong}\n")

    run = project.compile()

    assert_clean_error(run, "alpha", f"sha256:{wrong}", wheel.name, _sha(wheel))
    assert not (project.root / "requirements.lock").exists()


def test_an_unpinned_hashed_line_is_an_error(project: Project) -> None:
    project.index.add_wheel("alpha", "1.0")
    project.write("requirements.in", f"alpha>=1 --hash=sha256:{'0' * 64}\n")

    run = project.compile()

    assert_clean_error(run, "requirements.in:1", "must be pinned with ==")
