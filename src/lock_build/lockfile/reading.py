"""Validated reading of a lock's plain data: typed reads that collect every problem, located.

A lock is untrusted input (it arrives through pull requests and CI reads it unattended),
so every value is read through a :class:`Reader`, which checks the type, refuses control
characters and records a :class:`Problem` with the path where it is instead of raising;
a table's ``from_dict`` raises one :class:`LockValidationError` listing them all.
Each value of :mod:`.packages`, :mod:`.builds` and :mod:`.target_table` has a
``_read(data, path, reader)`` classmethod that its enclosing table calls with the path
so far; :func:`read_one` is that reader's ``from_dict`` for one stand-alone table. The
URL check (:func:`url_problem`) is here because every table that holds a URL shares it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

__all__ = [
    "TARGET_ID",
    "LockValidationError",
    "Path_",
    "Problem",
    "Reader",
    "kind_of",
    "last_segment",
    "printable",
    "read_one",
    "render_path",
    "url_problem",
]

# A path into the lock's data: ("package", 3, "wheels", 1, "sha256").
Path_ = tuple[str | int, ...]

# A [[target]] id, as the target tables and the entries that name targets spell it.
TARGET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# RFC 3986: unreserved, reserved and percent signs; nothing else belongs in a URL.
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a lock, and where: the codec turns ``path`` into a line."""

    path: Path_
    message: str


class LockValidationError(Exception):
    """Every problem found in a lock's data (the codec renders them, located)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{render_path(p.path)}: {p.message}" for p in problems))
        self.problems = tuple(problems)


def render_path(path: Path_) -> str:
    """``path`` as the lock's TOML spells it: ``package[3].wheels[1].sha256``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# --- reading plain data, collecting problems ------------------------------------------


class Reader:
    """Typed reads of plain data; every failure is recorded, none raises."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: Path_, message: str) -> None:
        self.problems.append(Problem(path, message))

    def table(self, data: Mapping[str, Any], key: str, path: Path_) -> Mapping[str, Any] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.add((*path, key), f"must be a table, not {kind_of(value)}")
            return None
        return value

    def string(
        self, data: Mapping[str, Any], key: str, path: Path_, *, required: bool = False
    ) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.add((*path, key), "is missing")
            return None
        if not isinstance(value, str):
            self.add((*path, key), f"must be a string, not {kind_of(value)}")
            return None
        if not printable(value):
            self.add((*path, key), "holds control characters")
            return None
        return value

    def boolean(self, data: Mapping[str, Any], key: str, path: Path_, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.add((*path, key), f"must be true or false, not {kind_of(value)}")
            return default
        return value

    def target_ids(self, data: Mapping[str, Any], key: str, path: Path_) -> tuple[str, ...]:
        """An array of ``[[target]]`` ids (that they name targets is a cross check)."""
        found = []
        for i, ident in enumerate(self.strings(data, key, path)):
            if TARGET_ID.fullmatch(ident):
                found.append(ident)
            else:
                self.add((*path, key, i), f"{ident!r} is not a target id")
        return tuple(found)

    def strings(self, data: Mapping[str, Any], key: str, path: Path_) -> tuple[str, ...]:
        value = data.get(key, ())
        if not isinstance(value, (list, tuple)):
            self.add((*path, key), f"must be an array of strings, not {kind_of(value)}")
            return ()
        found = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.add((*path, key, i), f"must be a string, not {kind_of(item)}")
            elif not printable(item):
                self.add((*path, key, i), "holds control characters")
            else:
                found.append(item)
        return tuple(found)

    def tables(
        self, data: Mapping[str, Any], key: str, path: Path_
    ) -> Iterator[tuple[int, Mapping[str, Any]]]:
        value = data.get(key, ())
        if not isinstance(value, (list, tuple)):
            self.add((*path, key), f"must be an array of tables, not {kind_of(value)}")
            return
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                yield i, item
            else:
                self.add((*path, key, i), f"must be a table, not {kind_of(item)}")

    def name(self, value: str | None, path: Path_) -> NormalizedName | None:
        if value is None:
            return None
        try:
            return canonicalize_name(value, validate=True)
        except InvalidName:
            self.add(path, f"{value!r} is not a valid project name")
            return None

    def version(self, value: str | None, path: Path_) -> Version | None:
        if value is None:
            return None
        try:
            return Version(value)
        except InvalidVersion:
            self.add(path, f"{value!r} is not a valid version")
            return None

    def specifier(self, value: str | None, path: Path_) -> SpecifierSet | None:
        if value is None:
            return None
        try:
            return SpecifierSet(value)
        except InvalidSpecifier:
            self.add(path, f"{value!r} is not a valid version specifier")
            return None

    def requirements(
        self, data: Mapping[str, Any], key: str, path: Path_
    ) -> tuple[Requirement, ...]:
        found = []
        raw = data.get(key, ())
        for i, text in enumerate(self.strings(data, key, path)):
            try:
                found.append(Requirement(text))
            except InvalidRequirement:
                index = list(raw).index(text) if isinstance(raw, list) else i
                self.add((*path, key, index), f"{text!r} is not a valid requirement")
        return tuple(found)

    def names(self, data: Mapping[str, Any], key: str, path: Path_) -> tuple[NormalizedName, ...]:
        found = []
        for i, text in enumerate(self.strings(data, key, path)):
            name = self.name(text, (*path, key, i))
            if name is not None:
                found.append(name)
        return tuple(found)


def kind_of(value: object) -> str:
    """What a TOML value is, for a message that says what was found instead."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, datetime):
        return "a date-time"
    return type(value).__name__


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# For a str pattern, \s is exactly str.isspace() (both are Py_UNICODE_ISSPACE), in C:
# a lock has thousands of URLs.
_WHITESPACE = re.compile(r"\s")


def printable(text: str) -> bool:
    """Whether ``text`` holds no control character (nothing a terminal or shell acts on)."""
    return _CONTROL.search(text) is None


# An http(s) URL whose host is a plain name (no user, no brackets) followed by a path
# without query or fragment: every check below passes, and its path ends the URL. Most of
# a lock's thousands of URLs are this; the others take the long way.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a lock's URL (None if it can): no credentials, no spaces."""
    if _PLAIN_URL.fullmatch(url):
        return None
    if _WHITESPACE.search(url):
        return "must not contain whitespace"
    if not _URL_CHARACTERS.fullmatch(url):
        return "holds characters a URL cannot (quotes, backticks, |, <, >, \\, braces)"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme and parts.scheme not in ("http", "https", "file"):
        return f"has the scheme {parts.scheme!r}; only https, http and file are allowed"
    if parts.username or parts.password:
        return "must not contain credentials"
    decoded = unquote(url)
    if not parts.scheme and (decoded.startswith("/") or "\\" in decoded or ":" in decoded):
        return "must be a URL or a path relative to the lock"
    if not parts.scheme and ".." in Path(decoded).parts:
        return "must not leave the lock's directory (..)"
    return None


def last_segment(url: str) -> str:
    """The percent-decoded last path segment of a URL (or relative path)."""
    if _PLAIN_URL.fullmatch(url):
        return unquote(url.rsplit("/", 1)[-1])
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def read_one(reader: Callable[[Mapping[str, Any], Path_, Reader], T | None], data: Any) -> T:
    """``from_dict`` of one table: the value, or every problem found in it."""
    r = Reader()
    if not isinstance(data, Mapping):
        raise LockValidationError([Problem((), f"must be a table, not {kind_of(data)}")])
    value = reader(data, (), r)
    if r.problems or value is None:
        raise LockValidationError(r.problems or [Problem((), "is not a valid entry")])
    return value
