"""Wheels unpacked by worker processes of lock-build's own interpreter, in parallel.

Unpacking is thousands of small reads, decompressions and writes, with Python work
between each: on threads of one process they take turns holding the GIL, and two
threads unpack barely faster than one. ``jobs`` processes unpack ``jobs`` wheels truly
at once (the web stack's 49 wheels on tmpfs: 0.55 s instead of 1.0 s on 2 cores). Each
worker takes one wheel at a time (JSON lines in, one JSON line out), so the order in
which wheels finish is as it was with threads; the workers start before the wheels'
files are checked against each other, so their start-up overlaps that check.

What a worker writes is what :func:`lock_build.sync.wheel_unpack.unpack` writes in
process; an error comes back as its message and becomes the installer's
:class:`~lock_build.sync.installers.InstallFailed`.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import IO, Any

from lock_build.sync.bytecode import Source

__all__ = ["UnpackFailed", "UnpackPool", "serve"]

# Run by sys.executable: lock-build's own interpreter, where lock_build is importable.
_WORKER_SCRIPT = """
import sys
from lock_build.sync.unpack_pool import serve
serve(sys.stdin, sys.stdout)
"""


class UnpackFailed(Exception):
    """A wheel could not be unpacked (``message``), or a worker died (``output``)."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.output = output


def serve(requests: IO[str], replies: IO[str]) -> None:
    """The worker's loop: one request per line, one reply per line, until end of input."""
    import zipfile

    from installer.exceptions import InstallerError

    from lock_build.sync.wheel_unpack import unpack

    for line in requests:
        job = json.loads(line)
        try:
            record, sources = unpack(
                job["wheel"],
                scheme=job["scheme"],
                headers_base=job["headers_base"],
                interpreter=job["interpreter"],
                additional_metadata={k: v.encode() for k, v in job["metadata"].items()},
            )
            reply: dict[str, Any] = {
                "record": record,
                "sources": [[s.path, s.size] for s in sources],
            }
        except (InstallerError, zipfile.BadZipFile, OSError, ValueError, KeyError) as exc:
            reply = {"error": str(exc)}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


_Job = tuple[dict[str, Any], "Future[tuple[str, tuple[Source, ...]]]"]


class UnpackPool:
    """``workers`` processes, each unpacking one wheel at a time from a shared queue."""

    def __init__(self, *, workers: int, env: Mapping[str, str]) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._processes: list[tuple[subprocess.Popen[str], IO[str]]] = []
        self._threads: list[threading.Thread] = []
        try:
            for _ in range(max(1, workers)):
                errors: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
                process = subprocess.Popen(
                    # -P: the working directory (a checkout) is not on the path.
                    [sys.executable, "-P", "-c", _WORKER_SCRIPT],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    text=True,
                    encoding="utf-8",
                    env=dict(env),
                )
                self._processes.append((process, errors))
        except OSError as exc:
            self.close()
            raise UnpackFailed(f"cannot start an unpack worker ({exc})") from exc
        for process, errors in self._processes:
            thread = threading.Thread(
                target=self._serve, args=(process, errors), name="lock-build-unpack", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def submit(
        self,
        wheel: str,
        *,
        scheme: Mapping[str, str],
        headers_base: str,
        interpreter: str,
        metadata: Mapping[str, bytes],
    ) -> Future[tuple[str, tuple[Source, ...]]]:
        """Queue ``wheel``; the future's result: its RECORD's path and the .py files written."""
        job = {
            "wheel": wheel,
            "scheme": dict(scheme),
            "headers_base": headers_base,
            "interpreter": interpreter,
            "metadata": {key: value.decode() for key, value in metadata.items()},
        }
        future: Future[tuple[str, tuple[Source, ...]]] = Future()
        self._jobs.put((job, future))
        return future

    def close(self) -> None:
        """Let the workers finish what is queued, then end them (killed if they hang)."""
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        for process, errors in self._processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            errors.close()
        self._threads.clear()
        self._processes.clear()

    def kill(self) -> None:
        """Stop the workers now (interrupted, or another wheel failed)."""
        for process, _errors in self._processes:
            if process.poll() is None:
                process.kill()

    def __enter__(self) -> UnpackPool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None:
            self.kill()
        self.close()

    def _serve(self, process: subprocess.Popen[str], errors: IO[str]) -> None:
        assert process.stdin is not None and process.stdout is not None
        broken: UnpackFailed | None = None
        while (job := self._jobs.get()) is not None:
            request, future = job
            if broken is not None:
                future.set_exception(broken)
                continue
            try:
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
                reply = json.loads(process.stdout.readline())  # "" (it died): ValueError
                future.set_result(_result(reply))
            except UnpackFailed as exc:
                future.set_exception(exc)
            except (OSError, ValueError, TypeError, KeyError) as exc:
                broken = _died(process, errors, exc)
                future.set_exception(broken)
        try:
            process.stdin.close()
        except OSError:
            pass
        process.wait()


def _result(reply: Any) -> tuple[str, tuple[Source, ...]]:
    if isinstance(reply, dict) and isinstance(reply.get("error"), str):
        raise UnpackFailed(reply["error"])
    record = reply["record"]
    sources = tuple(Source(path=str(path), size=int(size)) for path, size in reply["sources"])
    if not isinstance(record, str):
        raise TypeError(f"an unpack worker answered {reply!r:.200}")
    return record, sources


def _died(process: subprocess.Popen[str], errors: IO[str], exc: Exception) -> UnpackFailed:
    if process.poll() is None:
        process.kill()
    process.wait()
    errors.seek(0)
    return UnpackFailed("an unpack worker stopped", errors.read().strip() or str(exc))
