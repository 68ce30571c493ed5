"""config.py and its wiring in cli/options.py: [tool.lock-build] and lock-build.toml,
precedence flag > LOCK_BUILD_* > lock-build.toml > pyproject.toml, errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_export import SAMPLE

import lock_build.cli as cli_module
from lock_build.cli import cli
from lock_build.cli.options import command_schema
from lock_build.config import ConfigFileError, discover_config_files, load_config
from lock_build.lockfile import dumps


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cli_module._register()
    (tmp_path / ".git").mkdir()  # the repository root: discovery stops here
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOCK_BUILD_ANNOTATION_STYLE", raising=False)
    (tmp_path / "requirements.lock").write_text(dumps(SAMPLE), encoding="utf-8")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        cli_module.main(list(args))
    captured = capsys.readouterr()
    return int(info.value.code or 0), captured.out, captured.err


def _style(out: str) -> str:
    return "line" if "    # via -r requirements.in" in out and "# via\n" not in out else "split"


PYPROJECT = '[project]\nname = "x"\n\n[tool.lock-build.export]\nannotation-style = "line"\n'

PRECEDENCE = [
    # (pyproject.toml, lock-build.toml, LOCK_BUILD_ANNOTATION_STYLE, flag, expected)
    (PYPROJECT, None, None, None, "line"),
    (PYPROJECT, '[export]\nannotation-style = "split"\n', None, None, "split"),
    (None, 'annotation-style = "line"\n', None, None, "line"),  # shared at the top level
    (PYPROJECT, '[export]\nannotation-style = "split"\n', "line", None, "line"),
    (PYPROJECT, None, "split", "--annotation-style=line", "line"),
    (None, '[export]\nannotation-style = "line"\n', None, "--annotation-style=split", "split"),
]


@pytest.mark.parametrize(("pyproject", "own", "env", "flag", "expected"), PRECEDENCE)
def test_precedence_flag_env_file_pyproject(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    pyproject: str | None,
    own: str | None,
    env: str | None,
    flag: str | None,
    expected: str,
) -> None:
    if pyproject:
        (project / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    if own:
        (project / "lock-build.toml").write_text(own, encoding="utf-8")
    if env:
        monkeypatch.setenv("LOCK_BUILD_ANNOTATION_STYLE", env)
    code, out, err = run(capsys, "export", *([flag] if flag else []))
    assert code == 0, err
    assert _style(out) == expected


def test_files_are_found_in_parents_up_to_the_repository_root(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "lock-build.toml").write_text("[export]\nno-header = true\n", encoding="utf-8")
    (project.parent / "lock-build.toml").write_text("bogus = 1\n", encoding="utf-8")
    deep = project / "src" / "pkg"
    deep.mkdir(parents=True)
    assert discover_config_files(deep) == (project / "lock-build.toml",)


def test_config_option_names_the_file(
    project: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = tmp_path / "ci.toml"
    other.write_text("[export]\nno-header = true\n", encoding="utf-8")
    code, out, _ = run(capsys, "export", "--config", str(other))
    assert code == 0 and not out.startswith("#")


UNKNOWN = [
    # (file, content, what the error must name)
    ("lock-build.toml", "colour = true\n", "unknown key 'colour'"),
    ("lock-build.toml", "[compile]\nno-header = true\n", "unknown key 'compile.no-header'"),
    (
        "pyproject.toml",
        "[tool.lock-build.sync]\nupgrade = true\n",
        "unknown key 'tool.lock-build.sync.upgrade'",
    ),
    ("lock-build.toml", '[export]\nno-header = "yes"\n', "no-header must be a boolean"),
    ("lock-build.toml", "[export]\nno-emit-package = 3\n", "no-emit-package must be a string"),
]


@pytest.mark.parametrize(("name", "content", "message"), UNKNOWN)
def test_an_unknown_key_or_bad_value_is_an_error_naming_it_and_the_file(
    project: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, message: str
) -> None:
    (project / name).write_text(content, encoding="utf-8")
    code, _, err = run(capsys, "export")
    assert code == 2
    assert message in err and name in err
    assert err.count("\n") == 1  # one paragraph, no traceback


def test_reserved_keys_are_passed_through_raw(project: Path) -> None:
    (project / "lock-build.toml").write_text(
        'targets = [{python = "3.12"}]\n[compile]\nabi = {numpy = "match"}\n', encoding="utf-8"
    )
    loaded = load_config(discover_config_files(project), command_schema(cli))
    assert loaded.targets == [{"python": "3.12"}]
    assert loaded.abi == {"numpy": "match"}
    assert loaded.for_command("compile") == {}


def test_a_broken_file_is_a_config_error(project: Path) -> None:
    (project / "lock-build.toml").write_text("[export\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as info:
        load_config(discover_config_files(project), command_schema(cli))
    assert info.value.path == project / "lock-build.toml"
    assert "not valid TOML" in info.value.render()


def test_verbose_prints_each_setting_and_its_source(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (project / "lock-build.toml").write_text("[export]\nno-header = true\n", encoding="utf-8")
    monkeypatch.setenv("LOCK_BUILD_NO_ANNOTATE", "1")
    code, _, err = run(capsys, "export", "-v", "--strip-extras")
    assert code == 0
    assert "  --annotation-style = line  (pyproject.toml [tool.lock-build.export])" in err
    assert "  --no-header = True  (lock-build.toml [export])" in err
    assert "  --no-annotate = True  (environment LOCK_BUILD_NO_ANNOTATE)" in err
    assert "  --strip-extras = True  (command line)" in err
