"""One lock for several targets: compile, sync, plan, export and graph pick theirs.

Two Python versions that exist on this machine (the one running the tests and another
found the way compile finds one: PATH, pyenv, uv), plus a foreign platform
(manylinux_2_28 on another architecture) that only wheels can serve. Where only one
local version exists, the tests that need two skip.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
from packaging.pylock import Pylock
from test_compile_harness import Project, assert_clean_error

from lock_build.errors import TargetError
from lock_build.target import target_for_interpreter
from lock_build.targets import find_interpreter, id_of
from support.index import LocalIndex

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="wheel tags written for Linux")

HERE = target_for_interpreter(Path(sys.executable))
HERE_VERSION = (sys.version_info[0], sys.version_info[1])
ARCH = HERE.platform.split("_", 3)[-1]  # x86_64 from manylinux_2_36_x86_64
FOREIGN_ARCH = "x86_64" if ARCH == "aarch64" else "aarch64"
FOREIGN = f"3.12-manylinux_2_28_{FOREIGN_ARCH}"
FOREIGN_ID = f"cp312-manylinux_2_28_{FOREIGN_ARCH}"


def _other_python() -> Path | None:
    for version in ((3, 12), (3, 13), (3, 10), (3, 11), (3, 9)):
        if version == HERE_VERSION:
            continue
        found = find_interpreter(version)
        if found is None:
            continue
        try:
            target_for_interpreter(found)
        except TargetError:  # too old for the probe
            continue
        return found
    return None


OTHER = _other_python()
needs_two = pytest.mark.skipif(OTHER is None, reason="only one local Python version")


def _short(target_python: Path) -> str:
    return target_for_interpreter(target_python).python_version


def _cp(version: str) -> str:
    return "cp" + version.replace(".", "")


@pytest.fixture(scope="module")
def index(index_server, tmp_path_factory):  # noqa: ANN001, ANN201
    """Pure wheels, a marker-selected package, a compiled package with a wheel per Python
    (and one for the foreign platform), and an sdist that needs a build."""
    idx = index_server.new_index(directory=tmp_path_factory.mktemp("targets-index"))
    idx.add_wheel("shared", "1.0")
    idx.add_wheel("shared", "2.0", requires_python=">=3.12")
    idx.add_wheel("oldonly", "1.0")
    versions = {HERE.python_version}
    if OTHER is not None:
        versions.add(_short(OTHER))
    for version in sorted(versions | {"3.12"}):
        cp = _cp(version)
        idx.add_wheel("native", "1.0", tag=f"{cp}-{cp}-manylinux_2_17_{ARCH}")
    idx.add_wheel("native", "1.0", tag=f"cp312-cp312-manylinux_2_28_{FOREIGN_ARCH}")
    # Only a newer glibc has the newer version: floors 2.17 and 2.28 then disagree.
    arch = ARCH
    idx.add_wheel("glibcdep", "1.0", tag=f"py3-none-manylinux_2_17_{arch}")
    idx.add_wheel("glibcdep", "2.0", tag=f"py3-none-manylinux_2_28_{arch}")
    idx.add_wheel("buildtool", "1.0")
    idx.add_sdist("built", "1.0", build_requires=["buildtool"])
    yield idx
    index_server.remove_index(idx)


@pytest.fixture
def project(tmp_path: Path, index: LocalIndex) -> Project:
    return Project(tmp_path / "project", index, tmp_path / "cache")


def _venv(path: Path, python: Path) -> Path:
    if python == Path(sys.executable):
        venv.EnvBuilder(with_pip=False, symlinks=True).create(path)
    else:
        subprocess.run([str(python), "-m", "venv", "--without-pip", str(path)], check=True)
    return path / "bin" / "python"


def _installed(python: Path) -> dict[str, str]:
    script = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    out = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True)
    import json

    return {k.lower(): v for k, v in json.loads(out.stdout).items()}


REQUIREMENTS = 'shared\noldonly ; python_version < "3.12"\nnative\nbuilt\n'


@needs_two
def test_two_pythons_one_lock_synced_on_both(project: Project, tmp_path: Path) -> None:
    assert OTHER is not None
    other = _short(OTHER)
    project.write("requirements.in", REQUIREMENTS)
    run = project.compile("--target", HERE.python_version, "--target", other).ok()
    lock = project.lock()
    ids = sorted(t["id"] for t in lock["target"])
    here_id, other_id = id_of(HERE), id_of(target_for_interpreter(OTHER))
    assert ids == sorted([here_id, other_id])
    packages = {(p["name"], p["version"]): p for p in lock["package"]}
    # Versions agree where both targets can use them: shared 1.0 serves both
    # unless the first target could take 2.0 (requires-python >= 3.12).
    shared = [p for (n, _), p in packages.items() if n == "shared"]
    if min(HERE_VERSION, (int(other.split(".")[0]), int(other.split(".")[1]))) >= (3, 12):
        assert len(shared) == 1
    old_pkg = packages[("oldonly", "1.0")]
    users_of_old = [i for i in ids if _version_of(lock, i) < (3, 12)]
    if users_of_old and len(users_of_old) < 2:
        assert old_pkg["targets"] == users_of_old
    native = packages[("native", "1.0")]
    assert "targets" not in native  # every target uses it
    assert {_cp(HERE.python_version), _cp(other)} <= {
        w["filename"].split("-")[2] for w in native["wheels"]
    }
    # The sdist builds identically on both: one [[build]] for every target.
    built = [b for b in lock["build"] if b["package"] == "built"]
    assert len(built) == 1 and "targets" not in built[0]
    assert "Locking for" in run.output or run.exit_code == 0

    for python, name in ((Path(sys.executable), "here"), (OTHER, "other")):
        env_python = _venv(tmp_path / name, python)
        project.run("sync", "--python", env_python, index=False).ok()
        installed = _installed(env_python)
        assert installed["native"] == "1.0" and installed["built"] == "1.0"
        assert ("oldonly" in installed) == (
            _version_of(lock, id_of(target_for_interpreter(env_python))) < (3, 12)
        )
        subprocess.run([str(env_python), "-c", "import native, built, shared"], check=True)


@needs_two
def test_a_pin_runtime_on_one_target_is_installed_there_only(
    project: Project, tmp_path: Path
) -> None:
    """buildtool is a runtime pin on the older Python only (a marker) and a build pin of
    ``built`` on both: the newer one builds with it and does not install it."""
    assert OTHER is not None
    pythons = sorted(
        ((Path(sys.executable), HERE), (OTHER, target_for_interpreter(OTHER))),
        key=lambda item: tuple(int(n) for n in item[1].python_version.split(".")),
    )
    (low_python, low), (high_python, high) = pythons
    low_id, high_id = id_of(low), id_of(high)
    project.write(
        "requirements.in", f'built\nbuildtool ; python_version == "{low.python_version}"\n'
    )
    project.compile("--target", low.python_version, "--target", high.python_version).ok()
    lock = project.lock()
    buildtool = next(p for p in lock["package"] if p["name"] == "buildtool")
    assert buildtool["runtime"] == [low_id] and "targets" not in buildtool
    # The build environments differ only in what they share with the runtime: one each.
    builds = {tuple(b["targets"]): b["shared"] for b in lock["build"] if b["package"] == "built"}
    assert builds == {(low_id,): ["buildtool"], (high_id,): []}

    for python, ident, wanted in ((low_python, low_id, True), (high_python, high_id, False)):
        env_python = _venv(tmp_path / ident, python)
        project.run("sync", "--python", env_python, index=False).ok()
        installed = _installed(env_python)
        assert installed["built"] == "1.0" and ("buildtool" in installed) == wanted, installed
        plan = project.run("plan", "--format", "json", "--target", ident, index=False).ok()
        (install,) = (s for s in json.loads(plan.stdout)["stages"] if s["stage"] == "install")
        installs = {step["name"] for step in install["packages"]}
        assert ("buildtool" in installs) == wanted
    universal = project.run("export", "--format", "requirements", index=False).ok().stdout
    assert f'buildtool==1.0 ; python_version == "{low.python_version}"' in universal

    # Dropping the older target leaves a one-target lock in which buildtool builds only.
    dropped = project.compile("--drop-target", low_id).ok()
    assert f"Dropped target {low_id}" in dropped.output
    lock = project.lock()
    assert [t["id"] for t in lock["target"]] == [high_id]
    buildtool = next(p for p in lock["package"] if p["name"] == "buildtool")
    assert buildtool["runtime"] is False and "targets" not in buildtool
    assert "--drop-target" not in project.read("requirements.lock")
    project.compile("--check").ok()
    assert_clean_error(project.compile("--drop-target", "cp39-win32"), "cp39-win32", high_id)
    assert_clean_error(project.compile("--drop-target", high_id), "without a target")


def _version_of(lock: dict, ident: str) -> tuple[int, int]:  # type: ignore[type-arg]
    target = next(t for t in lock["target"] if t["id"] == ident)
    major, minor = target["python-version"].split(".")
    return int(major), int(minor)


@needs_two
def test_universal_and_per_target_requirements_install_with_hashes(
    project: Project, tmp_path: Path
) -> None:
    assert OTHER is not None
    project.write("requirements.in", REQUIREMENTS.replace("built\n", ""))
    project.compile("--target", HERE.python_version, "--target", _short(OTHER)).ok()
    universal = project.run("export", "--format", "requirements", index=False).ok().stdout
    assert 'python_version == "' in universal
    assert "oldonly==1.0 ; python_version == " in universal or HERE_VERSION >= (3, 12)
    project.write("universal.txt", universal)
    for python, name in ((Path(sys.executable), "here"), (OTHER, "other")):
        env_python = _venv(tmp_path / name, python)
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(env_python), "install", "-q"]
            + ["--require-hashes", "--no-deps", "-r", str(project.root / "universal.txt")],
            check=True,
        )
        subprocess.run([str(env_python), "-c", "import native, shared"], check=True)
    here_id = id_of(HERE)
    single = project.run(
        "export", "--format", "requirements", "--target", here_id, index=False
    ).ok()
    assert "python_version ==" not in single.stdout and "--hash=sha256:" in single.stdout
    missing = project.run("export", "--target", "cp39-win32", index=False)
    assert_clean_error(missing, "cp39-win32", here_id)


@needs_two
def test_pylock_covers_every_target_and_uv_installs_it(project: Project, tmp_path: Path) -> None:
    assert OTHER is not None
    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        pytest.skip("uv is not installed beside the test runner")
    project.write("requirements.in", REQUIREMENTS.replace("built\n", ""))
    project.compile("--target", HERE.python_version, "--target", _short(OTHER)).ok()
    project.run("export", "--format", "pylock", "-o", "pylock.toml", index=False).ok()
    data = tomllib.loads(project.read("pylock.toml"))
    Pylock.from_dict(data).validate()
    assert len(data["environments"]) == 2
    for python, name in ((Path(sys.executable), "here"), (OTHER, "other")):
        env_python = _venv(tmp_path / name, python)
        subprocess.run(
            [str(uv), "pip", "install", "--python", str(env_python), "-r", "pylock.toml"],
            cwd=project.root,
            check=True,
            capture_output=True,
        )
        subprocess.run([str(env_python), "-c", "import native, shared"], check=True)


def test_a_foreign_platform_locks_wheels_and_refuses_builds(project: Project) -> None:
    project.write("requirements.in", "shared\nnative\n")
    project.compile("--target", FOREIGN).ok()
    lock = project.lock()
    assert [t["id"] for t in lock["target"]] == [FOREIGN_ID]
    native = next(p for p in lock["package"] if p["name"] == "native")
    assert any(FOREIGN_ARCH in w["filename"] for w in native["wheels"])

    project.write("requirements.in", "shared\nnative\nbuilt\n")
    refused = project.compile("--target", FOREIGN, "-o", "other.lock")
    assert_clean_error(refused, "built 1.0", FOREIGN_ID, "on a matching machine")
    assert not (project.root / "other.lock").exists()


def test_target_on_an_existing_lock_adds_it_and_keeps_the_others(project: Project) -> None:
    project.write("requirements.in", "shared\nnative\n")
    project.compile("--target", HERE.python_version).ok()
    first = project.lock()
    added = project.compile("--target", FOREIGN).ok()
    assert f"Kept target {id_of(HERE)}" in added.output
    lock = project.lock()
    assert sorted(t["id"] for t in lock["target"]) == sorted([id_of(HERE), FOREIGN_ID])
    here_pins = {(p["name"], p["version"]) for p in first["package"]}
    assert here_pins <= {(p["name"], p["version"]) for p in lock["package"]}
    # --check looks at every target; a compile with no target flag refreshes them all.
    project.compile("--check").ok()
    project.compile().ok()
    assert sorted(t["id"] for t in project.lock()["target"]) == sorted([id_of(HERE), FOREIGN_ID])
    project.write("requirements.in", "shared\nnative\noldonly\n")
    stale = project.compile("--check")
    assert stale.exit_code == 1 and "oldonly" in stale.output
    # Refreshing one target after the inputs changed warns that the other is stale.
    partial = project.compile("--target", FOREIGN).ok()
    assert f"kept target(s) {id_of(HERE)} still hold the old resolution" in partial.output


def test_consumers_pick_the_most_specific_floor_and_say_so(
    project: Project, tmp_path: Path
) -> None:
    arch = ARCH
    low, high = (
        f"{HERE.python_version}-manylinux_2_17_{arch}",
        f"{HERE.python_version}-manylinux_2_28_{arch}",
    )
    project.write("requirements.in", "glibcdep\n")
    project.compile("--target", high, "--target", low).ok()
    lock = project.lock()
    versions = {p["version"]: p.get("targets") for p in lock["package"] if p["name"] == "glibcdep"}
    cp = _cp(HERE.python_version)
    assert versions == {
        "2.0": [f"{cp}-manylinux_2_28_{arch}"],
        "1.0": [f"{cp}-manylinux_2_17_{arch}"],
    }

    env_python = _venv(tmp_path / "env", Path(sys.executable))
    synced = project.run("sync", "--python", env_python, index=False).ok()
    assert f"Using target {cp}-manylinux_2_28_{arch}" in synced.output
    assert _installed(env_python)["glibcdep"] == "2.0"
    named = project.run(
        "sync", "--python", env_python, "--target", f"{cp}-manylinux_2_17_{arch}", index=False
    ).ok()
    assert "glibcdep==1.0" in named.output
    graph = project.run("graph", "--target", f"{cp}-manylinux_2_17_{arch}", index=False).ok()
    assert "glibcdep 1.0" in graph.stdout or "glibcdep==1.0" in graph.stdout
    # One requirements file cannot tell the floors apart: refused, naming both.
    refused = project.run("export", "--format", "requirements", index=False)
    assert_clean_error(refused, f"{cp}-manylinux_2_17_{arch}", f"{cp}-manylinux_2_28_{arch}")


def test_no_fitting_target_lists_the_targets(project: Project, tmp_path: Path) -> None:
    project.write("requirements.in", "shared\n")
    project.compile("--target", FOREIGN, "--target", "3.12-win_amd64").ok()
    env_python = _venv(tmp_path / "env", Path(sys.executable))
    run = project.run("sync", "--python", env_python, index=False)
    assert_clean_error(run, "No target of the lock fits", FOREIGN_ID, "cp312-win_amd64")
    plan = project.run("plan", "--python", env_python, index=False)
    assert_clean_error(plan, FOREIGN_ID, "cp312-win_amd64")


def test_targets_can_come_from_the_configuration(project: Project) -> None:
    project.write("requirements.in", "shared\nnative\n")
    project.write("lock-build.toml", f'targets = ["{HERE.python_version}", "{FOREIGN}"]\n')
    project.compile().ok()
    assert sorted(t["id"] for t in project.lock()["target"]) == sorted([id_of(HERE), FOREIGN_ID])
    project.write("lock-build.toml", "targets = [3.12]\n")
    assert_clean_error(project.compile(), "targets must be a list of target specs")
