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
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import IO, TYPE_CHECKING, Any

from lock_build.sync.bytecode import Source
from lock_build.sync.line_worker import LineWorker

if TYPE_CHECKING:
    from lock_build.sync.wheel_unpack import Share

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
    import gc

    from lock_build.sync.wheel_unpack import UNREADABLE, unpack, unpack_share

    # A worker lives for one sync and makes no reference cycles worth collecting; the
    # collector's passes over thousands of short-lived records were 3% of its time.
    gc.disable()

    for line in requests:
        job = json.loads(line)
        reply: dict[str, Any]
        try:
            where = {
                "scheme": job["scheme"],
                "headers_base": job["headers_base"],
                "interpreter": job["interpreter"],
            }
            if "members" in job:  # a share of a big wheel's files
                written, sources = unpack_share(job["wheel"], **where, members=job["members"])
                reply = {"written": written}
            else:
                record, sources = unpack(
                    job["wheel"],
                    **where,
                    additional_metadata={k: v.encode() for k, v in job["metadata"].items()},
                    others=job.get("others", ()),
                )
                reply = {"record": record}
            reply["sources"] = [[s.path, s.size] for s in sources]
        except UNREADABLE as exc:
            reply = {"error": str(exc)}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


_Job = tuple[dict[str, Any], "Future[Any]"]


class UnpackPool:
    """``workers`` processes, each unpacking one wheel at a time from a shared queue."""

    def __init__(self, *, workers: int, env: Mapping[str, str]) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._workers: list[LineWorker] = []
        self._threads: list[threading.Thread] = []
        self._ended = False  # the end of the jobs is queued (no_more)
        try:
            for _ in range(max(1, workers)):
                # -P: the working directory (a checkout) is not on the path.
                self._workers.append(
                    LineWorker([sys.executable, "-P", "-c", _WORKER_SCRIPT], env=env)
                )
        except OSError as exc:
            self.close()
            raise UnpackFailed(f"cannot start an unpack worker ({exc})") from exc
        for worker in self._workers:
            thread = threading.Thread(
                target=self._serve, args=(worker,), name="lock-build-unpack", daemon=True
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
        additional_metadata: Mapping[str, bytes],
        others: Sequence[str] = (),
    ) -> Future[tuple[str, tuple[Source, ...]]]:
        """Queue ``wheel``; the future's result: its RECORD's path and the .py files written.
        The library files ``others`` are left to :meth:`submit_share` jobs."""
        metadata = {key: value.decode() for key, value in additional_metadata.items()}
        return self._queue(
            wheel, scheme, headers_base, interpreter, metadata=metadata, others=list(others)
        )

    def submit_share(
        self,
        wheel: str,
        *,
        scheme: Mapping[str, str],
        headers_base: str,
        interpreter: str,
        members: Sequence[str],
    ) -> Future[tuple[Share, tuple[Source, ...]]]:
        """Queue a share of ``wheel``'s library files (see wheel_unpack.shares); the
        future's result: what was written (path, hash, size) and the .py files among it."""
        return self._queue(wheel, scheme, headers_base, interpreter, members=list(members))

    def _queue(
        self,
        wheel: str,
        scheme: Mapping[str, str],
        headers_base: str,
        interpreter: str,
        **what: object,
    ) -> Future[Any]:
        if self._ended:  # no worker would ever take it
            raise RuntimeError("the unpack pool was told no more jobs would come")
        job = {
            "wheel": wheel,
            "scheme": dict(scheme),
            "headers_base": headers_base,
            "interpreter": interpreter,
            **what,
        }
        future: Future[Any] = Future()
        self._jobs.put((job, future))
        return future

    def no_more(self) -> None:
        """Nothing more will be queued: each worker ends after the jobs already queued,
        while this process still handles their results (close() then waits less)."""
        if not self._ended:
            self._ended = True
            for _ in self._threads:
                self._jobs.put(None)

    def close(self) -> None:
        """Let the workers finish what is queued, then end them (killed if they hang)."""
        self.no_more()
        for thread in self._threads:
            thread.join()
        for worker in self._workers:
            worker.close()
        self._threads.clear()
        self._workers.clear()

    def kill(self) -> None:
        """Stop the workers now (interrupted, or another wheel failed)."""
        for worker in self._workers:
            worker.kill()

    def __enter__(self) -> UnpackPool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None:
            self.kill()
        self.close()

    def _serve(self, worker: LineWorker) -> None:
        broken: UnpackFailed | None = None
        while (job := self._jobs.get()) is not None:
            request, future = job
            if broken is not None:
                future.set_exception(broken)
                continue
            try:
                future.set_result(_result(worker.ask(request)))
            except UnpackFailed as exc:
                future.set_exception(exc)
            except (OSError, ValueError, TypeError, KeyError) as exc:
                broken = UnpackFailed("an unpack worker stopped", worker.why_stopped(exc))
                future.set_exception(broken)
        worker.finish()


def _result(reply: Any) -> tuple[str | Share, tuple[Source, ...]]:
    if isinstance(reply, dict) and isinstance(reply.get("error"), str):
        raise UnpackFailed(reply["error"])
    sources = tuple(Source(path=str(path), size=int(size)) for path, size in reply["sources"])
    if "written" in reply:
        written = [(str(path), str(digest), str(size)) for path, digest, size in reply["written"]]
        return written, sources
    record = reply["record"]
    if not isinstance(record, str):
        raise TypeError(f"an unpack worker answered {reply!r:.200}")
    return record, sources
