"""pip's --only-binary / --no-binary rules, within one file and across layers."""

from __future__ import annotations

from pathlib import Path

import pytest

from lock_build.inputs.index_options import merge_binary
from support.input_files import parse


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
