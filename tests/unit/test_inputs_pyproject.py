"""pyproject.toml: dependencies, extras, dependency groups, dynamic dependencies."""

from __future__ import annotations

from pathlib import Path

import pytest

from lock_build.errors import InputError
from lock_build.inputs.pyproject import parse_pyproject
from support.input_files import make_project, pyproject, strings


def test_pyproject_dependencies(tmp_path: Path) -> None:
    result = parse_pyproject(pyproject(tmp_path), cwd=tmp_path)
    assert strings(result.requirements) == ["requests>=2", 'numpy; python_version >= "3.10"']
    assert {r.source for r in result.requirements} == {"pyproject.toml"}
    assert result.requirements[0].location == "pyproject.toml:4"


def test_pyproject_extras_and_groups(tmp_path: Path) -> None:
    result = parse_pyproject(
        pyproject(tmp_path), extras=["FAST"], groups=["test", "docs-site"], cwd=tmp_path
    )
    assert [(str(r.requirement), r.source) for r in result.requirements[2:]] == [
        ("orjson", "pyproject.toml (extra: fast)"),
        ("coverage", "pyproject.toml (group: test)"),
        ("ruff", "pyproject.toml (group: lint)"),
        ("sphinx", "pyproject.toml (group: docs-site)"),
    ]


def test_all_extras_expands_self_references(tmp_path: Path) -> None:
    result = parse_pyproject(pyproject(tmp_path), all_extras=True, cwd=tmp_path)
    names = [r.requirement.name for r in result.requirements]
    assert names == ["requests", "numpy", "pytest", "orjson", "pytest", "orjson"]
    assert "my-app" not in {r.name for r in result.requirements}
    only_all = parse_pyproject(pyproject(tmp_path), extras=["all"], cwd=tmp_path)
    assert [(r.requirement.name, r.source) for r in only_all.requirements[2:]] == [
        ("pytest", "pyproject.toml (extra: all)"),
        ("orjson", "pyproject.toml (extra: all)"),
    ]


def test_unknown_extra_lists_the_extras_that_exist(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"has no extra 'nope'; it defines 'Fast', 'all', 'dev'"):
        parse_pyproject(pyproject(tmp_path), extras=["nope"], cwd=tmp_path)


@pytest.mark.parametrize(
    ("groups_toml", "wanted", "message"),
    [
        (
            'a = [{include-group = "b"}]\nb = [{include-group = "a"}]',
            "a",
            "include each other: a -> b -> a",
        ),
        ('a = [{include-group = "a"}]', "a", "include each other: a -> a"),
        ('a = ["x"]', "b", "has no dependency group 'b'; it defines 'a'"),
        ('a = [{include-group = "zzz"}]', "a", "no dependency group 'zzz' \\(included by 'a'\\)"),
        ('a = [{include = "b"}]', "a", "must be a string or"),
        ('a = ["x"]\nA = ["y"]', "a", "same normalized name"),
        ('a = ["x", "bad req ("]', "a", "pyproject.toml:6: 'bad req \\(' is not a valid"),
        ('a = "x"', "a", "each entry of dependency-groups.a must be a string or"),
    ],
)
def test_dependency_group_errors(
    tmp_path: Path, groups_toml: str, wanted: str, message: str
) -> None:
    path = pyproject(
        tmp_path,
        '[project]\nname = "p"\nversion = "1"\n\n[dependency-groups]\n' + groups_toml + "\n",
    )
    with pytest.raises(InputError, match=message):
        parse_pyproject(path, groups=[wanted], cwd=tmp_path)


def test_groups_without_a_project_table(tmp_path: Path) -> None:
    path = pyproject(tmp_path, '[dependency-groups]\ndev = ["black"]\n')
    assert strings(parse_pyproject(path, groups=["dev"], cwd=tmp_path).requirements) == ["black"]
    with pytest.raises(InputError, match="no \\[project\\] table"):
        parse_pyproject(path, cwd=tmp_path)


DYNAMIC = [
    # (the [project] table, --extra, expected DynamicProject fields, static requirements)
    ('dynamic = ["version", "dependencies"]\n', (), {"dependencies": True, "extras": ()}, []),
    (
        'dynamic = ["dependencies", "optional-dependencies"]\n',
        ("Fast",),
        {"dependencies": True, "extras": ("fast",)},
        [],
    ),
    (
        'dependencies = ["a"]\ndynamic = ["optional-dependencies"]\n',
        ("fast",),
        {"dependencies": False, "extras": ("fast",)},
        ["a"],
    ),
]


@pytest.mark.parametrize(("table", "extras", "expected", "static"), DYNAMIC)
def test_dynamic_dependencies_are_left_to_the_backend(
    tmp_path: Path,
    table: str,
    extras: tuple[str, ...],
    expected: dict[str, object],
    static: list[str],
) -> None:
    path = pyproject(tmp_path, '[project]\nname = "P"\n' + table)
    parsed = parse_pyproject(path, extras=extras, cwd=tmp_path)
    (project,) = parsed.dynamic
    assert (project.name, project.directory, project.source) == ("p", tmp_path, "pyproject.toml")
    assert {k: getattr(project, k) for k in expected} == expected
    assert strings(parsed.requirements) == static
    static_digest = parse_pyproject(
        pyproject(tmp_path / "s", '[project]\nname = "p"\n'), cwd=tmp_path / "s"
    )
    assert parsed.digest() != static_digest.digest()


def test_dynamic_dependencies_need_a_project_name(tmp_path: Path) -> None:
    path = pyproject(tmp_path, '[project]\ndynamic = ["name", "dependencies"]\n')
    with pytest.raises(InputError, match="no \\[project\\].name"):
        parse_pyproject(path, cwd=tmp_path)


def test_malformed_toml_names_the_line(tmp_path: Path) -> None:
    path = pyproject(tmp_path, '[project]\nname = "p"\ndependencies = ["a",\n  oops]\n')
    with pytest.raises(InputError, match=r"pyproject.toml is not valid TOML: .*line 4"):
        parse_pyproject(path, cwd=tmp_path)


def test_bad_requirement_in_pyproject_names_its_line(tmp_path: Path) -> None:
    path = pyproject(
        tmp_path,
        '[project]\nname = "p"\nversion = "1"\ndependencies = [\n  "ok",\n  "numpy>>2",\n]\n',
    )
    with pytest.raises(InputError, match=r"^pyproject.toml:6: 'numpy>>2' is not a valid"):
        parse_pyproject(path, cwd=tmp_path)


def test_pyproject_direct_references(tmp_path: Path) -> None:
    make_project(tmp_path, "local")
    path = pyproject(
        tmp_path,
        '[project]\nname = "p"\nversion = "1"\ndependencies = [\n'
        f'  "local @ {(tmp_path / "local").as_uri()}",\n'
        '  "vcs @ git+https://example.org/vcs.git@v1",\n]\n',
    )
    local, vcs = parse_pyproject(path, cwd=tmp_path).requirements
    assert local.link is not None and local.link.kind == "directory"
    assert vcs.link is not None and vcs.link.revision == "v1"
    bare = pyproject(tmp_path, '[project]\nname = "p"\nversion = "1"\ndependencies = ["./local"]\n')
    with pytest.raises(InputError, match="pyproject.toml:4: './local' is not a valid requirement"):
        parse_pyproject(bare, cwd=tmp_path)
