"""The unpack workers' protocol: a wheel unpacked as in process, errors as messages."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from lock_build.sync.unpack_pool import UnpackFailed, UnpackPool, serve
from support.dists import make_wheel


def _scheme(root: Path) -> dict[str, str]:
    return {key: str(root / key) for key in ("purelib", "platlib", "scripts", "data")}


def test_serve_answers_each_request_on_its_own_line(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0", files={"demo/util.py": "X = 1\n"})
    request = {
        "wheel": str(wheel),
        "scheme": _scheme(tmp_path / "t"),
        "headers_base": str(tmp_path / "t" / "include"),
        "interpreter": "/usr/bin/python3",
        "metadata": {"INSTALLER": "lock-build\n"},
    }
    missing = {**request, "wheel": str(tmp_path / "missing-1.0-py3-none-any.whl")}
    replies = io.StringIO()
    serve(io.StringIO(json.dumps(request) + "\n" + json.dumps(missing) + "\n"), replies)
    good, bad = (json.loads(line) for line in replies.getvalue().splitlines())
    purelib = tmp_path / "t" / "purelib"
    assert good["record"] == str(purelib / "demo-1.0.dist-info" / "RECORD")
    assert [Path(p).relative_to(purelib).as_posix() for p, _ in good["sources"]] == [
        "demo/__init__.py",
        "demo/util.py",
    ]
    assert (purelib / "demo-1.0.dist-info" / "INSTALLER").read_text() == "lock-build\n"
    assert "missing-1.0-py3-none-any.whl" in bad["error"]


def _pool_job(tmp_path: Path) -> dict[str, Any]:
    """Where a pool job unpacks to, under ``tmp_path``."""
    return {
        "scheme": _scheme(tmp_path / "t"),
        "headers_base": str(tmp_path / "inc"),
        "interpreter": "/usr/bin/python3",
        "additional_metadata": {},
    }


def test_a_pool_unpacks_and_reports_a_bad_wheel_without_stopping(tmp_path: Path) -> None:
    wheels = [make_wheel(tmp_path / "w", f"demo{i}", "1.0") for i in range(3)]
    bad = tmp_path / "w" / "broken-1.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    job = _pool_job(tmp_path)
    with UnpackPool(workers=2, env=os.environ) as pool:
        futures = [pool.submit(str(w), **job) for w in (*wheels, bad)]
        records = [f.result()[0] for f in futures[:3]]
        with pytest.raises(UnpackFailed) as info:
            futures[3].result()
        assert "not a zip file" in info.value.message.lower()
        later = pool.submit(str(wheels[0]), **job)  # the workers go on
        assert later.result()[0] == records[0]
    assert all(Path(r).is_file() for r in records)


def test_a_worker_that_dies_fails_its_wheels_with_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lock_build.sync import unpack_pool

    monkeypatch.setattr(unpack_pool, "_WORKER_SCRIPT", "import sys; sys.exit('gone')")
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    with UnpackPool(workers=1, env=os.environ) as pool:
        future = pool.submit(
            str(wheel),
            scheme=_scheme(tmp_path / "t"),
            headers_base=str(tmp_path / "inc"),
            interpreter="/usr/bin/python3",
            additional_metadata={},
        )
        with pytest.raises(UnpackFailed) as info:
            future.result()
    assert info.value.output == "gone"


def test_a_module_in_the_working_directory_does_not_shadow_the_workers_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = tmp_path / "checkout"  # a hostile one: its installer.py would run
    checkout.mkdir()
    (checkout / "installer.py").write_text("raise SystemExit('shadowed')\n")
    monkeypatch.chdir(checkout)
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    with UnpackPool(workers=1, env=os.environ) as pool:
        record, _ = pool.submit(
            str(wheel),
            scheme=_scheme(tmp_path / "t"),
            headers_base=str(tmp_path / "inc"),
            interpreter="/usr/bin/python3",
            additional_metadata={},
        ).result()
    assert Path(record).is_file()


def test_after_no_more_the_queued_jobs_finish_and_a_new_one_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    job = _pool_job(tmp_path)
    with UnpackPool(workers=2, env=os.environ) as pool:
        queued = pool.submit(str(wheel), **job)
        pool.no_more()
        assert Path(queued.result(timeout=60)[0]).is_file()
        with pytest.raises(RuntimeError, match="no more jobs"):
            pool.submit(str(wheel), **job)
