"""Fuzz the lock reader and every lock-reading consumer: no input gives a traceback.

Mutated locks come two ways: bytes flipped, cut and inserted anywhere in a valid lock's
text, and TOML-level edits (a value replaced by one of another type or a hostile
string, a key dropped). Each is read; whatever reads is planned, exported in every
format and graphed. Only a LockBuildError may come out.

The default suite runs a bounded number of examples (about 20 s on the CI machine);
``LOCK_BUILD_FUZZ_EXAMPLES=N`` runs N per test, for a long run.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_lockfile_validation import TEXT

from lock_build.errors import LockBuildError
from lock_build.export import export
from lock_build.graph import render_graph
from lock_build.lockfile import Lock, loads
from lock_build.plan import make_plan
from lock_build.plan_output import plan_json, plan_text
from lock_build.plan_script import plan_script

EXAMPLES = int(os.environ.get("LOCK_BUILD_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="LOCK_BUILD_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BASE = TEXT.encode("utf-8")
DATA = tomllib.loads(TEXT)

HOSTILE_STRINGS = st.sampled_from(
    [
        "",
        "../../x",
        "/etc/passwd",
        "file:///etc/passwd",
        "$(touch pwned)",
        "a b",
        "x\x00y",
        "\u202e",
        "1.0; rm -rf ~",
        "==",
        "numpy==",
        "http://user:pw@h/x.whl",
        "é" * 3,
        "9" * 400,
    ]
)
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | HOSTILE_STRINGS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _consume(raw: bytes, tmp_dir: Path) -> None:
    """Read, then use the lock as each command does; only LockBuildError may escape."""
    try:
        lock = loads(raw, source="fuzz.lock")
    except LockBuildError as exc:
        assert exc.render().startswith("fuzz.lock"), exc.render()
        assert exc.exit_code == 2
        return
    _use(lock, tmp_dir)


def _use(lock: Lock, tmp_dir: Path) -> None:
    for step in (
        lambda: plan_json(make_plan(lock)),
        lambda: plan_text(make_plan(lock)),
        lambda: plan_script(make_plan(lock.with_absolute_files(tmp_dir))),
        *(
            lambda fmt=fmt: export(lock, fmt)
            for fmt in ("requirements", "build-constraints", "pylock")
        ),
        *(lambda fmt=fmt: render_graph(lock, fmt) for fmt in ("text", "dot", "mermaid")),
    ):
        try:
            step()
        except LockBuildError:
            pass


@st.composite
def byte_mutations(draw: st.DrawFn) -> bytes:
    data = bytearray(BASE)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        position = draw(st.integers(min_value=0, max_value=len(data)))
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip" and position < len(data):
            data[position] = draw(st.integers(min_value=0, max_value=255))
        elif action == "cut":
            del data[position : position + draw(st.integers(min_value=1, max_value=40))]
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_paths(item, (*prefix, i)))
    return found


PATHS = _paths(DATA)


@st.composite
def toml_mutations(draw: st.DrawFn) -> bytes:
    data = tomllib.loads(TEXT)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(PATHS))
        parent: Any = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(VALUES)
        except (KeyError, IndexError, TypeError):
            continue
    try:
        return tomlkit.dumps(_droppable(data)).encode("utf-8", "surrogatepass")
    except Exception:  # noqa: BLE001 - a value TOML cannot hold: fall back to the base lock
        return BASE


def _droppable(value: Any) -> Any:
    """TOML has no null: drop None, as a hand-edit leaving a key out would."""
    if isinstance(value, dict):
        return {k: _droppable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_droppable(v) for v in value if v is not None]
    return value


@FUZZ
@given(raw=byte_mutations())
def test_byte_mutated_locks_never_give_a_traceback(
    raw: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _consume(raw, tmp_path_factory.mktemp("fuzz"))


@FUZZ
@given(raw=toml_mutations())
def test_toml_mutated_locks_never_give_a_traceback(
    raw: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _consume(raw, tmp_path_factory.mktemp("fuzz"))


def test_the_base_lock_is_consumed_whole(tmp_path: Path) -> None:
    lock = loads(BASE)
    _use(lock, tmp_path)
    assert "alpha==1.0" in export(lock, "requirements").text
