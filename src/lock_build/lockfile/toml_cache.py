"""A lock's TOML parsed once: tomllib's answer kept as JSON until the lock's text changes.

``tomllib`` is pure Python: a lock of a few hundred kilobytes (every file of every
locked version, with hashes) takes tens of milliseconds to parse, most of a sync's own
work when it has nothing to do. The standard library's JSON parser reads the same
values in a few. So the parsed document is kept in the cache (one entry per lock path,
in the one JSON format of :mod:`lock_build.cache`) with the sha256 of the text it came
from, and reused only while the text has that digest.

Only the parse is kept: the document is validated into a typed :class:`Lock` on every
read, as if just parsed, so a lock is still checked completely before anything is
fetched or written. TOML's date-times travel as ``{"$datetime": ISO}`` objects; a
document that does not come back from JSON equal to tomllib's (a table of that one key,
a local date or time) is simply not cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lock_build.cache import CacheEntryError, expect_dict, expect_str, read_entry, write_entry

__all__ = ["KIND", "Parsed", "entry_path", "parse"]

KIND = "lock-toml-1"
_DATETIME = "$datetime"


class _NotCached(Exception):
    """A value JSON cannot carry back unchanged (internal)."""


def entry_path(cache_dir: Path, lock_path: Path) -> Path:
    """One entry per lock path: a changed lock replaces its entry instead of adding one."""
    key = hashlib.sha256(os.fsencode(lock_path.absolute())).hexdigest()
    return cache_dir / "locks" / key[:2] / f"{key}.json"


@dataclass(frozen=True, kw_only=True, slots=True)
class Parsed:
    """tomllib's answer, and the cache entry to write once the caller has accepted it."""

    data: dict[str, Any]
    unsaved: tuple[Path, dict[str, str]] | None = None  # (entry, value), None: nothing new

    def keep(self) -> None:
        """Write the entry: only for a lock that was read and checked without a fault, so
        a refused lock leaves nothing behind."""
        if self.unsaved is not None:
            write_entry(self.unsaved[0], KIND, self.unsaved[1])


def parse(text: str, *, lock_path: Path | None, cache_dir: Path | None) -> Parsed:
    """``tomllib.loads(text)``, from the cache when ``lock_path``'s entry has this text's
    digest. Raises ``tomllib.TOMLDecodeError`` as tomllib does."""
    if cache_dir is None or lock_path is None:
        return Parsed(data=tomllib.loads(text))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    path = entry_path(cache_dir, lock_path)
    found = read_entry(path, KIND, lambda value: _read(value, digest))
    if found is not None:
        return Parsed(data=found)
    data = tomllib.loads(text)
    try:
        # A string inside the entry: the document's key order survives (the envelope's
        # writer sorts keys), and it comes back through one C-speed parse.
        document = json.dumps(data, default=_encode, ensure_ascii=False, separators=(",", ":"))
    except _NotCached:
        return Parsed(data=data)
    try:
        same = json.loads(document, object_hook=_decode) == data
    except CacheEntryError:
        same = False
    if not same:
        return Parsed(data=data)  # something JSON would not give back as tomllib did
    return Parsed(data=data, unsaved=(path, {"sha256": digest, "document": document}))


def _read(value: object, digest: str) -> dict[str, Any] | None:
    entry = expect_dict(value, "value")
    if expect_str(entry.get("sha256"), "sha256") != digest:
        return None  # the lock changed since: a miss, and the entry is rewritten
    document = json.loads(expect_str(entry.get("document"), "document"), object_hook=_decode)
    if not isinstance(document, dict):
        raise CacheEntryError("the document is not a table")
    return document


def _encode(value: object) -> object:
    if isinstance(value, datetime):
        return {_DATETIME: value.isoformat()}
    raise _NotCached  # a local date or time: rare in a lock, not worth a second tag


def _decode(table: dict[str, Any]) -> Any:
    if _DATETIME not in table:
        return table
    if len(table) != 1 or not isinstance(table[_DATETIME], str):
        raise CacheEntryError("a date-time of the wrong shape")
    try:
        return datetime.fromisoformat(table[_DATETIME])
    except ValueError:
        raise CacheEntryError("a date-time that is not ISO 8601") from None
