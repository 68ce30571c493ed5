"""SIGINT and SIGTERM against real child processes at each phase (hook, build, install):
lock-build stops them, removes its temporary directories and build environments, leaves
the lock untouched, and an interrupted install is repaired by the next sync."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_sync_support import build_env, make_lock, sdist_pkg, wheel_pkg

from lock_build.lockfile import write_lock
from lock_build.sync.journal import JOURNAL_NAME
from support.index import LocalIndex

EXIT = {signal.SIGTERM: 143, signal.SIGINT: 130}
SIGNALS = [signal.SIGTERM, signal.SIGINT]


@pytest.fixture(scope="module")
def index(index_server, tmp_path_factory) -> Iterator[LocalIndex]:  # noqa: ANN001
    idx = index_server.new_index(directory=tmp_path_factory.mktemp("interrupt-index"))
    idx.add_wheel("alpha", "1.0")
    idx.add_sdist("slow", "1.0", dynamic_build_requires=["alpha"])
    yield idx
    index_server.remove_index(idx)


def _start(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lock_build", *args],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, process: subprocess.Popen[str]) -> int:
    """The pid a paused child wrote (waiting for it is not a timed assertion)."""
    deadline = time.monotonic() + 120
    while not (path.is_file() and path.read_text().strip()):
        if process.poll() is not None or time.monotonic() > deadline:
            out, err = process.communicate()
            pytest.fail(f"the child never paused at {path.name}:\n{out}\n{err}")
        time.sleep(0.05)
    return int(path.read_text())


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _interrupt(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str]:
    process.send_signal(sig)  # to lock-build alone, as CI or `kill` does
    _, err = process.communicate(timeout=120)
    return process.returncode, err


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_compile_interrupted_in_a_hook(
    index: LocalIndex, tmp_path: Path, sig: signal.Signals
) -> None:
    pause, tmp, cache = tmp_path / "pause", tmp_path / "tmp", tmp_path / "cache"
    for d in (pause, tmp):
        d.mkdir()
    (tmp_path / "requirements.in").write_text("slow\n")
    lock = tmp_path / "requirements.lock"
    env = {"LB_TEST_PAUSE_DIR": str(pause), "TMPDIR": str(tmp)}
    process = _start(
        [
            "compile",
            "requirements.in",
            "-o",
            lock.name,
            "--index-url",
            index.url,
            "--cache-dir",
            str(cache),
        ],
        tmp_path,
        env,
    )
    hook = _wait_for(pause / "get_requires_for_build_wheel.pid", process)

    code, err = _interrupt(process, sig)

    assert code == EXIT[sig], err
    assert "Traceback" not in err
    assert _gone(hook), "the backend hook kept running"
    assert not lock.exists()  # and no partial one
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*lock*"))
    assert list(tmp.iterdir()) == []  # no lock-build-work-* left
    assert not list((cache / "build").glob("build-env-*"))


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_sync_interrupted_in_a_build(
    index: LocalIndex,
    venv_factory,
    tmp_path: Path,
    sig: signal.Signals,  # noqa: ANN001
) -> None:
    target = venv_factory("target")
    lock_path = tmp_path / "requirements.lock"
    alpha = wheel_pkg(index, index.files_dir / "alpha-1.0-py3-none-any.whl")
    slow = sdist_pkg(index, index.files_dir / "slow-1.0.tar.gz")
    write_lock(
        lock_path,
        make_lock(target.python, [alpha, slow], [build_env("slow", "1.0", ("alpha==1.0",))]),
    )
    before = lock_path.read_bytes()
    pause, cache = tmp_path / "pause", tmp_path / "cache"
    pause.mkdir()
    env = {"LB_TEST_PAUSE_DIR": str(pause), "PIP_TRUSTED_HOST": "127.0.0.1"}
    process = _start(
        ["sync", str(lock_path), "--python", str(target.python), "--cache-dir", str(cache)],
        tmp_path,
        env,
    )
    hook = _wait_for(next(iter(_pid_files(pause, process))), process)

    code, err = _interrupt(process, sig)

    assert code == EXIT[sig], err
    assert "Traceback" not in err
    assert _gone(hook), "the build backend kept running"
    assert lock_path.read_bytes() == before
    assert not list(cache.glob("sync-*"))
    assert not list(cache.rglob("build-env-*"))
    assert target.freeze() == {}  # nothing was installed
    assert not (target.path / JOURNAL_NAME).exists()


def _pid_files(pause: Path, process: subprocess.Popen[str]) -> Iterator[Path]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        found = sorted(pause.glob("*.pid"))
        if found:
            yield found[0]
            return
        time.sleep(0.05)
    out, err = process.communicate()
    pytest.fail(f"no hook paused:\n{out}\n{err}")


# pip, run under the target's interpreter (`pip --python`), reads this .pth: it stands in
# for a long install, so the signal arrives while pip runs.
PAUSE_PTH = (
    "import os, sys, time; "
    "d = os.environ.get('LB_TEST_PAUSE_DIR'); "
    "p = d and '__pip-runner__' in ' '.join(sys.orig_argv) and "
    "open(os.path.join(d, 'pip.pid'), 'w').write(str(os.getpid())); "
    "p and time.sleep(300)\n"
)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_interrupted_install_is_journaled_and_repaired(
    index: LocalIndex,
    venv_factory,
    tmp_path: Path,
    sig: signal.Signals,  # noqa: ANN001
) -> None:
    target = venv_factory("target")
    site = Path(target.site_packages)
    (site / "lbpause.pth").write_text(PAUSE_PTH)
    lock_path = tmp_path / "requirements.lock"
    alpha = wheel_pkg(index, index.files_dir / "alpha-1.0-py3-none-any.whl")
    write_lock(lock_path, make_lock(target.python, [alpha], []))
    pause, cache = tmp_path / "pause", tmp_path / "cache"
    pause.mkdir()
    args = ["sync", str(lock_path), "--python", str(target.python), "--cache-dir", str(cache)]
    args += ["--installer", "pip"]  # the pip process is what gets interrupted here
    env = {"PIP_TRUSTED_HOST": "127.0.0.1"}
    process = _start(args, tmp_path, {**env, "LB_TEST_PAUSE_DIR": str(pause)})
    pip = _wait_for(pause / "pip.pid", process)

    code, err = _interrupt(process, sig)

    # The signal's exit code (130 for Ctrl-C, 143 for SIGTERM), and what changed so far.
    terminated = sig is signal.SIGTERM
    assert code == (143 if terminated else 130), err
    said = "Terminated" if terminated else "Interrupted"
    assert f"{said} while changing" in err and "Traceback" not in err
    assert _gone(pip), "pip kept installing after lock-build stopped"
    assert (target.path / JOURNAL_NAME).is_file()
    assert not list(cache.glob("sync-*"))

    # What a kill in the middle of pip's copy leaves: the metadata says installed, a file
    # is missing (601 of 6,002 files in the report).
    (site / "lbpause.pth").unlink()
    target.pip("install", "--no-deps", "--index-url", index.url, "alpha==1.0")
    (site / "alpha" / "__init__.py").unlink()

    dry = subprocess.run(
        [sys.executable, "-m", "lock_build", *args, "--dry-run"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    assert dry.returncode == 1, dry.stdout + dry.stderr
    assert "reinstall alpha==1.0" in dry.stdout and "interrupted" in dry.stdout, dry.stdout

    done = subprocess.run(
        [sys.executable, "-m", "lock_build", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "was interrupted; repairing alpha" in done.stderr
    assert "1 file(s) differ from its RECORD" in done.stderr
    assert (site / "alpha" / "__init__.py").is_file()
    assert not (target.path / JOURNAL_NAME).exists()
    again = subprocess.run(
        [sys.executable, "-m", "lock_build", *args, "--dry-run"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    assert again.returncode == 0, again.stdout + again.stderr
