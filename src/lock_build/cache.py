"""The one on-disk format for every cache entry: JSON documents read through a schema.

Every entry is ``{"kind": ..., "format": N, "value": ...}``. JSON cannot run code when
read (pickle can, which matters as soon as a cache directory is shared), and the
standard library parses multi-megabyte documents quickly. A read is checked twice:
the envelope (kind and format), then the value through the caller's ``parse``
function, which turns it into typed values or raises :class:`CacheEntryError`. An
entry that fails either check is deleted, named in one warning on the
``lock_build.cache`` logger (the CLI shows it), and treated as a miss, so the caller
recomputes it. This catches corruption and accidents, not an attacker who can write
the cache: a cache directory must be writable only by its user.

Writes go to a temporary file in the same directory and are renamed into place,
so a reader in another process sees the old entry, the new one, or none — never half.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

__all__ = [
    "FORMAT",
    "CacheEntryError",
    "atomic_write_bytes",
    "drop",
    "expect_dict",
    "expect_int",
    "expect_list",
    "expect_optional_str",
    "expect_str",
    "read_entry",
    "sha256_file",
    "write_entry",
]

T = TypeVar("T")

log = logging.getLogger("lock_build.cache")

# Bumped when the envelope changes; callers version their own values in ``kind``.
FORMAT = 2
_HASH_CHUNK = 1 << 20


class CacheEntryError(ValueError):
    """A cache value that does not have the shape its reader expects (internal)."""


def read_entry(path: Path, kind: str, parse: Callable[[object], T]) -> T | None:
    """The typed value stored at ``path``; ``None`` if absent, or damaged (then dropped)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("cache entry %s cannot be read (%s); recomputing it", path, exc.strerror)
        return None
    try:
        document = json.loads(raw)
        if not isinstance(document, dict):
            raise CacheEntryError("not a JSON object")
        if document.get("kind") != kind or document.get("format") != FORMAT:
            raise CacheEntryError(f"not a format-{FORMAT} {kind} entry")
        if "value" not in document:
            raise CacheEntryError("no value")
        return parse(document["value"])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # ValueError covers JSONDecodeError, UnicodeDecodeError and CacheEntryError; the
        # others are a parse function meeting a shape it did not expect.
        drop(path, kind, _reason(exc))
        return None


def write_entry(path: Path, kind: str, value: object) -> bool:
    """Store ``value`` at ``path`` atomically; ``False`` if the cache cannot be written.

    A cache that cannot be written only makes later runs slower, so it is not an error.
    """
    try:
        atomic_write_bytes(path, _encoded({"kind": kind, "format": FORMAT, "value": value}))
    except OSError as exc:
        log.debug("cache entry %s not written (%s)", path, exc)
        return False
    return True


def _encoded(document: dict[str, object]) -> bytes:
    """Compact JSON with sorted keys. msgspec writes it several times faster than ``json``
    (a parsed page holds thousands of rows); a string it will not encode (a lone
    surrogate from a file name) takes the ``json`` way, with the same layout."""
    import msgspec

    try:
        return msgspec.json.encode(document, order="sorted")
    except (TypeError, UnicodeEncodeError, msgspec.EncodeError):
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        return text.encode("utf-8", "surrogateescape")


def drop(path: Path, kind: str, reason: str) -> None:
    """Delete a damaged entry and say so in one line."""
    log.warning("dropped a damaged %s cache entry %s (%s); recomputing it", kind, path, reason)
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass  # read-only cache: the entry stays a miss every time


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a sibling temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- schema helpers for parse functions ------------------------------------------------


def expect_str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise CacheEntryError(f"{where} is {type(value).__name__}, not a string")
    return value


def expect_optional_str(value: object, where: str) -> str | None:
    return None if value is None else expect_str(value, where)


def expect_list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise CacheEntryError(f"{where} is {type(value).__name__}, not a list")
    return value


def expect_dict(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise CacheEntryError(f"{where} is {type(value).__name__}, not an object")
    return value


def expect_int(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise CacheEntryError(f"{where} is {type(value).__name__}, not an integer")
    return value


def _reason(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return "not valid JSON"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
