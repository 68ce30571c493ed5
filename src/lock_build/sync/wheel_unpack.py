"""What the builtin installer takes from PyPA ``installer``, in a module of its own.

``installer`` (with the parts of ``email`` it brings) costs a sync about as much to
import as the rest of the sync command, and only a sync that installs a wheel needs it:
:mod:`lock_build.sync.installers` imports this module when it unpacks or inspects a
wheel, so a sync with nothing to do never loads it.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import stat
import zipfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, BinaryIO, cast

from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.records import Hash, RecordEntry, parse_record_file
from installer.sources import WheelFile
from installer.utils import Scheme

from lock_build.sync.bytecode import Source
from lock_build.sync.zip_members import read_small

__all__ = [
    "SPLIT_FILES",
    "UNREADABLE",
    "Share",
    "Survey",
    "RecordingDestination",
    "correct_record",
    "record_entries",
    "root_is_purelib",
    "root_scheme",
    "shares",
    "unpack",
    "unpack_share",
]

# What reading or unpacking a broken wheel raises.
UNREADABLE: tuple[type[Exception], ...] = (
    InstallerError,
    zipfile.BadZipFile,
    OSError,
    ValueError,
    KeyError,
)

# A wheel with at least this many library files is unpacked by several workers at once
# (see shares()): in the web stack only Django's 2,900 qualify, which alone were 0.4 of
# the 0.9 s its 49 wheels take to unpack, and the critical path of a sync.
SPLIT_FILES = 1000
# What one more file costs to write, in bytes of content (measured on tmpfs: ~60 us a
# file against ~300 MB/s of inflating and writing): the weight that balances the shares.
_FILE_COST = 16 * 1024

# One share of a wheel's library files: (member, its RECORD hash, its RECORD size).
Share = list[tuple[str, str, str]]

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

    def __init__(
        self, *args: Any, promised: Mapping[str, RecordEntry] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # Library files another worker writes (see shares()): their RECORD entries as the
        # wheel states them, checked against what that worker wrote (correct_record());
        # and those written before installer's pass (_prewrite()), as written.
        self.promised: dict[str, RecordEntry] = dict(promised or {})
        self.sources: list[Source] = []
        self._made: set[str] = set()
        self._roots = {key: os.path.abspath(value) for key, value in self.scheme_dict.items()}
        self._inside = {key: root.rstrip(os.sep) + os.sep for key, root in self._roots.items()}

    def write_to_fs(
        self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        if self.destdir is not None:  # not how lock-build installs: installer's own way
            return super().write_to_fs(scheme, path, stream, is_executable)
        target, handle = self._create(scheme, path)
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
        return self._written(target, path, digest, size, is_executable)

    def write_bytes(
        self, scheme: Scheme, path: str, data: bytes, is_executable: bool
    ) -> RecordEntry:
        """:meth:`write_file` for a library file read whole (see sync.zip_members)."""
        target, handle = self._create(scheme, path)
        try:
            _write_all(handle, data)
        finally:
            os.close(handle)
        entry = self._written(
            target, path, hashlib.new(self.hash_algorithm, data), len(data), is_executable
        )
        self._remember(scheme, path, entry)
        return entry

    def _create(self, scheme: Scheme, path: str) -> tuple[str, int]:
        """The file ``path`` of ``scheme``, created (or emptied) for writing."""
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
            return target, os.open(target, flags, 0o666)
        except FileExistsError:
            raise FileExistsError(f"File already exists: {target}") from None

    def _written(
        self, target: str, path: str, digest: Any, size: int, is_executable: bool
    ) -> RecordEntry:
        if is_executable:  # as pip and installer make a script executable
            os.chmod(target, 0o777 & ~_umask() | 0o111)
        encoded = base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")
        return RecordEntry(path, Hash(self.hash_algorithm, encoded), size)

    def write_file(
        self, scheme: Scheme, path: str | os.PathLike[str], stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        promised = self.promised.get(os.fspath(path))
        if promised is not None and scheme in ("purelib", "platlib"):
            return promised
        entry = super().write_file(scheme, path, stream, is_executable)
        self._remember(scheme, os.fspath(path), entry)
        return entry

    def _remember(self, scheme: Scheme, path: str, entry: RecordEntry) -> None:
        if scheme in ("purelib", "platlib") and path.endswith(".py"):
            full = os.path.join(self.scheme_dict[scheme], path)
            self.sources.append(Source(path=full, size=entry.size or 0))


def root_is_purelib(source: WheelFile) -> bool:
    text = source.read_dist_info("WHEEL")
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "root-is-purelib":
            return value.strip().lower() == "true"
    return False


def root_scheme(source: WheelFile) -> Scheme:
    """The library directory the wheel's root goes to."""
    return cast(Scheme, "purelib" if root_is_purelib(source) else "platlib")


