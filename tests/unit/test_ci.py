"""`.ci/run` runs the README's test command, read from the README by .ci/readme_command.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def _readme_command() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "readme_command", REPO / ".ci" / "readme_command.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_test_command_upgrades_pip_before_installing_and_ends_in_pytest() -> None:
    parts = _readme_command().command_parts((REPO / "README.md").read_text(encoding="utf-8"), 2)
    assert parts[0] == "python3 -m venv .venv"
    assert parts[1] == ".venv/bin/python -m pip install --upgrade pip"
    assert ".venv/bin/pip install -e '.[test]'" in parts
    assert parts[-1].startswith(".venv/bin/python -m pytest")


def test_ci_runs_the_command_it_reads_from_the_readme() -> None:
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 .ci/readme_command.py 2" in script
    assert "pytest -m network" in script and "summary:" in script


def test_continuation_lines_are_joined_and_split_at_and() -> None:
    readme = "x\n```sh\n# 1. first\na && \\\n  b\n\n# 2. second\nc &&   \\\n  d && e\n```\n"
    command_parts = _readme_command().command_parts
    assert command_parts(readme, 1) == ["a", "b"]
    assert command_parts(readme, 2) == ["c", "d", "e"]
