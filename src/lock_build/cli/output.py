"""What the user sees: progress on a terminal, quiet when piped or --quiet.

Core code never prints; it calls a reporter. ``Console`` is the CLI's reporter:
status lines go to stderr (so stdout stays machine-readable), and only when
stderr is a terminal unless --verbose asks for them.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import click

from lock_build.cli.options import ConsoleFlags, effective_settings
from lock_build.errors import LockBuildError
from lock_build.redaction import redact
from lock_build.reporting import Reporter

__all__ = ["Console", "default_cache_dir", "route_core_logging", "start"]

_STATUS_INTERVAL = 0.05  # seconds between two status-line updates on a terminal


class Console(Reporter):
    """Progress and messages for one command run; every line goes through ``redact``.

    The typed progress hooks keep the base class's wording: each event is a status line."""

    _current: ClassVar[Console | None] = None

    def __init__(self, *, quiet: bool = False, verbose: int = 0) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.interactive = sys.stderr.isatty() and not quiet
        self._status_width = 0
        self._last_status = 0.0
        # Progress arrives from worker threads (page fetches, metadata reads).
        self._lock = threading.Lock()
        Console._current = self

    @classmethod
    def current(cls) -> Console:
        return cls._current or Console()

    def status(self, text: str) -> None:
        """A transient progress line: rewritten in place on a terminal, else only with -v."""
        if self.quiet:
            return
        text = redact(text)
        with self._lock:
            if self.interactive:
                now = time.monotonic()
                if now - self._last_status < _STATUS_INTERVAL:
                    return  # a terminal cannot show 100 updates a second anyway
                self._last_status = now
                line = text[: max(20, _terminal_width() - 1)]
                click.echo("\r" + line.ljust(self._status_width), err=True, nl=False)
                self._status_width = len(line)
            elif self.verbose:
                click.echo(text, err=True)

    def clear_status(self) -> None:
        if self.interactive and self._status_width:
            click.echo("\r" + " " * self._status_width + "\r", err=True, nl=False)
            self._status_width = 0

    def info(self, text: str) -> None:
        """A line worth keeping (a summary), on stderr unless --quiet."""
        if not self.quiet:
            self.clear_status()
            click.echo(redact(text), err=True)

    def warn(self, text: str) -> None:
        """Warnings are shown even with --quiet: they change what the user should do."""
        self.clear_status()
        click.echo(click.style("warning: ", fg="yellow") + redact(text), err=True)

    def debug(self, text: str) -> None:
        if self.verbose:
            self.clear_status()
            click.echo(redact(text), err=True)

    def error(self, exc: LockBuildError) -> None:
        self.clear_status()
        # Every message is redacted here as well, whatever the layer that wrote it did.
        click.echo(click.style("error: ", fg="red") + redact(exc.render()), err=True)
        if self.verbose and exc.detail:
            click.echo(redact(exc.detail.rstrip()), err=True)


class _ConsoleHandler(logging.Handler):
    """Core modules warn through ``logging`` (they never print); the CLI shows them here."""

    def emit(self, record: logging.LogRecord) -> None:
        console = Console.current()
        if record.levelno >= logging.WARNING:
            console.warn(self.format(record))
        else:
            console.debug(self.format(record))


def route_core_logging() -> None:
    """Send the ``lock_build`` loggers' records to the current console (once)."""
    logger = logging.getLogger("lock_build")
    if not any(isinstance(h, _ConsoleHandler) for h in logger.handlers):
        logger.addHandler(_ConsoleHandler())
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        # urllib3 logs each retry at WARNING; lock-build reports faults itself.
        logging.getLogger("urllib3").addHandler(logging.NullHandler())
        logging.getLogger("urllib3").propagate = False


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns or 80
    except OSError:
        return 80


def start(flags: ConsoleFlags) -> Console:
    """The console for this run; under ``-v``, first every setting not at its default and
    where it came from (command line, variable, configuration file)."""
    console = Console(quiet=flags.quiet, verbose=flags.verbose)
    ctx = click.get_current_context(silent=True)
    if ctx is not None and flags.verbose:
        for line in effective_settings(ctx):
            console.debug(line)
    return console


def default_cache_dir(cache_dir: Path | None) -> Path:
    """--cache-dir, then LOCK_BUILD_CACHE_DIR (click reads it), then the platform cache dir."""
    if cache_dir is not None:
        # Absolute once, here: build environments and hooks run in other directories.
        return cache_dir.absolute()
    import platformdirs

    return Path(platformdirs.user_cache_dir("lock-build"))