def record_entries(source: WheelFile) -> list[RecordEntry]:
    rows = parse_record_file(source.read_dist_info("RECORD").splitlines())
    return [RecordEntry.from_elements(*row) for row in rows]


def _destination(
    source: WheelFile,
    scheme: Mapping[str, str],
    headers_base: str,
    interpreter: str,
    promised: Mapping[str, RecordEntry] | None = None,
) -> RecordingDestination:
    from installer.utils import get_launcher_kind

    return RecordingDestination(
        scheme_dict={**scheme, "headers": os.path.join(headers_base, source.distribution)},
        interpreter=interpreter,
        script_kind=get_launcher_kind(),
        bytecode_optimization_levels=(),  # the target compiles them (sync.bytecode)
        overwrite_existing=True,  # as pip: a stray file is replaced
        promised=promised,
    )


def unpack(
    wheel: str,
    *,
    scheme: dict[str, str],
    headers_base: str,
    interpreter: str,
    additional_metadata: dict[str, bytes],
    others: Collection[str] = (),
) -> tuple[str, list[Source]]:
    """Install ``wheel`` into ``scheme`` (headers under ``headers_base/<distribution>``):
    the path of its RECORD and the .py files written. The library files in ``others``
    are left to other workers (:func:`unpack_share`); RECORD lists them as the wheel's
    RECORD does."""
    from installer import install

    with zipfile.ZipFile(wheel) as archive:
        source = _PrewrittenWheel(archive)
        promised = {}
        if others:
            wanted = set(others)
            promised = {e.path: e for e in record_entries(source) if e.path in wanted}
        destination = _destination(source, scheme, headers_base, interpreter, promised)
        root = root_scheme(source)
        library = _library_members(archive, source, leave=frozenset(others))
        source.prewritten = _prewrite(wheel, library, destination, root)
        install(source, destination, additional_metadata=additional_metadata)
        record = os.path.join(scheme[root], source.dist_info_dir, "RECORD")
    return record, destination.sources


class _PrewrittenWheel(WheelFile):
    """installer's view of a wheel whose small library files :func:`_prewrite` wrote
    already: installer is handed an empty stream for each, and the destination answers
    with the entry it promised (what was written), so RECORD lists every file in the
    wheel's order without a second opening of any."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        super().__init__(archive)
        self.archive = archive
        self.prewritten: frozenset[str] = frozenset()

    def get_contents(self) -> Iterator[tuple[tuple[str, str, str], BinaryIO, bool]]:
        # installer's WheelFile.get_contents, skipping what was written.
        rows = parse_record_file(self.read_dist_info("RECORD").splitlines())
        records = {row[0]: row for row in rows}
        for info in self.archive.infolist():
            if info.filename.endswith("/"):  # a directory
                continue
            record = records.pop(info.filename, (info.filename, "", ""))
            if info.filename in self.prewritten:
                yield record, io.BytesIO(), False
                continue
            with self.archive.open(info) as stream:
                yield record, cast(BinaryIO, stream), _is_executable(info)


def _is_executable(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16  # as installer (and pip) decide it
    return bool(mode and stat.S_ISREG(mode) and mode & 0o111)


def _library_members(
    archive: zipfile.ZipFile, source: WheelFile, leave: frozenset[str] = frozenset()
) -> list[zipfile.ZipInfo]:
    """The members installer would write verbatim into the library directory, but
    those in ``leave``."""
    special = _special_dirs(source.dist_info_dir, source.data_dir)
    return [
        info
        for info in archive.infolist()
        if _is_library_file(info.filename, special) and info.filename not in leave
    ]


def _special_dirs(dist_info_dir: str, data_dir: str) -> tuple[str, str]:
    return f"{dist_info_dir}/", f"{data_dir}/"


def _is_library_file(name: str, special: tuple[str, str]) -> bool:
    """Not a directory, not in ``.dist-info`` or ``.data`` (``special``), not in a
    ``__pycache__`` (installer skips those)."""
    return not (
        name.endswith("/") or name.startswith(special) or "__pycache__" in name.split("/")[:-1]
    )


def _prewrite(
    wheel: str,
    members: Sequence[zipfile.ZipInfo],
    destination: RecordingDestination,
    root: Scheme,
) -> frozenset[str]:
    """Write the small ones of ``members`` (see sync.zip_members) into ``root`` and
    promise their entries: the names written; installer writes the rest."""
    written = set()
    with open(wheel, "rb") as handle:
        for info in members:
            data = read_small(handle, info)
            if data is None:
                continue
            entry = destination.write_bytes(root, info.filename, data, _is_executable(info))
            destination.promised[info.filename] = entry
            written.add(info.filename)
    return frozenset(written)


class Survey:
    """What the installing process reads of a wheel before anything is written, in one
    opening of the archive: where its root goes, its RECORD, and its members' sizes (for
    :func:`shares`). The conflict check and the shares both come from it: opening
    Django's 2,900-file wheel is 30 ms, and it was opened for each."""

    __slots__ = ("data_dir", "dist_info_dir", "distribution", "members", "records", "root")

    def __init__(self, wheel: str | os.PathLike[str]) -> None:
        with zipfile.ZipFile(wheel) as archive:
            source = WheelFile(archive)
            self.distribution: str = source.distribution
            self.dist_info_dir: str = source.dist_info_dir
            self.data_dir: str = source.data_dir
            self.root: Scheme = root_scheme(source)
            self.records: list[RecordEntry] = record_entries(source)
            # (name, uncompressed size) in archive order: ZipFile read them all anyway.
            self.members: list[tuple[str, int]] = [
                (info.filename, info.file_size) for info in archive.infolist()
            ]


