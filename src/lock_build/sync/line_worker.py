"""One worker process spoken to in JSON lines, for the builtin installer's pools.

A request is one line on the worker's standard input, its reply one line on its standard
output; what the worker writes to standard error is kept in a temporary file, so that a
worker that dies can say why. The pools (:mod:`lock_build.sync.bytecode`,
:mod:`lock_build.sync.unpack_pool`) decide what is asked, of which worker, and what a
failure means; this is only the process and its two channels.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from typing import IO, Any

__all__ = ["LineWorker"]


class LineWorker:
    """``argv`` started with ``env``; :meth:`close` when done with it, whatever happened."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str]) -> None:
        self._errors: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        try:
            self._process = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._errors,
                text=True,
                encoding="utf-8",
                env=dict(env),
            )
        except OSError:
            self._errors.close()
            raise

    def ask(self, request: object) -> Any:
        """Send ``request``; the worker's reply, decoded (not checked). OSError or
        ValueError when the worker is gone (an empty reply is a ValueError too)."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        return json.loads(self._process.stdout.readline())

    def why_stopped(self, exc: Exception) -> str:
        """After a failed :meth:`ask`: stop the worker, and what it said on its way out
        (``exc`` if nothing)."""
        self.kill()
        self._process.wait()
        self._errors.seek(0)
        return self._errors.read().strip() or str(exc)

    def finish(self) -> None:
        """Nothing more to ask: close its input and wait for it to exit."""
        try:
            if self._process.stdin is not None:
                self._process.stdin.close()
        except OSError:
            pass
        self._process.wait()

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()

    def close(self) -> None:
        """Let go of it: killed if it still runs, its error file closed."""
        self.kill()
        self._process.wait()
        self._errors.close()
