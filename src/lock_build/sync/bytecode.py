"""Bytecode compiled as pip compiles it, by the target interpreter, while wheels unpack.

pip runs ``compileall.compile_file(path, force=True)`` on every installed ``.py`` file
once a wheel is unpacked. The builtin installer does the same in a few long-lived
processes of the *target* interpreter (so the ``.pyc`` magic number, cache tag and
optimisation level are the target's, and ``SOURCE_DATE_EPOCH`` picks the invalidation
mode exactly as it would for pip), fed each wheel's files as soon as it is unpacked, so
that compiling overlaps unpacking.

A wheel's files are cut into batches of bounded source bytes, and each batch goes to the
worker with the fewest bytes so far: one big wheel is spread over every worker instead
of leaving the others idle at the end. The assignment depends only on the order of the
submissions, never on timing, because a ``.pyc`` file's bytes depend a little on what its
process compiled before (marshal flags the strings that process had already interned):
the same wheels submitted in the same order give the same bytes, run after run.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from lock_build.sync.line_worker import LineWorker

# Run by the target interpreter (any Python 3 it may be: keep the syntax old). One JSON
# list of .py paths per input line; per output line, one JSON list of [source, .pyc] for
# the .pyc files that now exist (named by the target's own cache tag). compile_file and
# warnings write to stderr, never to the reply channel.
_WORKER_SCRIPT = """
import compileall, importlib.util, json, os, sys, warnings
reply = sys.stdout
sys.stdout = sys.stderr
warnings.filterwarnings("ignore")
for line in sys.stdin:
    done = []
    for path in json.loads(line):
        if compileall.compile_file(path, force=True, quiet=2):
            pyc = importlib.util.cache_from_source(path)
            if os.path.exists(pyc):
                done.append([path, pyc])
    reply.write(json.dumps(done) + "\\n")
    reply.flush()
"""

# A batch is this much source at most (or one file, if bigger): small enough that the
# last wheel's files spread over every worker, large enough that a round trip is noise.
BATCH_BYTES = 256 * 1024


class CompileFailed(Exception):
    """A compile worker died or answered nonsense; the installer reports it."""

    def __init__(self, command: str, output: str) -> None:
        super().__init__(command)
        self.command = command
        self.output = output


@dataclass(frozen=True, kw_only=True, slots=True)
class Source:
    """One installed ``.py`` file and its size (to balance the batches by bytes)."""

    path: str
    size: int


def batches(sources: Sequence[Source], limit: int = BATCH_BYTES) -> tuple[tuple[str, ...], ...]:
    """``sources`` cut, in order, into runs of at most ``limit`` bytes (a bigger file alone)."""
    out: list[tuple[str, ...]] = []
    current: list[str] = []
    size = 0
    for source in sources:
        if current and size + source.size > limit:
            out.append(tuple(current))
            current, size = [], 0
        current.append(source.path)
        size += source.size
    if current:
        out.append(tuple(current))
    return tuple(out)


_Job = tuple[tuple[str, ...], "Future[dict[str, str]]"]


class CompilePool:
    """``workers`` target-interpreter processes, each compiling its own queue of batches.

    :meth:`submit` returns at once with futures of the ``.pyc`` files written for those
    sources (source path -> ``.pyc`` path); :meth:`close` (or leaving the ``with`` block)
    ends the processes. Started before the first wheel is unpacked so that their start-up
    overlaps it.
    """

    def __init__(self, python: Path, *, workers: int, env: dict[str, str]) -> None:
        self._python = python
        self._queues: list[queue.SimpleQueue[_Job | None]] = []
        self._assigned: list[int] = []  # source bytes given to each worker so far
        self._workers: list[LineWorker] = []
        self._threads: list[threading.Thread] = []
        try:
            for _ in range(max(1, workers)):
                self._workers.append(LineWorker([str(python), "-I", "-c", _WORKER_SCRIPT], env=env))
                self._queues.append(queue.SimpleQueue())
                self._assigned.append(0)
        except OSError as exc:
            self.close()
            raise CompileFailed(f"{python} -c <compile worker>", str(exc)) from exc
        for worker, jobs in zip(self._workers, self._queues, strict=True):
            thread = threading.Thread(
                target=self._serve,
                args=(worker, jobs),
                name="lock-build-compile",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def __enter__(self) -> CompilePool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None:  # interrupted or failed: what is queued is not wanted
            self._kill()
        self.close()

    def submit(self, sources: Sequence[Source]) -> tuple[Future[dict[str, str]], ...]:
        """Queue ``sources`` in batches, each to the worker with the fewest bytes so far
        (the first of them on a tie); one future per batch, of the ``.pyc`` files written."""
        sizes = {source.path: source.size for source in sources}
        futures = []
        for batch in batches(sources):
            worker = min(range(len(self._queues)), key=self._assigned.__getitem__)
            self._assigned[worker] += sum(sizes[path] for path in batch)
            future: Future[dict[str, str]] = Future()
            self._queues[worker].put((batch, future))
            futures.append(future)
        return tuple(futures)

    def close(self) -> None:
        """Let the workers finish what is queued, then end them (killed if they hang)."""
        for jobs in self._queues:
            jobs.put(None)
        for thread in self._threads:
            thread.join()
        for worker in self._workers:
            worker.close()
        self._threads.clear()
        self._workers.clear()
        self._queues.clear()

    def _kill(self) -> None:
        for worker in self._workers:
            worker.kill()

    def _serve(self, worker: LineWorker, jobs: queue.SimpleQueue[_Job | None]) -> None:
        failure: CompileFailed | None = None
        while (job := jobs.get()) is not None:
            batch, future = job
            if failure is None:
                try:
                    written = _reply(worker.ask(batch))
                except (OSError, ValueError) as exc:
                    failure = CompileFailed(
                        f"{self._python} -c <compile worker>", worker.why_stopped(exc)
                    )
                else:
                    future.set_result(written)
                    continue
            future.set_exception(failure)
        worker.finish()


def _reply(value: object) -> dict[str, str]:
    if not isinstance(value, list) or not all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        for pair in value
    ):
        raise ValueError(f"a compile worker answered {value!r:.200}")
    return {source: pyc for source, pyc in value}


__all__ = ["BATCH_BYTES", "CompileFailed", "CompilePool", "Source", "batches"]
