"""pip's rules, row by row: each scenario is compiled by lock-build and dry-run by pip on
the same local index (or find-links directory), and the two must choose the same versions
or both fail.

pip is the tool wheel the suite already uses (`tools_wheels`), run from the wheel file
through its command line: `pip install --dry-run --report - --ignore-installed`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_compile_harness import Project, make_project

from support import dists
from support.index import LocalIndex
from support.venvs import VirtualEnv

Layout = Callable[[LocalIndex, Path], None]


@dataclass(frozen=True, kw_only=True, slots=True)
class Row:
    """One scenario: files, requirements, where they are served, what both tools pick."""

    layout: Layout
    requirements: str
    expected: dict[str, str] | None  # None: both must fail
    find_links: bool = False  # serve the files as a find-links directory, no index
    page_requires_python: bool = True  # the index states Requires-Python on its page
    lock_build_says: tuple[str, ...] = ()  # on lock-build's stderr
    pip_says: tuple[str, ...] = ()  # on pip's stderr
    not_said: tuple[str, ...] = field(default=())  # on neither


def _requires_python_newest(kind: str) -> Layout:
    """a 2.0's own metadata says Requires-Python >=3.30; a 1.0 has none."""

    def layout(index: LocalIndex, links: Path) -> None:
        dest = links if links.exists() else index.files_dir
        make = dists.make_wheel if kind == "wheel" else dists.make_sdist
        extra = {"metadata_version": "2.1"} if kind == "built-sdist" else {}
        make(dest, "alpha", "1.0", **extra)
        make(dest, "alpha", "2.0", requires_python=">=3.30", **extra)

    return layout


def _index_disagrees(index: LocalIndex, links: Path) -> None:
    """The page says a 2.0 runs anywhere; the file itself says Requires-Python >=3.30."""
    _requires_python_newest("wheel")(index, links)
    index.requires_python_overrides["alpha-2.0-py3-none-any.whl"] = ">=3"


def _dependency_backtracks(index: LocalIndex, links: Path) -> None:
    del links
    index.add_wheel("app", "2.0", requires=["alpha==2.0"])
    index.add_wheel("app", "1.0", requires=["alpha==1.0"])
    index.add_wheel("alpha", "2.0", requires_python=">=3.30")
    index.add_wheel("alpha", "1.0")


def _pre_after_backtracking(index: LocalIndex, links: Path) -> None:
    """alpha 1.0 is pinned first, then found (through gamma) to need beta 2.0, which the
    input excludes: backtracking removes alpha 1.0, and only alpha 2.0b1 would be left."""
    del links
    index.add_wheel("alpha", "1.0", requires=["gamma"])
    index.add_wheel("alpha", "2.0b1")
    index.add_wheel("gamma", "1.0", requires=["beta==2.0"])
    index.add_wheel("beta", "1.0")
    index.add_wheel("beta", "2.0")


def _pre_only(index: LocalIndex, links: Path) -> None:
    del links
    index.add_wheel("alpha", "2.0b1")


def _pre_and_final(index: LocalIndex, links: Path) -> None:
    del links
    index.add_wheel("alpha", "1.0")
    index.add_wheel("alpha", "2.0b1")


def _pre_named_by_dependency(index: LocalIndex, links: Path) -> None:
    del links
    index.add_wheel("app", "1.0", requires=["alpha>=2.0b1"])
    index.add_wheel("alpha", "1.0")
    index.add_wheel("alpha", "2.0b1")


def _yanked_newest(index: LocalIndex, links: Path) -> None:
    del links
    index.add_wheel("alpha", "1.0")
    index.yank(index.add_wheel("alpha", "2.0").name, "broken build")


def _all_yanked(index: LocalIndex, links: Path) -> None:
    del links
    index.yank(index.add_wheel("alpha", "1.0").name)
    index.yank(index.add_wheel("alpha", "2.0").name, "broken build")


