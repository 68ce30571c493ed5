"""`lock-build compile` against the local index: which versions it picks and how it fails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_compile_harness import Project, assert_clean_error, make_project

from support.index import LocalIndex, LocalIndexServer


@pytest.fixture
def project(tmp_path: Path, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> Project:
    return make_project(tmp_path, local_index, monkeypatch)


@pytest.fixture
def second_index(index_server: LocalIndexServer, tmp_path: Path) -> Iterator[LocalIndex]:
    index = index_server.new_index(directory=tmp_path / "_second_index")
    yield index
    index_server.remove_index(index)


def test_backtracking_finds_the_one_consistent_set(project: Project) -> None:
    index = project.index
    # The newest alpha pins gamma==1, which beta cannot take: alpha must step back.
    index.add_wheel("alpha", "2.0", requires=["gamma==1.0"])
    index.add_wheel("alpha", "1.0", requires=["gamma>=2"])
    index.add_wheel("beta", "1.0", requires=["gamma>=2"])
    index.add_wheel("gamma", "1.0")
    index.add_wheel("gamma", "2.0")
    project.write("requirements.in", "alpha\nbeta\n")

    project.compile().ok()

    assert project.pins() == {"alpha": "1.0", "beta": "1.0", "gamma": "2.0"}


def test_conflict_is_explained_and_leaves_the_lock_untouched(project: Project) -> None:
    index = project.index
    index.add_wheel("alpha", "1.0", requires=["beta<2"])
    index.add_wheel("beta", "1.0")
    index.add_wheel("beta", "2.2")
    project.write("requirements.in", "alpha==1.0\n")
    project.compile().ok()
    before = project.read("requirements.lock")

    project.write("requirements.in", "alpha==1.0\nbeta>=2.1\n")
    run = project.compile(subprocess_=True)

    assert_clean_error(run, "alpha 1.0 requires beta<2", "beta>=2.1")
    assert "requirements.in" in run.stderr  # where the user's half of the chain comes from
    assert project.read("requirements.lock") == before


def test_conflict_through_a_chain_of_dependencies(project: Project) -> None:
    index = project.index
    index.add_wheel("app", "1.0", requires=["mid"])
    index.add_wheel("mid", "1.0", requires=["leaf==1.0"])
    index.add_wheel("leaf", "1.0")
    index.add_wheel("leaf", "2.0")
    project.write("requirements.in", "app\nleaf>=2\n")

    run = project.compile()

    # The whole chain, from the input line down to the conflicting requirement.
    assert_clean_error(
        run,
        "you asked for app (requirements.in:1) -> app 1.0 requires mid -> "
        "mid 1.0 requires leaf==1.0",
        "you asked for leaf>=2 (requirements.in:2)",
    )
    assert not (project.root / "requirements.lock").exists()


@pytest.mark.parametrize(
    ("line", "needles"),
    [
        ("nosuchpkg", ("nosuchpkg",)),
        ("alpha==9.0", ("alpha", "1.0", "2.0")),
    ],
    ids=["unknown-project", "unknown-version"],
)
def test_missing_package_names_the_index_asked(
    project: Project, line: str, needles: tuple[str, ...]
) -> None:
    project.index.add_wheel("alpha", "1.0")
    project.index.add_wheel("alpha", "2.0")
    project.write("requirements.in", line + "\n")

    run = project.compile(subprocess_=True)

    assert_clean_error(run, *needles, project.index.url)


@pytest.mark.parametrize("json_api", [True, False], ids=["pep691", "html"])
@pytest.mark.parametrize(
    ("line", "expected"),
    [("alpha", "1.0"), ("alpha>=1.5", None), ("alpha==2.0", "2.0"), ("alpha===2.0", "2.0")],
    ids=["skipped", "skipped-even-if-nothing-else-fits", "pinned", "arbitrary-equality"],
)
def test_yanked_release_is_used_only_when_pinned(
    project: Project, json_api: bool, line: str, expected: str | None
) -> None:
    project.index.json = json_api
    project.index.add_wheel("alpha", "1.0")
    project.index.add_wheel("alpha", "2.0")
    project.index.yank("alpha-2.0-py3-none-any.whl", "broken upload")
    project.write("requirements.in", line + "\n")

    run = project.compile()

    if expected is None:
        assert_clean_error(run, "alpha")
    else:
        run.ok()
        assert project.pins() == {"alpha": expected}


def test_requires_python_skips_a_newer_release(project: Project) -> None:
    project.index.add_wheel("alpha", "1.0", requires_python=">=3.8")
    project.index.add_wheel("alpha", "2.0", requires_python=">=3.99")
    project.index.add_wheel("beta", "1.0", requires=["alpha"], requires_python=">=3")
    project.write("requirements.in", "beta\n")

    project.compile().ok()

    assert project.pins() == {"alpha": "1.0", "beta": "1.0"}
    alpha = next(p for p in project.lock()["package"] if p["name"] == "alpha")
    assert alpha.get("requires-python") == ">=3.8", alpha


def test_requires_python_only_newer_is_an_error(project: Project) -> None:
    project.index.add_wheel("alpha", "2.0", requires_python=">=3.99")
    project.write("requirements.in", "alpha\n")
    assert_clean_error(project.compile(), "alpha")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ((), "2.0"),
        (("--exclude-newer", "2024-01-01"), "1.0"),
        (("--exclude-newer", "2024-06-01T12:00:00Z"), "2.0"),
    ],
    ids=["no-cutoff", "date", "rfc3339-after"],
)
def test_exclude_newer(project: Project, flags: tuple[str, ...], expected: str) -> None:
    old = project.index.add_wheel("alpha", "1.0")
    new = project.index.add_wheel("alpha", "2.0")
    project.index.set_upload_time(old.name, datetime(2023, 1, 1, tzinfo=UTC))
    project.index.set_upload_time(new.name, datetime(2024, 6, 1, tzinfo=UTC))
    project.write("requirements.in", "alpha\n")

    project.compile(*flags).ok()

    assert project.pins() == {"alpha": expected}


@pytest.mark.parametrize(
    ("line", "flags", "expected"),
    [
        ("alpha", (), "1.0"),
        ("alpha", ("--pre",), "2.0b1"),
        ("alpha>=2.0b1", (), "2.0b1"),
        ("onlypre", (), "1.0a1"),  # nothing else matches: pip takes the pre-release
    ],
    ids=["final-preferred", "--pre", "specifier-names-pre", "only-pre-exists"],
)
def test_pre_releases(project: Project, line: str, flags: tuple[str, ...], expected: str) -> None:
    project.index.add_wheel("alpha", "1.0")
    project.index.add_wheel("alpha", "2.0b1")
    project.index.add_wheel("onlypre", "1.0a1")
    project.write("requirements.in", line + "\n")

    project.compile(*flags).ok()

    assert list(project.pins().values()) == [expected]


def test_only_binary_all_refuses_an_sdist_only_package(project: Project) -> None:
    project.index.add_sdist("srconly", "1.0")
    project.write("requirements.in", "srconly\n")

    run = project.compile("--only-binary", ":all:", subprocess_=True)

    assert_clean_error(run, "srconly")
    # Clear means: it says an sdist exists and the binary policy refused it, not "no file".
    assert "only-binary" in run.stderr or "sdist" in run.stderr, run.stderr
    assert not (project.root / "requirements.lock").exists()


def test_only_binary_steps_back_to_a_release_with_a_wheel(project: Project) -> None:
    project.index.add_wheel("alpha", "1.0")
    project.index.add_sdist("alpha", "2.0")
    project.write("requirements.in", "alpha\n")

    project.compile("--only-binary", "alpha").ok()

    assert project.pins() == {"alpha": "1.0"}
    assert project.lock()["package"][0]["wheels"][0]["filename"] == "alpha-1.0-py3-none-any.whl"


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ((), "9.0"),
        (("--index-strategy", "first-index"), "1.0"),
        (("--index-strategy", "unsafe-best-match"), "9.0"),
    ],
    ids=["default-best-match", "first-index", "explicit-best-match"],
)
def test_index_strategy_with_two_indexes(
    project: Project, second_index: LocalIndex, strategy: tuple[str, ...], expected: str
) -> None:
    project.index.add_wheel("alpha", "1.0", requires=["beta"])
    # The extra index squats on alpha with a higher version (dependency confusion) and is
    # the only one that has beta.
    second_index.add_wheel("alpha", "9.0", requires=["beta"])
    second_index.add_wheel("beta", "1.0")
    project.write("requirements.in", "alpha\n")

    project.compile("--extra-index-url", second_index.url, *strategy).ok()

    assert project.pins() == {"alpha": expected, "beta": "1.0"}
    where = {p["name"]: p["wheels"][0]["index"] for p in project.lock()["package"]}
    assert where["alpha"] == (project.index.url if expected == "1.0" else second_index.url)
    assert where["beta"] == second_index.url
