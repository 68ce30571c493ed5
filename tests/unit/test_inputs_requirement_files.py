"""Requirements files: continuations, ${VAR}s, option lines, includes, errors, --hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from lock_build.errors import InputError
from lock_build.inputs.index_options import IndexOptions
from lock_build.inputs.requirement_files import parse_requirements_file
from support.input_files import make_project, parse, strings, write


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
    with pytest.raises(InputError, match=message) as info:
        parse(tmp_path, text)
    # The line is data too (each text's fault is on its last line); the message starts with it.
    assert info.value.location == f"requirements.in:{text.count(chr(10))}"
    assert info.value.message.startswith(f"{info.value.location}: ")


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
