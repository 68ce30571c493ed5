"""Several inputs merged, the default input, and where the lock goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lock_build.errors import InputError
from lock_build.inputs.load import default_output_path, load_inputs
from support.input_files import pyproject, strings, write

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
