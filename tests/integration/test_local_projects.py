"""Local projects in a lock.

`-e ./project` is locked with what build_editable needs and synced as a PEP 660 editable
install that keeps pointing at the project (edits show without another sync); a plain
`./project` is a regular build that sync redoes when the tree changes."""

from __future__ import annotations

import tomllib
from pathlib import Path

from support.cli import lock_build


def test_editable_project_is_synced_in_place(
    local_index, tools_wheels: Path, venv_factory, tmp_path: Path
) -> None:  # noqa: ANN001
    local_index.add(sorted(tools_wheels.glob("*.whl")))
    local_index.add_wheel("helper", "1.0")
    project = tmp_path / "work"
    (project / "proj" / "proj").mkdir(parents=True)
    (project / "proj" / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "proj"\nversion = "0.1"\ndependencies = ["helper"]\n'
        '[tool.setuptools]\npackages = ["proj"]\n',
        encoding="utf-8",
    )
    module = project / "proj" / "proj" / "__init__.py"
    module.write_text("ANSWER = 1\n", encoding="utf-8")
    (project / "requirements.in").write_text("-e ./proj\n", encoding="utf-8")
    cache = tmp_path / "cache"

    run = lock_build("compile", "--index-url", local_index.url, "--cache-dir", cache, cwd=project)
    assert run.returncode == 0, run.stderr
    lock = tomllib.loads((project / "requirements.lock").read_text(encoding="utf-8"))
    (entry,) = [p for p in lock["package"] if p["name"] == "proj"]
    assert entry["source"] == {"editable": True, "kind": "directory", "url": "proj"}
    (build,) = [b for b in lock["build"] if b["package"] == "proj"]
    assert any(pin.startswith("setuptools==") for pin in build["pins"])

    env = venv_factory()
    run = lock_build("sync", "--python", env.python, "--cache-dir", cache, cwd=project)
    assert run.returncode == 0, run.stderr
    assert env.freeze().keys() >= {"proj", "helper"}
    show = env.run("-c", "import proj; print(proj.__file__, proj.ANSWER)")
    assert show.returncode == 0, show.stderr
    where, answer = show.stdout.split()
    assert Path(where).resolve() == module.resolve() and answer == "1"

    # An edit shows without syncing again; a second sync changes nothing.
    module.write_text("ANSWER = 2\n", encoding="utf-8")
    assert env.run("-c", "import proj; print(proj.ANSWER)").stdout.strip() == "2"
    again = lock_build(
        "sync", "--python", env.python, "--cache-dir", cache, "--dry-run", cwd=project
    )
    assert again.returncode == 0, again.stdout + again.stderr


def test_edited_local_directory_is_rebuilt(local_index, venv_factory, tmp_path: Path) -> None:  # noqa: ANN001
    import tarfile

    from support.dists import make_sdist

    sdist = make_sdist(tmp_path / "sd", "localproj", "0.1")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / "sd", filter="data")
    project = tmp_path / "work"
    project.mkdir()
    (tmp_path / "sd" / "localproj-0.1").rename(project / "localproj")
    (project / "requirements.in").write_text("./localproj\n", encoding="utf-8")
    cache = tmp_path / "cache"
    run = lock_build("compile", "--index-url", local_index.url, "--cache-dir", cache, cwd=project)
    assert run.returncode == 0, run.stderr

    env = venv_factory()
    sync = ("sync", "--python", env.python, "--cache-dir", cache)
    assert lock_build(*sync, cwd=project).returncode == 0
    assert lock_build(*sync, "--dry-run", cwd=project).returncode == 0  # nothing to do

    module = project / "localproj" / "localproj" / "__init__.py"
    module.write_text(module.read_text(encoding="utf-8") + "EDITED = True\n", encoding="utf-8")
    assert lock_build(*sync, "--dry-run", cwd=project).returncode == 1  # it would rebuild
    run = lock_build(*sync, cwd=project)
    assert run.returncode == 0, run.stderr
    assert env.run("-c", "import localproj; print(localproj.EDITED)").stdout.strip() == "True"
