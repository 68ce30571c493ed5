"""Small helpers the input parsers share: paths as a user typed them, OS reasons, lists."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

_T = TypeVar("_T")


def os_reason(exc: BaseException) -> str:
    """Why the file system (or a parser under it) refused a path, in a few words."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if "null" in str(exc).lower():
        return "it contains a NUL byte"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def absolute_path(path: Path, cwd: Path) -> Path:
    path = Path(os.path.expanduser(path))
    return path if path.is_absolute() else cwd / path


def display_path(path: Path, cwd: Path | None) -> str:
    """A path as a user would type it from ``cwd``: relative when that is possible."""
    if cwd is None:
        return path.as_posix()
    try:
        relative = os.path.relpath(
            os.path.normpath(absolute_path(path, cwd)), os.path.normpath(cwd)
        )
    except ValueError:  # another drive on Windows
        return path.as_posix()
    return Path(relative).as_posix()


def names_list(names: Iterable[object]) -> str:
    listed = sorted(str(n) for n in names)
    return ", ".join(repr(n) for n in listed) if listed else "none"


def unique(items: Iterable[_T]) -> list[_T]:
    seen: set[_T] = set()
    result: list[_T] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result
