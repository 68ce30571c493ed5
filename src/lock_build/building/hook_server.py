"""Hook processes forked from one that has imported the backend already (Linux).

Every PEP 517 hook runs in a process of its own (pyproject_hooks' design: a backend may
leave any state behind), and each such process is a new interpreter that imports its
backend before the hook does anything: 0.1 s for setuptools. An sdist whose metadata
only its backend can tell costs two hooks, and a compile that walks down a project's
old sdists runs dozens.

A :class:`HookServer` is one process of the build environment's interpreter, started
with the environment's variables, that imports the backend module once and then, for
each hook, forks a child that runs pyproject_hooks' ``_in_process`` script exactly as
``python _in_process.py HOOK DIR`` would: in the sdist's directory, with the hook's
variables, its output appended to the build log, its exit status reported back. The
child is as fresh as a new process (the server never runs a hook; each child is a copy
of the server as it was after the import) and starts with the backend loaded.

Used only where ``fork`` is the system's own way to start processes (Linux) and the
backend is an installed module (no ``backend-path``: an in-tree backend is imported from
each sdist's own tree). Any failure to start or talk to a server falls back to a plain
process for the hook, so the hook's own errors look exactly as they always did.
``LOCK_BUILD_NO_HOOK_SERVER=1`` turns servers off.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

__all__ = ["SWITCH", "HookServer", "HookServerFailed", "HookServers", "servers_enabled"]

SWITCH = "LOCK_BUILD_NO_HOOK_SERVER"

# Run by the build environment's interpreter (any Python 3 a target may have: keep the
# syntax old). argv[1]: the module to import. One reply line once imported, then per
# input line (a JSON job) one reply line with the child's exit status. Its own stdout is
# /dev/null: whatever the import prints must not reach the reply channel.
_SERVER_SCRIPT = r"""
import json, os, runpy, sys, traceback
if sys.path and sys.path[0] == "":
    del sys.path[0]  # -c put the working directory first; a script run has none
reply = os.fdopen(os.dup(1), "w")
null = os.open(os.devnull, os.O_RDWR)
os.dup2(null, 1)
try:
    __import__(sys.argv[1])
    ready = True
except BaseException:
    traceback.print_exc()
    ready = False
sys.stdout.flush()
sys.stderr.flush()
reply.write(json.dumps({"ready": ready}) + "\n")
reply.flush()

def run(job):
    os.dup2(null, 0)
    log = os.open(job["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.chdir(job["cwd"])
    os.environ.update(job["environ"])
    script = job["argv"][1]
    sys.argv = list(job["argv"][1:])
    sys.path.insert(0, os.path.dirname(script))
    try:
        runpy.run_path(script, run_name="__main__")
        return 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        sys.stderr.write(str(exc.code) + "\n")
        return 1
    except BaseException:
        traceback.print_exc()
        return 1

while ready:
    line = sys.stdin.readline()
    if not line:
        break
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = run(job)
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        code = -os.WTERMSIG(status)
    else:
        code = os.WEXITSTATUS(status)
    reply.write(json.dumps({"status": code}) + "\n")
    reply.flush()
"""


def servers_enabled(environ: Mapping[str, str], *, platform: str = sys.platform) -> bool:
    """Linux, and ``LOCK_BUILD_NO_HOOK_SERVER`` unset (or ``""``/``0``)."""
    return platform.startswith("linux") and environ.get(SWITCH, "").strip() in ("", "0")


class HookServerFailed(Exception):
    """The server could not be started, import its backend, or answer: run the hook in a
    process of its own instead."""


class HookServer:
    """One server process (see the module's docstring); one hook at a time."""

    def __init__(
        self, python: Path, module: str, *, env: Mapping[str, str], cwd: Path, errors: Path
    ) -> None:
        self.module = module
        errors.parent.mkdir(parents=True, exist_ok=True)
        self._errors: IO[bytes] = errors.open("ab")
        try:
            self._process = subprocess.Popen(
                [str(python), "-c", _SERVER_SCRIPT, module],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._errors,
                env=dict(env),
                cwd=cwd,
                text=True,
                encoding="utf-8",
            )
        except OSError as exc:
            self._errors.close()
            raise HookServerFailed(str(exc)) from exc
        try:
            ready = self._answer().get("ready") is True
        except HookServerFailed:
            self.close()  # it died before it was ready: reap it, close its log
            raise
        if not ready:
            self.close()
            raise HookServerFailed(f"{module} did not import in the server")

    def run(self, cmd: Sequence[str], *, cwd: str, environ: Mapping[str, str], log: Path) -> int:
        """Run ``cmd`` (pyproject_hooks' ``[python, script, hook, dir]``) in a forked child;
        its exit status (negative: the signal that ended it)."""
        job = {"argv": list(cmd), "cwd": cwd, "environ": dict(environ), "log": str(log)}
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(job) + "\n")
            self._process.stdin.flush()
        except OSError as exc:
            raise HookServerFailed(str(exc)) from exc
        status = self._answer().get("status")
        if not isinstance(status, int):
            raise HookServerFailed(f"the server answered {status!r}")
        return status

    def _answer(self) -> dict[str, object]:
        assert self._process.stdout is not None
        try:
            value = json.loads(self._process.stdout.readline())
        except (OSError, ValueError) as exc:  # "" (it died) is a ValueError too
            raise HookServerFailed(f"no answer from the hook server ({exc})") from exc
        if not isinstance(value, dict):
            raise HookServerFailed(f"the hook server answered {value!r}")
        return value

    def close(self) -> None:
        if self._process.stdin is not None:
            try:
                self._process.stdin.close()
            except OSError:
                pass
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._errors.close()


class HookServers:
    """The idle servers of one build environment, by backend module (thread-safe): a
    hook takes one (or starts one) and gives it back, so hooks run at once (``-j``) each
    have their own."""

    def __init__(self, python: Path, *, env: Mapping[str, str], cwd: Path, errors: Path) -> None:
        self._python = python
        self._env = dict(env)
        self._cwd = cwd
        self._errors = errors
        self._idle: dict[str, list[HookServer]] = {}
        self._broken: set[str] = set()  # modules whose server failed: plain processes
        self._lock = threading.Lock()
        self._closed = False

    def run(
        self, module: str, cmd: Sequence[str], *, cwd: str, environ: Mapping[str, str], log: Path
    ) -> int | None:
        """The hook's exit status, or None when no server can run it (run it yourself)."""
        with self._lock:
            if self._closed or module in self._broken:
                return None
            idle = self._idle.setdefault(module, [])
            server = idle.pop() if idle else None
        try:
            if server is None:
                server = HookServer(
                    self._python, module, env=self._env, cwd=self._cwd, errors=self._errors
                )
            status = server.run(cmd, cwd=cwd, environ=environ, log=log)
        except HookServerFailed:
            if server is not None:
                server.close()
            with self._lock:
                self._broken.add(module)
            return None
        if not self._give_back(module, server):
            server.close()  # closed meanwhile
        return status

    def _give_back(self, module: str, server: HookServer) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._idle[module].append(server)
            return True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            servers = [server for idle in self._idle.values() for server in idle]
            self._idle.clear()
        for server in servers:
            server.close()
        try:
            if self._errors.stat().st_size == 0:
                self._errors.unlink()  # nothing went wrong: no empty log left behind
        except OSError:
            pass
