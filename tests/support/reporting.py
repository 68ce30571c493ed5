"""A reporter that records what the core said, for assertions."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RecordingReporter:
    """Keeps every message by kind; ``statuses`` is what a terminal's status line showed."""

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
