"""What the builtin installer takes from PyPA ``installer``, in a module of its own.

``installer`` (with the parts of ``email`` it brings) costs a sync about as much to
import as the rest of the sync command, and only a sync that installs a wheel needs it:
:mod:`lock_build.sync.installers` imports this module when it unpacks or inspects a
wheel, so a sync with nothing to do never loads it.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from installer.destinations import SchemeDictionaryDestination
from installer.records import RecordEntry, parse_record_file
from installer.sources import WheelFile
from installer.utils import Scheme

from lock_build.sync.bytecode import Source

__all__ = ["RecordingDestination", "record_entries", "root_is_purelib"]


class RecordingDestination(SchemeDictionaryDestination):
    """Remembers the .py files it writes into the library directories (to compile)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sources: list[Source] = []

    def write_file(
        self, scheme: Scheme, path: str | os.PathLike[str], stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        entry = super().write_file(scheme, path, stream, is_executable)
        if scheme in ("purelib", "platlib") and os.fspath(path).endswith(".py"):
            full = os.path.join(self.scheme_dict[scheme], os.fspath(path))
            self.sources.append(Source(path=full, size=entry.size or 0))
        return entry


def root_is_purelib(source: WheelFile) -> bool:
    text = source.read_dist_info("WHEEL")
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "root-is-purelib":
            return value.strip().lower() == "true"
    return False


def record_entries(source: WheelFile) -> list[RecordEntry]:
    rows = parse_record_file(source.read_dist_info("RECORD").splitlines())
    return [RecordEntry.from_elements(*row) for row in rows]
