"""`lock-build compile` reads every input form: requirements.in (includes, markers, extras,
continuations, option lines), pyproject.toml (extras, dependency groups), -c files, and finds
its default input and output."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from test_compile_harness import Project, asked_projects, assert_clean_error, make_project

from support.index import LocalIndex


@pytest.fixture
def project(tmp_path: Path, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> Project:
    return make_project(tmp_path, local_index, monkeypatch)


def test_requirements_in_with_includes_markers_extras_and_continuations(project: Project) -> None:
    index = project.index
    for version in ("1.0", "2.0"):
        index.add_wheel("alpha", version, extras={"fast": ["fastlib"]})
    index.add_wheel("fastlib", "1.0")
    for version in ("1.0", "1.5", "2.0"):
        index.add_wheel("beta", version)
    index.add_wheel("delta", "1.0")
    index.add_wheel("epsilon", "1.0")  # only constrained, never required
    project.write(
        "requirements.in",
        "# the project's direct requirements\n"
        "-r base/common.in   # an include, relative to this file\n"
        "-c constraints.txt\n"
        "\n"
        "alpha[fast] \\\n"
        "    >=1.0   # a continuation\n"
        'gamma ; python_version < "3"\n'
        'delta ; python_version >= "3"\n',
    )
    # Paths inside an included file are relative to that file, not to the working directory.
    project.write("base/common.in", "beta  # via an include\n-c pins.txt\n")
    project.write("base/pins.txt", "beta<2\n")
    project.write("constraints.txt", "alpha<2\nepsilon==1.0\n")

    project.compile("requirements.in").ok()

    assert project.pins() == {"alpha": "1.0", "fastlib": "1.0", "beta": "1.5", "delta": "1.0"}
    # gamma's marker is false for this target: it is never even looked up.
    assert "gamma" not in asked_projects(index)
    lock = project.lock()
    via = {p["name"]: p["via"] for p in lock["package"]}
    assert any("common.in" in v for v in via["beta"]), via["beta"]
    assert any("requirements.in" in v for v in via["alpha"]), via["alpha"]
    assert any("alpha" in v for v in via["fastlib"]), via["fastlib"]


def test_index_url_line_inside_the_requirements_file(project: Project) -> None:
    project.index.add_wheel("alpha", "1.0", requires=["beta"])
    project.index.add_wheel("beta", "3.0")
    project.write("requirements.in", f"--index-url {project.index.url}\nalpha\n")

    run = project.compile(index=False).ok()

    assert project.pins() == {"alpha": "1.0", "beta": "3.0"}, run.output
    files = [w for p in project.lock()["package"] for w in p["wheels"]]
    assert {f["index"] for f in files} == {project.index.url}


def test_direct_reference_to_a_local_wheel_is_hashed(project: Project, tmp_path: Path) -> None:
    from support.dists import make_wheel

    wheel = make_wheel(tmp_path / "elsewhere", "localpkg", "0.3", requires=["beta"])
    project.index.add_wheel("beta", "1.0")
    project.write("requirements.in", f"localpkg @ {wheel.as_uri()}\n")

    project.compile().ok()

    assert project.pins() == {"localpkg": "0.3", "beta": "1.0"}
    entry = next(p for p in project.lock()["package"] if p["name"] == "localpkg")
    artifact = (entry.get("wheels") or [None])[0] or entry.get("sdist") or {}
    assert artifact.get("sha256") == hashlib.sha256(wheel.read_bytes()).hexdigest(), entry


PYPROJECT = """\
[project]
name = "myproj"
version = "0.1"
dependencies = ["alpha"]

[project.optional-dependencies]
fast = ["beta"]
docs = ["gamma"]

