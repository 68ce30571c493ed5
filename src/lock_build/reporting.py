"""The one way the core tells the user what is happening.

Every layer (index, resolution, build environments, compile, sync) takes a
:class:`Reporter` in its constructor or call and never prints; the CLI's
``Console`` implements it. Like resolvelib's ``BaseReporter``, the hooks are few
and cheap to ignore: :data:`NULL_REPORTER` drops everything, which is what tests and
library callers get by default.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["NULL_REPORTER", "NullReporter", "Reporter"]


class Reporter(Protocol):
    """Progress and messages from the core. Calls may come from worker threads."""

    def status(self, text: str) -> None:
        """Transient progress ("Fetching page numpy"): shown in place on a terminal."""

    def info(self, text: str) -> None:
        """A line worth keeping: a summary or a change ("Built cftime-1.6.1-…whl")."""

    def warn(self, text: str) -> None:
        """Something the user should act on; shown even when quiet."""

    def debug(self, text: str) -> None:
        """Detail for -v: which metadata path was taken, why a cache entry was dropped."""


class NullReporter:
    """A reporter that shows nothing."""

    def status(self, text: str) -> None:
        pass

    def info(self, text: str) -> None:
        pass

    def warn(self, text: str) -> None:
        pass

    def debug(self, text: str) -> None:
        pass


NULL_REPORTER: Reporter = NullReporter()
