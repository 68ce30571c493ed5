"""The one way the core tells the user what is happening.

Every layer (index, resolution, build environments, compile, sync) takes a
:class:`Reporter` in its constructor or call and never prints; the CLI's ``Console``
implements it. Like resolvelib's ``BaseReporter``, it is a base class whose hooks do
nothing until overridden: :data:`NULL_REPORTER` drops everything, which is what tests and
library callers get by default.

Two kinds of hook:

- typed progress — :meth:`Reporter.resolving`, :meth:`~Reporter.fetching`,
  :meth:`~Reporter.building`, :meth:`~Reporter.installing` — each given an event value
  (what is happening, as data). By default an event is shown as a status line, worded
  once here (:attr:`Event.text`); a reporter that wants counts, bars or JSON overrides
  the hook.
- text — :meth:`~Reporter.status`, :meth:`~Reporter.info`, :meth:`~Reporter.warn`,
  :meth:`~Reporter.debug` — for messages that are not progress of one of those kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "NULL_REPORTER",
    "Building",
    "Fetching",
    "Installing",
    "NullReporter",
    "Reporter",
    "Resolving",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolving:
    """The resolver pinned one more candidate."""

    context: str  # "" for the runtime tree, else "cftime 1.6.1 (build)"
    pinned: int
    candidate: str  # "numpy 2.2.6"

    @property
    def text(self) -> str:
        where = f" for {self.context}" if self.context else ""
        return f"Resolving{where}: {self.pinned} pinned, now {self.candidate}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Fetching:
    """An index page, a release's metadata or a file is being fetched."""

    kind: Literal["page", "metadata", "file"]
    subject: str  # a project name, "numpy 2.2.6", or a filename
    how: str = ""  # for metadata: "metadata file", "range request", "download", "sdist"
    done: int | None = None  # of a batch (sync's downloads)
    total: int | None = None

    @property
    def text(self) -> str:
        if self.kind == "page":
            return f"Fetching page {self.subject}"
        if self.kind == "metadata":
            return f"Reading metadata {self.subject}" + (f" ({self.how})" if self.how else "")
        if self.done is not None and self.total is not None:
            return f"Fetched {self.done}/{self.total}: {self.subject}"
        return f"Fetching {self.subject}"


BuildStep = Literal["environment", "requires", "metadata", "wheel", "dependency-wheel"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Building:
    """A build environment is being locked, or a hook runs for one sdist."""

    package: str
    version: str
    step: BuildStep
    done: int | None = None  # of a batch (sync's builds)
    total: int | None = None

    @property
    def text(self) -> str:
        subject = f"{self.package} {self.version}"
        if self.step == "environment":
            return f"Locking the build environment of {subject}"
        if self.step == "requires":
            return f"Running get_requires_for_build_wheel for {subject}"
        if self.step == "metadata":
            return f"Preparing metadata of {subject}"
        if self.step == "dependency-wheel":
            return f"Building {subject} (needed to build another sdist)"
        count = f" ({self.done}/{self.total})" if self.done is not None else ""
        return f"Building {subject}{count}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Installing:
    """The installer is changing the target environment."""

    step: Literal["install", "unpack", "bytecode", "remove"]
    total: int  # packages
    done: int | None = None

    @property
    def text(self) -> str:
        if self.step == "unpack":
            return f"Installing: {self.done}/{self.total} unpacked"
        if self.step == "bytecode":
            return f"Compiling bytecode of {self.total} package(s)"
        if self.step == "remove":
            return f"Removing {self.total} package(s)"
        return f"Installing {self.total} package(s)"


class Reporter:
    """Progress and messages from the core. Calls may come from worker threads."""

    # -- typed progress -----------------------------------------------------------

    def resolving(self, event: Resolving) -> None:
        self.status(event.text)

    def fetching(self, event: Fetching) -> None:
        self.status(event.text)

    def building(self, event: Building) -> None:
        self.status(event.text)

    def installing(self, event: Installing) -> None:
        self.status(event.text)

    # -- text ---------------------------------------------------------------------

    def status(self, text: str) -> None:
        """Transient progress ("Locking for cp311-…"): shown in place on a terminal."""

    def info(self, text: str) -> None:
        """A line worth keeping: a summary or a change ("Built cftime-1.6.1-…whl")."""

    def warn(self, text: str) -> None:
        """Something the user should act on; shown even when quiet."""

    def debug(self, text: str) -> None:
        """Detail for -v: which metadata path was taken, why a cache entry was dropped."""


class NullReporter(Reporter):
    """A reporter that shows nothing."""


NULL_REPORTER: Reporter = NullReporter()
