"""What the builtin installer takes from PyPA ``installer``, in a module of its own.

``installer`` (with the parts of ``email`` it brings) costs a sync about as much to
import as the rest of the sync command, and only a sync that installs a wheel needs it:
:mod:`lock_build.sync.installers` imports this module when it unpacks or inspects a
wheel, so a sync with nothing to do never loads it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any, BinaryIO

from installer.destinations import SchemeDictionaryDestination
from installer.records import Hash, RecordEntry, parse_record_file
from installer.sources import WheelFile
from installer.utils import Scheme

from lock_build.sync.bytecode import Source

__all__ = ["RecordingDestination", "record_entries", "root_is_purelib", "unpack"]

# Big enough that most files are one read and one write, small enough for a big .so.
_CHUNK = 1024 * 1024
_CREATE = (
    os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


def _umask() -> int:
    """The process's umask, read without changing it where the system allows: setting it
    and back (the only portable way) would let another installing thread create a file
    unmasked in between."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)  # the safe side while it is swapped out
    os.umask(mask)
    return mask


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view) :]


class RecordingDestination(SchemeDictionaryDestination):
    """Writes a wheel's files as installer does, faster; remembers the .py files it
    writes into the library directories (to compile).

    installer's own ``write_to_fs`` builds several ``pathlib`` objects and asks the
    filesystem whether the parent directory exists for each file: for the thousands of
    small files of a typical stack, that Python work and those system calls are about a
    fifth of a sync. This one does the same with ``os.path`` strings, and each directory
    is made once.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sources: list[Source] = []
        self._made: set[str] = set()
        self._roots = {key: os.path.abspath(value) for key, value in self.scheme_dict.items()}
        self._inside = {key: root.rstrip(os.sep) + os.sep for key, root in self._roots.items()}

    def write_to_fs(
        self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        if self.destdir is not None:  # not how lock-build installs: installer's own way
            return super().write_to_fs(scheme, path, stream, is_executable)
        root = self._roots[scheme]
        target = os.path.abspath(os.path.join(root, path))
        # The member's name is untrusted: "../" or an absolute path must not leave the
        # scheme directory (installer's check, with strings: both are normalised and
        # absolute, so inside means "starts with the root and a separator").
        if not target.startswith(self._inside[scheme]):
            raise ValueError(f"Attempting to write {path} outside of the target directory")
        parent = os.path.dirname(target)
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)
        flags = _CREATE if self.overwrite_existing else _CREATE | os.O_EXCL
        try:
            handle = os.open(target, flags, 0o666)
        except FileExistsError:
            raise FileExistsError(f"File already exists: {target}") from None
        digest = hashlib.new(self.hash_algorithm)
        size = 0
        # Plain writes on the descriptor: a buffered file object per file was a tenth of
        # the unpacking, and each chunk is written whole anyway.
        try:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                _write_all(handle, chunk)
                size += len(chunk)
        finally:
            os.close(handle)
        if is_executable:  # as pip and installer make a script executable
            os.chmod(target, 0o777 & ~_umask() | 0o111)
        encoded = base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")
        return RecordEntry(path, Hash(self.hash_algorithm, encoded), size)

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


def unpack(
    wheel: str,
    *,
    scheme: dict[str, str],
    headers_base: str,
    interpreter: str,
    additional_metadata: dict[str, bytes],
) -> tuple[str, list[Source]]:
    """Install ``wheel`` into ``scheme`` (headers under ``headers_base/<distribution>``):
    the path of its RECORD and the .py files written, in RECORD order."""
    from installer import install
    from installer.utils import get_launcher_kind

    with WheelFile.open(Path(wheel)) as source:
        destination = RecordingDestination(
            scheme_dict={**scheme, "headers": os.path.join(headers_base, source.distribution)},
            interpreter=interpreter,
            script_kind=get_launcher_kind(),
            bytecode_optimization_levels=(),  # the target compiles them (sync.bytecode)
            overwrite_existing=True,  # as pip: a stray file is replaced
        )
        install(source, destination, additional_metadata=additional_metadata)
        root = "purelib" if root_is_purelib(source) else "platlib"
        record = os.path.join(scheme[root], source.dist_info_dir, "RECORD")
    return record, destination.sources
