"""The install journal: an interrupted install is remembered in the target environment.

An installer killed midway (Ctrl-C, SIGTERM, a power cut) leaves a distribution with
some of its files: its metadata may already say "installed", so a later ``sync``
would believe the environment matches. Before the installer runs, sync writes the
batch it is about to install and remove into ``<prefix>/lock-build-journal.json``
(in the environment itself, so clearing the cache cannot lose it), and deletes the
file once the installer has finished. A journal found at the next sync means the
batch is unverified: those packages are reinstalled, their RECORD hashes are
checked to say what was damaged, and ``sync --dry-run`` reports a mismatch until then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from lock_build.cache import (
    CacheEntryError,
    expect_dict,
    expect_list,
    expect_str,
    read_entry,
    write_entry,
)

JOURNAL_NAME = "lock-build-journal.json"
_KIND = "install-journal-v1"


@dataclass(frozen=True, kw_only=True, slots=True)
class Journal:
    """The batch an install was changing: ``name==version`` to install, names to remove."""

    installing: tuple[tuple[NormalizedName, str], ...]
    removing: tuple[NormalizedName, ...] = ()

    @property
    def names(self) -> frozenset[NormalizedName]:
        return frozenset(n for n, _ in self.installing) | frozenset(self.removing)

    def to_json(self) -> dict[str, object]:
        return {
            "installing": [{"name": n, "version": v} for n, v in self.installing],
            "removing": list(self.removing),
        }


def _journal(value: object) -> Journal:
    data = expect_dict(value, "value")
    installing = []
    for i, item in enumerate(expect_list(data["installing"], "installing")):
        entry = expect_dict(item, f"installing[{i}]")
        name = expect_str(entry["name"], f"installing[{i}].name")
        installing.append((canonicalize_name(name), expect_str(entry["version"], "version")))
    removing = [
        canonicalize_name(expect_str(n, f"removing[{i}]"))
        for i, n in enumerate(expect_list(data["removing"], "removing"))
    ]
    if not installing and not removing:
        raise CacheEntryError("an empty journal")
    return Journal(installing=tuple(installing), removing=tuple(removing))


def journal_path(prefix: Path) -> Path:
    return prefix / JOURNAL_NAME


def read_journal(prefix: Path) -> Journal | None:
    """The journal of an interrupted install in the environment at ``prefix``, if any.

    A damaged journal is still an interrupted install, of an unknown batch: it is
    dropped (with a warning) and reads as ``None``; the RECORD check of every
    distribution still catches what it left broken.
    """
    return read_entry(journal_path(prefix), _KIND, _journal)


def begin(prefix: Path, journal: Journal) -> None:
    """Record ``journal`` before the installer runs (atomically: whole or absent)."""
    if not write_entry(journal_path(prefix), _KIND, journal.to_json()):
        from lock_build.errors import SyncError

        raise SyncError(
            f"Cannot write the install journal {journal_path(prefix)}.",
            path=journal_path(prefix),
            hint="The target environment must be writable to be synced.",
        )


def finish(prefix: Path) -> None:
    """The installer finished: the batch is complete."""
    journal_path(prefix).unlink(missing_ok=True)


# -- RECORD verification ------------------------------------------------------------------


def damaged_files(site_dirs: Sequence[Path], name: NormalizedName, version: str) -> list[str]:
    """Files of an installed distribution that differ from its RECORD (or are missing);
    ``["RECORD"]`` when the distribution has no readable RECORD at all."""
    import base64  # here, as csv below: a sync with no journal to repair never needs them

    record = _record_of(site_dirs, name, version)
    if record is None:
        return ["RECORD"]
    site, rows = record
    bad = []
    for row in rows:
        if len(row) < 2 or not row[1]:
            continue  # RECORD itself, .pyc files: no hash by design
        path, hashed = row[0], row[1]
        algorithm, _, expected = hashed.partition("=")
        if algorithm != "sha256":
            continue
        try:
            data = (site / path).read_bytes()
        except OSError:
            bad.append(path)
            continue
        actual = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        if actual != expected:
            bad.append(path)
    return bad


def _record_of(
    site_dirs: Iterable[Path], name: NormalizedName, version: str
) -> tuple[Path, list[list[str]]] | None:
    for site in site_dirs:
        try:
            candidates = list(site.glob("*.dist-info"))
        except OSError:
            continue
        for info in candidates:
            dist, _, dist_version = info.name[: -len(".dist-info")].partition("-")
            if canonicalize_name(dist) != name or dist_version != version:
                continue
            try:
                text = (info / "RECORD").read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
            import csv

            return site, list(csv.reader(text.splitlines()))
    return None


__all__ = [
    "JOURNAL_NAME",
    "Journal",
    "begin",
    "damaged_files",
    "finish",
    "journal_path",
    "read_journal",
]
