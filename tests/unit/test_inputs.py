"""Requirements files, pyproject.toml and the input digest."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from packaging.version import Version

from lock_build.errors import InputError
from lock_build.inputs import (
    IndexOptions,
    InputRequirement,
    InputSet,
    default_output_path,
    load_inputs,
    merge_binary,
    parse_pyproject,
    parse_requirements_file,
)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def make_project(root: Path, name: str = "pkg") -> Path:
    project = root / name
    project.mkdir(parents=True, exist_ok=True)
    (project / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "1"\n')
    return project


def parse(tmp_path: Path, text: str, *, environ: dict[str, str] | None = None) -> InputSet:
    write(tmp_path, {"requirements.in": text})
    return parse_requirements_file(Path("requirements.in"), cwd=tmp_path, environ=environ or {})


def strings(items: tuple[InputRequirement, ...]) -> list[str]:
    return [str(r.requirement) for r in items]


# --------------------------------------------------------------------------- requirement syntax


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("numpy", "numpy"),
        ("numpy>=1.26,<2", "numpy<2,>=1.26"),
        ("Requests[socks,security] >= 2.31", "Requests[security,socks]>=2.31"),
        ('pywin32 ; sys_platform == "win32"', 'pywin32; sys_platform == "win32"'),
        (
            "foo @ https://example.org/foo-1.0.tar.gz#sha256=ab12",
            "foo@ https://example.org/foo-1.0.tar.gz#sha256=ab12",
        ),
    ],
)
def test_pep508_lines(tmp_path: Path, line: str, expected: str) -> None:
    result = parse(tmp_path, line + "\n")
    (req,) = result.requirements
    assert str(req.requirement).replace(" @ ", "@ ") == expected.replace(" @ ", "@ ")
    assert req.source == "-r requirements.in"
    assert req.location == "requirements.in:1"


def test_comments_blank_lines_and_continuations(tmp_path: Path) -> None:
    result = parse(
        tmp_path,
        """
        # a comment
        numpy>=1.26   # trailing comment

        requests \\
            >=2.31 \\
            ; python_version >= "3.8"
        https://example.org/x-1.0.tar.gz#sha256=00ff  # '#' needs whitespace before it
        six
    """,
    )
    assert strings(result.requirements) == [
        "numpy>=1.26",
        'requests>=2.31; python_version >= "3.8"',
        "x@ https://example.org/x-1.0.tar.gz#sha256=00ff".replace("@ ", " @ "),
        "six",
    ]
    assert [r.location for r in result.requirements] == [
        "requirements.in:2",
        "requirements.in:4",
        "requirements.in:7",
        "requirements.in:8",
    ]


def test_env_var_expansion_follows_pips_rule(tmp_path: Path) -> None:
    result = parse(
        tmp_path,
        "--index-url https://${USER_TOKEN}@example.org/simple\n"
        "foo==${VERSION}\n"
        "--extra-index-url https://$lowercase.example/${unset_lower}/${MISSING}\n",
        environ={"USER_TOKEN": "tok", "VERSION": "1.2", "lowercase": "x", "unset_lower": "y"},
    )
    assert result.index_options.index_url == "https://tok@example.org/simple"
    assert strings(result.requirements) == ["foo==1.2"]
    # Only ${UPPER_CASE}; unset variables stay as written.
    assert result.index_options.extra_index_urls == (
        "https://$lowercase.example/${unset_lower}/${MISSING}",
    )


def test_hashes_are_kept(tmp_path: Path) -> None:
    a, b = "AB" * 32, "ef" * 32
    result = parse(tmp_path, f"attrs==23.1 --hash=sha256:{a} --hash sha256:{b}\n")
    assert result.requirements[0].hashes == (f"sha256:{a.lower()}", f"sha256:{b}")


def test_config_settings_are_accepted_with_a_warning(tmp_path: Path) -> None:
    result = parse(tmp_path, "foo --config-settings key=value\nbar --global-option=--x\n")
    assert strings(result.requirements) == ["foo", "bar"]
    assert result.warnings == (
        "requirements.in:1: --config-settings is not supported yet and is ignored.",
        "requirements.in:2: --global-option is not supported yet and is ignored.",
    )


def test_option_lines(tmp_path: Path) -> None:
    result = parse(
        tmp_path,
        """
        -i https://idx.example/simple
        --extra-index-url https://extra.example/simple
        --extra-index-url=https://extra2.example/simple
        -f https://links.example/
        --find-links ./wheels
        --no-index
        --pre
        --prefer-binary
        --trusted-host idx.example
        --only-binary :all:
        --no-binary Foo_Bar
        --require-hashes
    """,
    )
    (tmp_path / "wheels").mkdir()
    # find-links ./wheels is taken beside the file only when it exists there; re-parse.
    result = parse_requirements_file(Path("requirements.in"), cwd=tmp_path, environ={})
    assert result.index_options == IndexOptions(
        index_url="https://idx.example/simple",
        extra_index_urls=("https://extra.example/simple", "https://extra2.example/simple"),
        find_links=("https://links.example/", str(tmp_path / "wheels")),
        no_index=True,
        pre=True,
        prefer_binary=True,
        trusted_hosts=("idx.example",),
        only_binary=(":all:",),
        no_binary=("foo-bar",),
    )
    assert result.requirements == ()


@pytest.mark.parametrize(
    ("lines", "only", "no"),
    [
        (["--only-binary :all:", "--no-binary lxml"], (":all:",), ("lxml",)),
        (["--no-binary lxml", "--only-binary :all:"], (":all:",), ()),
        (["--no-binary a,b", "--only-binary b"], ("b",), ("a",)),
        (["--no-binary a", "--no-binary :none:"], (), ()),
    ],
)
def test_binary_options_follow_pips_order_rules(
    tmp_path: Path, lines: list[str], only: tuple[str, ...], no: tuple[str, ...]
) -> None:
    opts = parse(tmp_path, "\n".join(lines) + "\n").index_options
    assert (opts.only_binary, opts.no_binary) == (only, no)


def test_merge_binary_layers() -> None:
    assert merge_binary([({"a"}, {"b"}), (set(), {"a"})]) == (frozenset(), frozenset({"a", "b"}))
    assert merge_binary([({"a"}, {"b"}), ({":all:"}, set())]) == (frozenset({":all:"}), frozenset())


# --------------------------------------------------------------------------- links and paths


def test_local_directories_editables_and_archives(tmp_path: Path) -> None:
    make_project(tmp_path, "pkg")
    make_project(tmp_path / "sub", "other")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "My_Lib-1.0.tar.gz").write_bytes(b"")
    (tmp_path / "dist" / "wheelie-2.0-py3-none-any.whl").write_bytes(b"")
    result = parse(
        tmp_path,
        """
        -e ./pkg
        -e ./pkg[dev,test]
        ./sub/other ; python_version >= "3.9"
        ./dist/My_Lib-1.0.tar.gz
        dist/wheelie-2.0-py3-none-any.whl
        named @ file://{root}/pkg
        ./pkg#egg=pkg
    """.replace("{root}", tmp_path.as_posix()),
    )
    first, second, third = result.unnamed
    assert first.editable and first.link.kind == "directory"
    assert first.link.path == tmp_path / "pkg"
    assert second.extras == {"dev", "test"} and second.editable
    assert third.link.path == tmp_path / "sub" / "other" and not third.editable
    assert str(third.marker) == 'python_version >= "3.9"'

    archive, wheel, named, egg = result.requirements
    assert archive.requirement.name == "my-lib"
    assert archive.link is not None and archive.link.kind == "archive"
    assert archive.link.version == Version("1.0")
    assert archive.requirement.url == (tmp_path / "dist" / "My_Lib-1.0.tar.gz").as_uri()
    assert wheel.requirement.name == "wheelie" and wheel.link.version == Version("2.0")
    assert named.requirement.name == "named" and named.link.kind == "directory"
    assert egg.requirement.name == "pkg" and egg.requirement.url == (tmp_path / "pkg").as_uri()


def test_unnamed_link_can_be_named_later(tmp_path: Path) -> None:
    make_project(tmp_path, "pkg")
    result = parse(tmp_path, '-e ./pkg[x] \n./pkg ; os_name == "posix"\n')
    editable = result.unnamed[0].named("pkg")
    assert editable.editable and str(editable.requirement) == (
        f"pkg[x]@ {(tmp_path / 'pkg').as_uri()}".replace("@ ", " @ ")
    )
    plain = result.unnamed[1].named("pkg")
    assert str(plain.requirement.marker) == 'os_name == "posix"'


def test_dot_project_and_bare_dot_editable(tmp_path: Path) -> None:
    make_project(tmp_path, ".")
    (tmp_path / "reqs").mkdir()
    write(tmp_path, {"reqs/dev.in": "-e ..\n"})
    result = parse_requirements_file(Path("reqs/dev.in"), cwd=tmp_path, environ={})
    (link,) = result.unnamed
    assert link.link.path == tmp_path and link.source == "-r reqs/dev.in"


@pytest.mark.parametrize(
    ("line", "name", "vcs", "revision", "subdirectory"),
    [
        ("git+https://github.com/o/bar.git@v1.0#egg=bar", "bar", "git", "v1.0", None),
        ("foo @ git+https://github.com/o/foo@main#subdirectory=py", "foo", "git", "main", "py"),
        ("git+ssh://git@github.com/o/baz.git#egg=baz", "baz", "git", None, None),
        (
            "-e git+https://github.com/o/ed.git@abc123#egg=ed&subdirectory=s",
            "ed",
            "git",
            "abc123",
            "s",
        ),
        ("hg+https://hg.example/repo@tip#egg=hgpkg", "hgpkg", "hg", "tip", None),
    ],
)
def test_vcs_links(
    tmp_path: Path,
    line: str,
    name: str,
    vcs: str,
    revision: str | None,
    subdirectory: str | None,
) -> None:
    (req,) = parse(tmp_path, line + "\n").requirements
    assert req.requirement.name == name
    assert req.link is not None
    assert (req.link.kind, req.link.vcs, req.link.revision, req.link.subdirectory) == (
        "vcs",
        vcs,
        revision,
        subdirectory,
    )
    assert "egg=" not in req.link.url
    assert req.editable == line.startswith("-e")


def test_vcs_link_without_name_is_unnamed(tmp_path: Path) -> None:
    result = parse(tmp_path, "git+https://github.com/o/anon.git@v2\n")
    assert result.requirements == ()
    assert result.unnamed[0].link.revision == "v2"


def test_remote_archive_url_takes_name_and_version_from_filename(tmp_path: Path) -> None:
    (req,) = parse(tmp_path, "https://files.example/x/Foo-2.1.zip#sha256=00ff\n").requirements
    assert req.requirement.name == "foo"
    assert req.link is not None and req.link.version == Version("2.1")
    assert req.link.url.endswith("#sha256=00ff")


# --------------------------------------------------------------------------- includes


def test_nested_includes_are_relative_to_the_including_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements.in": "-r requirements/base.in\nflask\n",
            "requirements/base.in": "-r common/core.in\n-c ../constraints.txt\nrequests\n",
            "requirements/common/core.in": "attrs\n",
            "constraints.txt": "urllib3<2\n",
        },
    )
    result = parse_requirements_file(Path("requirements.in"), cwd=tmp_path, environ={})
    assert [(str(r.requirement), r.source) for r in result.requirements] == [
        ("attrs", "-r requirements/common/core.in"),
        ("requests", "-r requirements/base.in"),
        ("flask", "-r requirements.in"),
    ]
    (constraint,) = result.constraints
    assert (str(constraint.requirement), constraint.source) == ("urllib3<2", "-c constraints.txt")
    assert constraint.location == "constraints.txt:1"
    assert [p.name for p in result.files] == [
        "requirements.in",
        "base.in",
        "core.in",
        "constraints.txt",
    ]


def test_local_paths_in_included_files_are_relative_to_that_file(tmp_path: Path) -> None:
    make_project(tmp_path / "requirements", "local")
    write(
        tmp_path,
        {"requirements.in": "-r requirements/dev.in\n", "requirements/dev.in": "-e ./local\n"},
    )
    result = parse_requirements_file(Path("requirements.in"), cwd=tmp_path, environ={})
    assert result.unnamed[0].link.path == tmp_path / "requirements" / "local"


@pytest.mark.parametrize(
    "files",
    [
        {"requirements.in": "-r requirements.in\n"},
        {"requirements.in": "-r a.in\n", "a.in": "-r sub/b.in\n", "sub/b.in": "-c ../a.in\n"},
    ],
)
def test_include_cycles_are_errors(tmp_path: Path, files: dict[str, str]) -> None:
    write(tmp_path, files)
    with pytest.raises(InputError, match="cycle: requirements.in -> "):
        parse_requirements_file(Path("requirements.in"), cwd=tmp_path, environ={})


def test_same_file_included_twice_is_not_a_cycle(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements.in": "-r a.in\n-r b.in\n",
            "a.in": "-r common.in\n",
            "b.in": "-r common.in\n",
            "common.in": "six\n",
        },
    )
    result = parse_requirements_file(Path("requirements.in"), cwd=tmp_path, environ={})
    assert strings(result.requirements) == ["six", "six"]


def test_requirement_lines_in_a_constraint_file_are_constraints(tmp_path: Path) -> None:
    write(tmp_path, {"requirements.in": "-c c.txt\n", "c.txt": "numpy==1.26.4\n"})
    result = parse_requirements_file(Path("requirements.in"), cwd=tmp_path, environ={})
    assert result.requirements == ()
    assert strings(result.constraints) == ["numpy==1.26.4"]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "six\nflask\nnumpy>>2\n",
            r"^requirements.in:3: 'numpy>>2' is not a valid requirement \(Expected ",
        ),
        ("--frobnicate\n", r"^requirements.in:1: '--frobnicate' uses option --frobnicate"),
        ("-r missing.in\n", r"Requirements file missing.in does not exist"),
        ("-r https://example.org/r.txt\n", r"includes a remote file"),
        ("--index-url\n", r"option --index-url needs a value"),
        (
            "-i https://a/simple\n-i https://b/simple\n",
            r"requirements.in:2: --index-url https://b/simple conflicts with .* "
            r"at requirements.in:1",
        ),
        ("./not-there\n", r"requirements.in:1: './not-there' names .*not-there, which does not"),
        ("-e numpy\n", r"-e needs a local directory or a VCS URL"),
        ("foo --hash=md5\n", r"not of the form sha256:<hex digest>"),
        ("--hash=sha256:00\n", r"must follow a requirement"),
        ("foo -i https://x/simple\n", r"option -i cannot follow a requirement"),
        ('foo "unclosed\n', r"is not a valid requirement"),
        ("foo ; python_versio < '3'\n", r"requirements.in:1: .* is not a valid requirement"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse(tmp_path, text)


def test_error_in_included_file_names_that_file(tmp_path: Path) -> None:
    write(tmp_path, {"requirements.in": "six\n-r sub/x.in\n", "sub/x.in": "# c\n\nbad req!\n"})
    with pytest.raises(InputError, match=r"^sub/x.in:3: 'bad req!' is not a valid requirement"):
        parse_requirements_file(Path("requirements.in"), cwd=tmp_path, environ={})


def test_directory_that_is_not_a_project(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="neither pyproject.toml nor setup.py"):
        parse(tmp_path, "./empty\n")


def test_constraints_cannot_be_unnamed_editable_or_have_extras(tmp_path: Path) -> None:
    make_project(tmp_path, "pkg")
    for text, message in (
        ("./pkg\n", "must name its project"),
        ("-e ./pkg#egg=pkg\n", "cannot be constraints"),
        ("foo[bar]<2\n", "cannot have extras"),
    ):
        write(tmp_path, {"requirements.in": "-c c.txt\n", "c.txt": text})
        with pytest.raises(InputError, match=message):
            parse_requirements_file(Path("requirements.in"), cwd=tmp_path, environ={})


# --------------------------------------------------------------------------- pyproject.toml

PYPROJECT = """
[project]
name = "My-App"
version = "1.0"
dependencies = ["requests>=2", 'numpy ; python_version >= "3.10"']

