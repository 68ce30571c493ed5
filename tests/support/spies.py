"""Spies that record what a real call was asked, and still make it."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from lock_build import target


def probe_spy(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The interpreters really probed (the real probe runs; the list only records it)."""
    asked: list[Path] = []
    real = target.probe_interpreter

    def spy(interpreter: Path) -> dict[str, object]:
        asked.append(interpreter)
        return real(interpreter)

    monkeypatch.setattr(target, "probe_interpreter", spy)
    return asked


def bundle_load_spy(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The CA bundles really loaded into an SSL context (each load's ``cafile``)."""
    loads: list[object] = []
    original = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        loads.append(kwargs.get("cafile", args[0] if args else None))
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    return loads