def shares(survey: Survey, parts: int) -> list[Share]:
    """``parts - 1`` shares of the surveyed wheel's library files for workers beside the
    one that installs it with installer (which writes the rest, its metadata, scripts and
    RECORD), each about a ``parts``-th of the work; [] for a wheel with fewer than
    :data:`SPLIT_FILES` such files.

    A file can be shared if installer would write it verbatim into the library
    directory: not a directory, not in ``.dist-info`` or ``.data``, not in a
    ``__pycache__`` (installer skips those), and listed in RECORD with a hash and size."""
    if parts < 2:
        return []
    records = {e.path: e for e in survey.records}
    special = _special_dirs(survey.dist_info_dir, survey.data_dir)
    total = 0
    candidates: list[tuple[str, str, str, int]] = []
    for name, file_size in survey.members:
        weight = file_size + _FILE_COST
        total += weight
        entry = records.get(name)
        if (
            not _is_library_file(name, special)
            or entry is None
            or entry.hash_ is None
            or entry.size is None
        ):
            continue
        candidates.append((name, str(entry.hash_), str(entry.size), weight))
    if len(candidates) < SPLIT_FILES:
        return []
    # The last runs of files go to the other workers, a parts-th of all the work each;
    # installer's worker keeps the first run and everything that cannot be shared.
    out: list[Share] = []
    target = total / parts
    current: Share = []
    weight = 0
    for name, digest, size, cost in reversed(candidates):
        if len(out) == parts - 1:
            break
        current.append((name, digest, size))
        weight += cost
        if weight >= target:
            out.append(current[::-1])
            current, weight = [], 0
    return out[::-1]


def unpack_share(
    wheel: str,
    *,
    scheme: dict[str, str],
    headers_base: str,
    interpreter: str,
    members: Sequence[str],
) -> tuple[Share, list[Source]]:
    """Write the library files ``members`` of ``wheel`` as :func:`unpack` would: what was
    written (path, hash, size, as RECORD states them) and the .py files among them."""
    with zipfile.ZipFile(wheel) as archive, open(wheel, "rb") as handle:
        source = WheelFile(archive)
        root = root_scheme(source)
        destination = _destination(source, scheme, headers_base, interpreter)
        written = []
        for name in members:
            info = archive.getinfo(name)
            executable = _is_executable(info)
            data = read_small(handle, info)
            if data is not None:
                entry = destination.write_bytes(root, name, data, executable)
            else:
                with archive.open(info) as stream:
                    entry = destination.write_file(root, name, cast(BinaryIO, stream), executable)
            written.append((entry.path, str(entry.hash_), str(entry.size)))
    return written, destination.sources


def correct_record(record: str, stated: Share, written: Share) -> None:
    """Where another worker wrote a file whose hash or size is not what the wheel's
    RECORD states (``stated``), put what was written in the installed RECORD, as an
    unshared install would have."""
    actual = {path: (digest, size) for path, digest, size in written}
    wrong = {path for path, digest, size in stated if actual.get(path) != (digest, size)}
    if not wrong:
        return
    with open(record, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=",", quotechar='"', lineterminator="\n")
    for row in rows:
        if row and row[0] in wrong and row[0] in actual:
            row = [row[0], *actual[row[0]]]
        writer.writerow(row)
    with open(record, "w", encoding="utf-8", newline="") as handle:
        handle.write(out.getvalue())