[project.optional-dependencies]
dev = ["pytest"]
Fast = ["orjson"]
all = ["my-app[dev,fast]"]

[dependency-groups]
test = ["coverage", {include-group = "lint"}]
lint = ["ruff"]
Docs_Site = ["sphinx"]
"""


def pyproject(tmp_path: Path, text: str = PYPROJECT) -> Path:
    write(tmp_path, {"pyproject.toml": text})
    return Path("pyproject.toml")


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


# --------------------------------------------------------------------------- load_inputs


def test_default_input_prefers_requirements_in(tmp_path: Path) -> None:
    pyproject(tmp_path)
    assert strings(load_inputs([], cwd=tmp_path).requirements)[0] == "requests>=2"
    write(tmp_path, {"requirements.in": "six\n"})
    assert strings(load_inputs([], cwd=tmp_path, environ={}).requirements) == ["six"]


def test_no_input_at_all(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="neither requirements.in nor pyproject.toml exists"):
        load_inputs([], cwd=tmp_path)


def test_extra_without_pyproject_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, {"requirements.in": "six\n"})
    with pytest.raises(InputError, match="--extra selects from a pyproject.toml"):
        load_inputs([Path("requirements.in")], extras=["dev"], cwd=tmp_path)
    with pytest.raises(InputError, match="--group selects from a pyproject.toml"):
        load_inputs([Path("requirements.in")], groups=["dev"], cwd=tmp_path)


def test_several_inputs_and_command_line_constraints(tmp_path: Path) -> None:
    pyproject(tmp_path)
    write(
        tmp_path,
        {
            "dev.in": "--extra-index-url https://extra/simple\n--no-binary lxml\npytest\n",
            "lint.in": "--only-binary :all:\n--extra-index-url https://extra2/simple\nruff\n",
            "c.txt": "requests<3\n",
        },
    )
    result = load_inputs(
        [Path("pyproject.toml"), Path("dev.in"), Path("lint.in")],
        constraints=[Path("c.txt")],
        extras=["dev"],
        cwd=tmp_path,
        environ={},
    )
    assert [r.source for r in result.requirements] == [
        "pyproject.toml",
        "pyproject.toml",
        "pyproject.toml (extra: dev)",
        "-r dev.in",
        "-r lint.in",
    ]
    assert [(str(c.requirement), c.source) for c in result.constraints] == [
        ("requests<3", "-c c.txt")
    ]
    assert result.index_options.extra_index_urls == (
        "https://extra/simple",
        "https://extra2/simple",
    )
    assert (result.index_options.only_binary, result.index_options.no_binary) == ((":all:",), ())


def test_conflicting_index_urls_across_inputs(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.in": "-i https://a/simple\n",
            "b.in": "--index-url https://b/simple\n",
            "c.in": "-i https://a/simple\n",
        },
    )
    load_inputs([Path("a.in"), Path("c.in")], cwd=tmp_path, environ={})
    with pytest.raises(InputError, match="two primary indexes: .*a/simple \\(a.in\\).*b.in"):
        load_inputs([Path("a.in"), Path("b.in")], cwd=tmp_path, environ={})


# --------------------------------------------------------------------------- digest

BASE = """
--index-url https://idx/simple
numpy>=1.26
requests[socks]>=2.31 ; python_version >= "3.8"
-c constraints.txt
"""


@pytest.mark.parametrize(
    "same",
    [
        "# a comment first\n" + BASE,
        "\n".join(reversed(BASE.strip().splitlines())) + "\n",
        BASE.replace("numpy>=1.26", "numpy >= 1.26   # pinned for ABI"),
        BASE.replace("requests[socks]>=2.31", "requests[socks] \\\n    >=2.31"),
        BASE.replace("numpy>=1.26", "NumPy>=1.26"),
        BASE + "\n\n   \n",
    ],
)
def test_digest_ignores_formatting(tmp_path: Path, same: str) -> None:
    write(tmp_path, {"constraints.txt": "urllib3<2\n"})
    expected = parse(tmp_path, BASE).digest()
    assert parse(tmp_path, same).digest() == expected


@pytest.mark.parametrize(
    ("changed", "constraint"),
    [
        (BASE.replace("numpy>=1.26", "numpy>=1.27"), "urllib3<2\n"),
        (BASE.replace("[socks]", ""), "urllib3<2\n"),
        (BASE.replace('>= "3.8"', '>= "3.9"'), "urllib3<2\n"),
        (BASE.replace("idx", "other"), "urllib3<2\n"),
        (BASE + "--pre\n", "urllib3<2\n"),
        (BASE + "six\n", "urllib3<2\n"),
        (BASE, "urllib3<3\n"),
        (BASE + f"six==1.16 --hash=sha256:{'0' * 64}\n", "urllib3<2\n"),
    ],
)
def test_digest_changes_with_content(tmp_path: Path, changed: str, constraint: str) -> None:
    write(tmp_path, {"constraints.txt": "urllib3<2\n"})
    before = parse(tmp_path, BASE).digest()
    write(tmp_path, {"constraints.txt": constraint})
    assert parse(tmp_path, changed).digest() != before
    assert before.startswith("sha256:") and len(before) == len("sha256:") + 64


def test_digest_does_not_depend_on_checkout_location(tmp_path: Path) -> None:
    digests = []
    for where in ("one", "two"):
        root = tmp_path / where
        make_project(root, "pkg")
        write(root, {"requirements.in": f"-e ./pkg\npkg2 @ file://{root}/pkg\n"})
        digests.append(
            parse_requirements_file(Path("requirements.in"), cwd=root, environ={}).digest()
        )
    assert digests[0] == digests[1]


def test_digest_ignores_url_credentials(tmp_path: Path) -> None:
    text = "--index-url https://${TOKEN}@idx/simple\nsix\n"
    first = parse(tmp_path, text, environ={"TOKEN": "alice:secret"}).digest()
    assert parse(tmp_path, text, environ={"TOKEN": "bob:other"}).digest() == first


# --------------------------------------------------------------------------- output path


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("requirements.in", "requirements.lock"),
        ("requirements/dev.in", "requirements/dev.lock"),
        ("pyproject.toml", "lock-build.lock"),
        ("sub/pyproject.toml", "sub/lock-build.lock"),
        ("reqs.txt", "reqs.lock"),
        ("deps", "deps.lock"),
        ("pylock.in", "pylock.lock"),
    ],
)
def test_default_output_path(given: str, expected: str) -> None:
    result = default_output_path(Path(given))
    assert result == Path(expected)
    assert not (result.name.startswith("pylock") and result.suffix == ".toml")


def test_value_types_are_frozen() -> None:
    with pytest.raises(AttributeError):
        IndexOptions().pre = True  # type: ignore[misc]


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


# --------------------------------------------------------------------------- --hash


H1, H2 = "a" * 64, "b" * 64


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"six --hash=sha256:{H1}", "must be pinned with =="),
        (f"six>=1 --hash=sha256:{H1}", "must be pinned with =="),
        (f"six==1.* --hash=sha256:{H1}", "must be pinned with =="),
        (f"six==1,<2 --hash=sha256:{H1}", "must be pinned with =="),
        (f"six==1 --hash=md5:{'a' * 32}", "checks sha256 hashes"),
        (f"six==1 --hash=sha256:{'a' * 10}", "checks sha256 hashes"),
        (f"./local-dir --hash=sha256:{H1}", "cannot check a directory"),
    ],
)
def test_hash_needs_one_pinned_file(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "local-dir").mkdir()
    (tmp_path / "local-dir" / "pyproject.toml").write_text("[project]\nname='x'\n")
    with pytest.raises(InputError) as info:
        parse(tmp_path, f"# first\n{line}\n")
    assert message in info.value.render()
    assert "requirements.in:2:" in info.value.render()


def test_required_hashes_intersect_every_line(tmp_path: Path) -> None:
    text = (
        f"six==1.16 --hash=sha256:{H1} --hash=sha256:{H2}\n"
        f"-c constraints.txt\nattrs==23.1 --hash=sha256:{H1.upper()}\nidna==3\n"
    )
    (tmp_path / "constraints.txt").write_text(f"six==1.16 --hash=sha256:{H2}\n")
    found = parse(tmp_path, text).required_hashes()
    assert found == {"six": frozenset({H2}), "attrs": frozenset({H1})}
