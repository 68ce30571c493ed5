"""Stopping cleanly: SIGINT and SIGTERM end lock-build *and* every process it started.

A terminal's Ctrl-C reaches the whole foreground process group, but a SIGTERM from
CI (or a ``kill`` of lock-build alone) reaches only lock-build: the pip, uv or build
backend it started would keep running after lock-build has reported what it did.
So the handlers first stop every descendant (SIGTERM, then SIGKILL after a grace
period), then raise in the main thread, so every ``finally`` removes its temporary
directories and build environments and no lock is written.

Descendants are found through ``/proc`` (Linux); elsewhere only the direct children
that ``subprocess`` waits for are stopped, by ``subprocess.run`` itself.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

__all__ = ["Terminated", "descendants", "install_handlers", "stop_descendants"]

_GRACE = 3.0  # seconds a child gets to exit after SIGTERM before SIGKILL


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so the same cleanup runs; the CLI exits 143."""


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, children first (empty where /proc is missing)."""
    found: list[int] = []
    queue = [pid]
    while queue:
        parent = queue.pop(0)
        for task in _tasks(parent):
            try:
                text = (task / "children").read_text()
            except OSError:
                continue
            for child in (int(p) for p in text.split()):
                if child not in found:
                    found.append(child)
                    queue.append(child)
    return found


def _tasks(pid: int) -> list[Path]:
    try:
        return list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []


def stop_descendants(grace: float = _GRACE) -> list[int]:
    """SIGTERM every descendant, SIGKILL those still there after ``grace``; their pids."""
    pids = descendants(os.getpid())
    for pid in pids:
        _send(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if _running(p)]
    for pid in alive:
        _send(pid, signal.SIGKILL)
    return pids


def _send(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass  # already gone


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for its parent's wait() does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def install_handlers() -> Callable[[], None]:
    """Handle SIGINT and SIGTERM as described above; returns a function restoring the old ones."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach the main thread only; nothing to install
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handle(signum: int, _frame: FrameType | None) -> None:
        # Once is enough: a second signal while stopping must not interrupt the cleanup.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_descendants()
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    for sig in previous:
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