[dependency-groups]
test = ["delta", {include-group = "lint"}]
lint = ["epsilon"]
"""


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ((), {"alpha"}),
        (("--extra", "fast"), {"alpha", "beta"}),
        (("--all-extras",), {"alpha", "beta", "gamma"}),
        (("--group", "test"), {"alpha", "delta", "epsilon"}),
        (("--extra", "docs", "--group", "lint"), {"alpha", "gamma", "epsilon"}),
    ],
    ids=["plain", "extra", "all-extras", "group-with-include", "extra-and-group"],
)
def test_pyproject_extras_and_groups(
    project: Project, flags: tuple[str, ...], expected: set[str]
) -> None:
    for name in ("alpha", "beta", "gamma", "delta", "epsilon"):
        project.index.add_wheel(name, "1.0")
    project.write("pyproject.toml", PYPROJECT)

    project.compile("pyproject.toml", *flags).ok()

    assert set(project.pins("lock-build.lock")) == expected


def test_extra_without_a_pyproject_is_an_error(project: Project) -> None:
    project.index.add_wheel("alpha", "1.0")
    project.write("requirements.in", "alpha\n")
    assert_clean_error(project.compile("requirements.in", "--extra", "fast"), "--extra")
    assert not (project.root / "requirements.lock").exists()


def test_constraint_file_on_the_command_line(project: Project) -> None:
    for version in ("1.0", "2.0", "3.0"):
        project.index.add_wheel("alpha", version)
    project.write("requirements.in", "alpha\n")
    project.write("c/cons.txt", "alpha<3\n")

    project.compile("-c", "c/cons.txt").ok()

    assert project.pins() == {"alpha": "2.0"}


@pytest.mark.parametrize(
    ("files", "args", "output"),
    [
        (("requirements.in",), (), "requirements.lock"),
        (("pyproject.toml",), (), "lock-build.lock"),
        (("requirements.in", "pyproject.toml"), (), "requirements.lock"),
        (("requirements/dev.in",), ("requirements/dev.in",), "requirements/dev.lock"),
        (("pyproject.toml",), ("pyproject.toml",), "lock-build.lock"),
    ],
    ids=["requirements.in", "pyproject", "both-prefer-requirements.in", "nested", "explicit-toml"],
)
def test_default_input_and_output_names(
    project: Project, files: tuple[str, ...], args: tuple[str, ...], output: str
) -> None:
    project.index.add_wheel("alpha", "1.0")
    for name in files:
        if name.endswith(".toml"):
            project.write(name, '[project]\nname = "p"\nversion = "1"\ndependencies = ["alpha"]\n')
        else:
            project.write(name, "alpha\n")

    project.compile(*args).ok()

    written = sorted(str(p.relative_to(project.root)) for p in project.root.rglob("*.lock"))
    assert written == [output]
    assert project.pins(output) == {"alpha": "1.0"}
    assert not list(project.root.rglob("pylock*"))


def test_no_input_at_all_is_an_error(project: Project) -> None:
    assert_clean_error(project.compile(), "requirements.in", "pyproject.toml")


@pytest.mark.parametrize(
    ("files", "location"),
    [
        ({"requirements.in": "alpha\n# fine\nbeta >>= 1\n"}, "requirements.in:3"),
        ({"requirements.in": "-r sub/more.in\n", "sub/more.in": "alpha\nbeta[\n"}, "more.in:2"),
        # A continuation: the error names the line the logical line starts on (pip's rule).
        ({"requirements.in": "alpha\nbeta \\\n  ==1.0 ;; bad\n"}, "requirements.in:2"),
        (
            {"pyproject.toml": '[project]\nname = "p"\nversion = "1"\ndependencies = ["a>>=1"]\n'},
            "pyproject.toml:4",
        ),
    ],
    ids=["top-level", "included", "continued", "pyproject"],
)
def test_malformed_requirement_names_file_and_line(
    project: Project, files: dict[str, str], location: str
) -> None:
    for name, text in files.items():
        project.write(name, text)

    run = project.compile(subprocess_=True)

    assert_clean_error(run, location)
    assert not list(project.root.rglob("*.lock"))


def _marker_world(index: LocalIndex) -> None:
    index.add_wheel(
        "alpha",
        "1.0",
        requires=[
            'beta[x] ; python_version >= "3"',
            'gamma ; sys_platform == "no-such-platform"',
            "delta[y,z]",
        ],
    )
    index.add_wheel("beta", "1.0", extras={"x": ["zeta"], "unused": ["eta"]})
    index.add_wheel(
        "delta",
        "1.0",
        extras={"y": ['theta ; python_version >= "3"'], "z": ['iota ; python_version < "3"']},
    )
    for name in ("zeta", "theta"):
        index.add_wheel(name, "1.0")


def test_markers_and_extras_in_metadata(project: Project) -> None:
    _marker_world(project.index)
    project.write("requirements.in", "alpha\n")

    project.compile().ok()

    assert set(project.pins()) == {"alpha", "beta", "zeta", "delta", "theta"}
    via = {p["name"]: p["via"] for p in project.lock()["package"]}
    assert any("beta" in v for v in via["zeta"]), via["zeta"]
    assert any("delta" in v for v in via["theta"]), via["theta"]


def test_dependencies_excluded_by_markers_or_extras_are_not_fetched(project: Project) -> None:
    """gamma (false marker), eta (an extra nobody asked for) and iota (an asked-for extra's
    requirement with a false marker) are not part of the target's tree: asking the index for
    them costs a round trip each and tells the index names the project never uses."""
    _marker_world(project.index)
    project.write("requirements.in", "alpha\n")

    project.compile().ok()

    assert {"gamma", "eta", "iota"} & asked_projects(project.index) == set()


@pytest.mark.parametrize("line", ["./localproj", "-e ./localproj", "localproj @ file:./localproj"])
def test_local_project_directory(project: Project, tmp_path: Path, line: str) -> None:
    import tarfile

    from support.dists import make_sdist

    sdist = make_sdist(tmp_path / "sd", "localproj", "0.1", requires=["beta"])
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / "sd", filter="data")
    (tmp_path / "sd" / "localproj-0.1").rename(project.root / "localproj")
    project.index.add_wheel("beta", "1.0")
    project.write("requirements.in", line + "\n")

    project.compile().ok()

    assert project.pins() == {"localproj": "0.1", "beta": "1.0"}
    entry = next(p for p in project.lock()["package"] if p["name"] == "localproj")
    assert entry["source"]["kind"] == "directory", entry
    assert entry["source"].get("editable", False) == line.startswith("-e"), entry
    assert "sha256" not in str(entry), entry


def test_git_reference_is_pinned_to_a_commit(project: Project, tmp_path: Path) -> None:
    import shutil
    import subprocess
    import tarfile

    from support.dists import make_sdist

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    sdist = make_sdist(tmp_path / "sd", "gitproj", "0.2", requires=["beta"])
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / "sd", filter="data")
    repo = tmp_path / "sd" / "gitproj-0.2"

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=repo,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "one")
    git("tag", "v0.2")
    commit = git("rev-parse", "HEAD")
    project.index.add_wheel("beta", "1.0")
    project.write("requirements.in", f"gitproj @ git+{repo.as_uri()}@v0.2\n")

    project.compile().ok()

    assert project.pins() == {"gitproj": "0.2", "beta": "1.0"}
    entry = next(p for p in project.lock()["package"] if p["name"] == "gitproj")
    # A tag moves; the lock records the commit it named, and no hash (a VCS checkout).
    assert entry["source"] == {"kind": "vcs", "url": repo.as_uri(), "commit": commit}
    assert "sha256" not in str(entry)