def _extras(index: LocalIndex, links: Path) -> None:
    del links
    index.add_wheel("alpha", "1.0", extras={"cli": ["beta"], "docs": []})
    index.add_wheel("beta", "1.0")


ROWS = {
    "requires-python-find-links-wheel": Row(
        layout=_requires_python_newest("wheel"),
        requirements="alpha\n",
        expected={"alpha": "1.0"},
        find_links=True,
    ),
    "requires-python-find-links-sdist-pkg-info": Row(
        layout=_requires_python_newest("sdist"),
        requirements="alpha\n",
        expected={"alpha": "1.0"},
        find_links=True,
    ),
    "requires-python-index-without-attribute-wheel": Row(
        layout=_requires_python_newest("wheel"),
        requirements="alpha\n",
        expected={"alpha": "1.0"},
        page_requires_python=False,
    ),
    "requires-python-index-without-attribute-built-sdist": Row(
        layout=_requires_python_newest("built-sdist"),
        requirements="alpha\n",
        expected={"alpha": "1.0"},
        page_requires_python=False,
    ),
    "requires-python-index-says-yes-the-file-says-no": Row(
        layout=_index_disagrees, requirements="alpha\n", expected={"alpha": "1.0"}
    ),
    "requires-python-backtracks-the-dependent": Row(
        layout=_dependency_backtracks,
        requirements="app\n",
        expected={"app": "1.0", "alpha": "1.0"},
        page_requires_python=False,
    ),
    "requires-python-nothing-fits": Row(
        layout=_requires_python_newest("wheel"),
        requirements="alpha>=2\n",
        expected=None,
        page_requires_python=False,
        lock_build_says=("why each was rejected: 2.0 (its metadata requires Python >=3.30",),
    ),
    "pre-release-after-backtracking": Row(
        layout=_pre_after_backtracking,
        requirements="alpha\nbeta<2\n",
        expected=None,
        lock_build_says=("gamma 1.0 requires beta==2.0",),
    ),
    "pre-release-the-only-release": Row(
        layout=_pre_only, requirements="alpha\n", expected={"alpha": "2.0b1"}
    ),
    "pre-release-the-only-match": Row(
        layout=_pre_and_final, requirements="alpha>1.0\n", expected={"alpha": "2.0b1"}
    ),
    "pre-release-not-without-opt-in": Row(
        layout=_pre_and_final, requirements="alpha\n", expected={"alpha": "1.0"}
    ),
    "pre-release-named-by-a-dependency": Row(
        layout=_pre_named_by_dependency,
        requirements="app\nalpha\n",
        expected={"app": "1.0", "alpha": "2.0b1"},
    ),
    "yanked-exact-pin": Row(
        layout=_yanked_newest,
        requirements="alpha==2.0\n",
        expected={"alpha": "2.0"},
        lock_build_says=("alpha 2.0 is yanked (reason: broken build)",),
        pip_says=("yanked", "broken build"),
    ),
    "yanked-skipped-without-a-pin": Row(
        layout=_yanked_newest,
        requirements="alpha\n",
        expected={"alpha": "1.0"},
        not_said=("yanked",),
    ),
    "all-versions-yanked": Row(
        layout=_all_yanked,
        requirements="alpha\n",
        expected=None,
        lock_build_says=(
            "every version of alpha is yanked: 2.0 (reason: broken build), 1.0 (no reason given)",
        ),
    ),
    "unknown-extra": Row(
        layout=_extras,
        requirements="alpha[nope]\n",
        expected={"alpha": "1.0"},
        lock_build_says=("alpha 1.0 does not provide the extra 'nope' (its extras: cli, docs)",),
        pip_says=("does not provide the extra 'nope'",),
    ),
}


