"""The import rules docs/architecture.md states, checked on the source tree."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "lock_build"
CONSUMERS = ("plan", "plan_output", "plan_script", "export", "graph", "sync")
# Modules inside a part that the rules treat as parts of their own: sync reads pip's
# configuration (inputs.pip_config) but never the requirement inputs.
SUBPARTS = ("inputs.pip_config",)


def _part(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "lock_build":
        return None
    inner = ".".join(parts[1:])
    for sub in SUBPARTS:
        if inner == sub or inner.startswith(sub + "."):
            return sub
    return parts[1]


def _imports() -> dict[str, set[str]]:
    """part -> the other parts it imports (a part: a top-level module or subpackage)."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).with_suffix("")
        me = _part(".".join(("lock_build", *rel.parts)))
        assert me is not None
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                part = _part(name)
                if part is not None and part != me:
                    found[me].add(part)
    return found


IMPORTS = _imports()


def test_nothing_imports_the_cli() -> None:
    assert [part for part, deps in IMPORTS.items() if "cli" in deps and part != "__main__"] == []


def test_the_parts_have_no_import_cycle() -> None:
    def visit(part: str, chain: tuple[str, ...]) -> None:
        assert part not in chain, " -> ".join((*chain, part))
        for dep in sorted(IMPORTS.get(part, ())):
            visit(dep, (*chain, part))

    for part in sorted(IMPORTS):
        visit(part, ())


@pytest.mark.parametrize(
    ("part", "forbidden"),
    [
        ("resolution", {"index", "building", "locking", "sync", "cli"}),
        *[(c, {"locking", "resolution", "inputs"}) for c in CONSUMERS],
        ("locking", set(CONSUMERS)),
        ("building", {"locking", "sync", "plan", "index"}),
        ("plan", {"sync"}),
    ],
)
def test_data_flows_one_way(part: str, forbidden: set[str]) -> None:
    assert part in IMPORTS, f"no part {part!r}: update the rules"
    assert IMPORTS[part] & forbidden == set()


# Public modules still without ``__all__``: each is being rewritten on another branch and
# gets its ``__all__`` after that lands. Shrink this set; never grow it.
_ALL_PENDING: set[str] = set()


def _public_modules_without_all() -> set[str]:
    missing = set()
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        if path.name == "__main__.py" or any(
            part.startswith("_") and part != "__init__.py" for part in rel.parts
        ):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if not tree.body:  # an empty package marker names nothing
            continue
        declared = any(
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            for node in tree.body
        )
        if not declared:
            missing.add(rel.as_posix())
    return missing


def test_public_modules_declare_all() -> None:
    assert _public_modules_without_all() - _ALL_PENDING == set()
