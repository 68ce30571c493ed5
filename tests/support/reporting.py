"""A reporter that records what the core said, for assertions."""

from __future__ import annotations

from dataclasses import dataclass, field

from lock_build.reporting import Building, Fetching, Installing, Reporter, Resolving


@dataclass
class RecordingReporter(Reporter):
    """Keeps every message by kind; ``statuses`` is what a terminal's status line showed,
    ``events`` the typed progress events in order."""

    events: list[Resolving | Fetching | Building | Installing] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    debugs: list[str] = field(default_factory=list)

    def status(self, text: str) -> None:
        self.statuses.append(text)

    def info(self, text: str) -> None:
        self.infos.append(text)

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def debug(self, text: str) -> None:
        self.debugs.append(text)

    def resolving(self, event: Resolving) -> None:
        self.events.append(event)
        super().resolving(event)

    def fetching(self, event: Fetching) -> None:
        self.events.append(event)
        super().fetching(event)

    def building(self, event: Building) -> None:
        self.events.append(event)
        super().building(event)

    def installing(self, event: Installing) -> None:
        self.events.append(event)
        super().installing(event)