@pytest.fixture
def project(tmp_path: Path, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> Project:
    return make_project(tmp_path, local_index, monkeypatch)


def _pip(wheels: Path, project: Project, args: list[str]) -> tuple[dict[str, str] | None, str]:
    """pip's choice (name -> version) or None when it fails, and its stderr."""
    pip = next(wheels.glob("pip-*.whl")) / "pip"
    env = {
        **os.environ,
        "PIP_NO_INPUT": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_CACHE_DIR": "1",
    }
    run = subprocess.run(
        [sys.executable, str(pip), "install", "--dry-run", "--quiet", "--report", "-"]
        + ["--ignore-installed", "-r", "requirements.in", *args],
        cwd=project.root,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    if run.returncode != 0:
        return None, run.stderr
    report = json.loads(run.stdout)
    chosen = {i["metadata"]["name"]: i["metadata"]["version"] for i in report["install"]}
    return chosen, run.stderr


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_lock_build_chooses_what_pip_chooses(
    row: Row, project: Project, tools_wheels: Path
) -> None:
    links = project.root / "links"
    if row.find_links:
        links.mkdir(parents=True)
    project.index.requires_python = row.page_requires_python
    row.layout(project.index, links)
    project.write("requirements.in", row.requirements)
    where = (
        ["--no-index", "--find-links", str(links)]
        if row.find_links
        else ["--index-url", project.index.url]
    )

    run = project.compile(*where, index=False)
    pip_chose, pip_stderr = _pip(tools_wheels, project, where)

    ours = project.pins() if run.exit_code == 0 else None
    assert ours == row.expected, run.output
    assert pip_chose == row.expected, pip_stderr
    if row.expected is None:
        assert run.exit_code == 2 and "Traceback" not in run.output, run.output
    for needle in row.lock_build_says:
        assert needle in run.stderr, run.stderr
    for needle in row.pip_says:
        assert needle in pip_stderr, pip_stderr
    for needle in row.not_said:
        assert needle not in run.stderr and needle not in pip_stderr


@pytest.mark.parametrize(
    ("build_requires", "expected"),
    [
        pytest.param(["tool"], "1.0", id="final-without-opt-in"),
        pytest.param(["tool>=2.0b1"], "2.0b1", id="named-by-the-build-requirement"),
        # tool 1.0 is pinned first; mid then needs zhelper 2.0, which is excluded.
        pytest.param(["tool", "zhelper<2"], None, id="not-after-backtracking"),
    ],
)
def test_build_requirements_follow_the_same_pre_release_rules(
    project: Project, build_requires: list[str], expected: str | None
) -> None:
    index = project.index
    index.add_sdist("pkg", "1.0", build_requires=build_requires)
    index.add_wheel("tool", "1.0", requires=["mid"])
    index.add_wheel("tool", "2.0b1")
    index.add_wheel("mid", "1.0", requires=["zhelper==2.0"])
    index.add_wheel("zhelper", "1.0")
    index.add_wheel("zhelper", "2.0")
    project.write("requirements.in", "pkg\n")

    run = project.compile()

    if expected is None:
        assert run.exit_code == 2, run.output
        assert "mid 1.0 requires zhelper==2.0" in run.stderr, run.stderr
        return
    run.ok()
    (build,) = project.lock()["build"]
    assert f"tool=={expected}" in build["pins"]


def test_a_yanked_pin_is_recorded_and_repeated_by_sync_plan_and_export(
    project: Project, venv_factory: Callable[..., VirtualEnv]
) -> None:
    _yanked_newest(project.index, project.root / "links")
    project.write("requirements.in", "alpha==2.0\n")
    compiled = project.compile().ok()
    (wheel,) = project.lock()["package"][0]["wheels"]
    assert wheel["yanked"] == "broken build"
    said = "alpha 2.0 is yanked (reason: broken build)"
    assert said in compiled.stderr

    env = {"PIP_INDEX_URL": project.index.url}
    exported = project.run("export", "--format", "requirements", index=False).ok()
    planned = project.run("plan", index=False).ok()
    synced = project.run(
        "sync", "--dry-run", "--python", venv_factory().python, index=False, env=env
    )
    assert synced.exit_code == 1, synced.output  # the dry run would install alpha
    for run in (exported, planned, synced):
        assert said in run.stderr, run.stderr
