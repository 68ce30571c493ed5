"""Small trees for the inputs tests: files, a project, a requirements.in, a pyproject.toml."""

from __future__ import annotations

import textwrap
from pathlib import Path

from lock_build.inputs import InputRequirement, InputSet, parse_requirements_file

__all__ = ["PYPROJECT", "make_project", "parse", "pyproject", "strings", "write"]


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
