"""sync.bytecode: batches cut by source bytes, and the pool of target-interpreter workers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from lock_build.sync.bytecode import CompileFailed, CompilePool, Source, batches


@pytest.mark.parametrize(
    ("sizes", "limit", "expected"),
    [
        ((), 10, ()),
        ((3, 3, 3), 10, ((0, 1, 2),)),
        ((4, 4, 4), 10, ((0, 1), (2,))),
        ((5, 5, 5, 5), 10, ((0, 1), (2, 3))),
        ((25, 1, 1), 10, ((0,), (1, 2))),  # a file bigger than the limit goes alone
        ((1, 25, 1), 10, ((0,), (1,), (2,))),
        ((0, 0, 0), 0, ((0, 1, 2),)),  # empty files never start a new batch
    ],
    ids=["none", "one-batch", "cut", "even", "big-first", "big-middle", "empty-files"],
)
def test_batches_keep_the_order_and_stay_under_the_limit(
    sizes: tuple[int, ...], limit: int, expected: tuple[tuple[int, ...], ...]
) -> None:
    sources = [Source(path=f"m{i}.py", size=size) for i, size in enumerate(sizes)]
    got = batches(sources, limit)
    assert got == tuple(tuple(f"m{i}.py" for i in batch) for batch in expected)


def _modules(directory: Path, count: int) -> list[Source]:
    directory.mkdir(parents=True, exist_ok=True)
    sources = []
    for i in range(count):
        path = directory / f"mod{i}.py"
        path.write_text(f"VALUE = {i}\nNAMES = ['a{i}', 'b', '[']\n", encoding="utf-8")
        sources.append(Source(path=str(path), size=path.stat().st_size))
    return sources


def test_pool_compiles_as_compileall_does_and_skips_what_does_not_compile(
    tmp_path: Path,
) -> None:
    good = _modules(tmp_path / "pkg", 5)
    bad = tmp_path / "pkg" / "broken.py"
    bad.write_text("def broken(:\n", encoding="utf-8")
    sources = [*good, Source(path=str(bad), size=bad.stat().st_size)]
    with CompilePool(Path(sys.executable), workers=2, env={}) as pool:
        futures = pool.submit(sources)
        written = {source: pyc for f in futures for source, pyc in f.result().items()}
    expected = {s.path: importlib.util.cache_from_source(s.path) for s in good}
    assert written == expected
    assert not Path(importlib.util.cache_from_source(str(bad))).exists()
    for pyc in expected.values():  # the interpreter's own magic number: it can load them
        assert Path(pyc).read_bytes()[:4] == importlib.util.MAGIC_NUMBER


def test_same_submissions_give_the_same_pyc_bytes(tmp_path: Path) -> None:
    """Batches go to workers by the order of submission alone, not by timing: a .pyc's
    bytes depend on what its process compiled before."""
    groups = [_modules(tmp_path / f"pkg{g}", 40) for g in range(4)]

    def compile_all() -> dict[str, bytes]:
        with CompilePool(Path(sys.executable), workers=3, env={}) as pool:
            futures = [f for group in groups for f in pool.submit(group)]
            written = [pyc for f in futures for pyc in f.result().values()]
        return {pyc: Path(pyc).read_bytes() for pyc in sorted(written)}

    first = compile_all()
    assert len(first) == 160
    assert compile_all() == first


def test_a_worker_that_dies_fails_its_batches_with_what_it_said(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'no compiler here' >&2\nexit 3\n", encoding="utf-8")
    fake.chmod(0o755)
    sources = _modules(tmp_path / "pkg", 2)
    with CompilePool(fake, workers=1, env={}) as pool:
        futures = pool.submit(sources)
        with pytest.raises(CompileFailed) as info:
            futures[0].result()
    assert "no compiler here" in info.value.output
    assert str(fake) in info.value.command


def test_an_interpreter_that_cannot_start_is_a_compile_failure(tmp_path: Path) -> None:
    with pytest.raises(CompileFailed) as info:
        CompilePool(tmp_path / "missing-python", workers=2, env={})
    assert "missing-python" in info.value.command
