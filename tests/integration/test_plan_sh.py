"""`plan --format sh` run for real: plain pip in a fresh venv gives what sync gives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_sync_support import build_env, make_lock, run_cli, sdist_pkg, wheel_pkg

from lock_build.cli import plan_cmd
from lock_build.lockfile import write_lock
from lock_build.sync import sync

IMPORT_ABI = (
    "import abiprov, nestext, nestext._built_against as b; "
    "print(b.BUILT_AGAINST, abiprov.__version__)"
)


def test_plan_sh_reproduces_sync(local_index, venv_factory, tmp_path: Path) -> None:  # noqa: ANN001
    idx = local_index
    # abiprov 2.0 exists on the index: an isolated build would take it. The lock says 1.0.
    prov1 = idx.add_wheel("abiprov", "1.0")
    idx.add_wheel("abiprov", "2.0")
    ext = idx.add_sdist(
        "nestext",
        "1.0",
        abi_provider="abiprov",
        build_requires=["abiprov", "buildtool"],
        requires=["abiprov"],
    )
    tool = idx.add_sdist("buildtool", "1.0")
    other = idx.add_wheel("other", "1.0")
    synced = venv_factory("synced")
    lock = make_lock(
        synced.python,
        [
            wheel_pkg(idx, prov1),
            sdist_pkg(idx, ext, deps=["abiprov"]),
            sdist_pkg(idx, tool, runtime=False),
            wheel_pkg(idx, other),
        ],
        [
            build_env("nestext", "1.0", ("abiprov==1.0", "buildtool==1.0"), shared=["abiprov"]),
            build_env("buildtool", "1.0", ()),
        ],
    )
    lockfile = tmp_path / "requirements.lock"
    write_lock(lockfile, lock)
    sync(lock, lock_dir=tmp_path, python=synced.python, cache_dir=tmp_path / "cache")

    out = tmp_path / "plan"
    code, output = run_cli(plan_cmd.command, [lockfile, "--format", "sh", "-o", out])
    assert code == 0, output
    script = out / "plan.sh"
    assert {
        "plan.sh",
        "fetch.txt",
        "install.txt",
        "build-buildtool-1.0.txt",
        "build-nestext-1.0.txt",
        "sdist-nestext-1.0.txt",
    } <= {p.name for p in out.iterdir()}
    assert "--require-hashes" in (out / "plan.sh").read_text()

    fresh = venv_factory("fresh")
    environ = dict(
        os.environ,
        PYTHON=str(fresh.python),
        PIP=f"{sys.executable} -m pip",
        WORK=str(tmp_path / "work"),
        PIP_NO_CACHE_DIR="1",
    )
    run = subprocess.run(["sh", str(script)], capture_output=True, text=True, env=environ)
    assert run.returncode == 0, run.stdout + run.stderr
    assert fresh.freeze() == synced.freeze() == {"abiprov": "1.0", "nestext": "1.0", "other": "1.0"}
    imported = fresh.run("-c", IMPORT_ABI)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == ["1.0", "1.0"]
