"""Known causes of build failures, recognised in the build log, each with its fix.

A failed build's log ends with the backend's traceback or the compiler's errors; a few
causes are common enough to name (setuptools removing ``pkg_resources``, sdists older
than NumPy 2). The table is data (``failure_hints.toml``); the error's hint then ends
with the exact option that fixes it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from packaging.utils import InvalidSdistFilename, NormalizedName, parse_sdist_filename
from packaging.version import Version

from lock_build.errors import BuildError


@dataclass(frozen=True, kw_only=True, slots=True)
class FailureHint:
    pattern: re.Pattern[str]
    cause: str
    fix: str  # "{name}" is the sdist's name

    def render(self, name: str) -> str:
        return f"The build failed because {self.cause}. Fix: {self.fix.format(name=name)}."


class KnownBuildFailure(BuildError):
    """A build that failed for a cause in the table; ``hint`` ends with the fixing option."""

    def __init__(
        self,
        message: str,
        *,
        known: FailureHint,
        name: str,
        detail: str,
        package: NormalizedName | None = None,
        version: Version | None = None,
        hook: str | None = None,
        log: Path | None = None,
    ) -> None:
        super().__init__(
            message,
            package=package,
            version=version,
            hook=hook,
            log=log,
            hint=known.render(name),
            detail=detail,
        )
        self.known = known
        self.name = name


def build_failure(
    message: str,
    *,
    log_tail: str,
    label: str,
    hint: str,
    hook: str | None = None,
    log: Path | None = None,
) -> BuildError:
    """The error for a failed hook: a :class:`KnownBuildFailure` when the log shows a
    known cause, else a plain :class:`BuildError` with ``hint``."""
    package, version = sdist_identity(label)
    known = match(log_tail)
    if known is None:
        return BuildError(
            message,
            package=package,
            version=version,
            hook=hook,
            log=log,
            hint=hint,
            detail=log_tail,
        )
    return KnownBuildFailure(
        message,
        known=known,
        name=_sdist_name(label),
        package=package,
        version=version,
        hook=hook,
        log=log,
        detail=log_tail,
    )


def sdist_error(
    label: str,
    message: str,
    *,
    hook: str | None = None,
    log: Path | None = None,
    hint: str | None = None,
    detail: str | None = None,
) -> BuildError:
    """A :class:`BuildError` naming the sdist behind ``label`` (its unpacked directory)."""
    package, version = sdist_identity(label)
    return BuildError(
        message, package=package, version=version, hook=hook, log=log, hint=hint, detail=detail
    )


def sdist_identity(label: str) -> tuple[NormalizedName | None, Version | None]:
    """``cftime-1.6.1`` (an unpacked sdist's directory) -> (cftime, 1.6.1); a local
    project's directory name tells neither, so (None, None)."""
    try:
        name, version = parse_sdist_filename(f"{label}.tar.gz")
    except InvalidSdistFilename:
        return None, None
    return name, version


@cache
def failure_hints() -> tuple[FailureHint, ...]:
    text = (
        resources.files("lock_build.building")
        .joinpath("failure_hints.toml")
        .read_text(encoding="utf-8")
    )
    return tuple(
        FailureHint(pattern=re.compile(item["pattern"]), cause=item["cause"], fix=item["fix"])
        for item in tomllib.loads(text)["hint"]
    )


def match(log_tail: str) -> FailureHint | None:
    """The first known cause found in ``log_tail``."""
    return next((h for h in failure_hints() if h.pattern.search(log_tail)), None)


def _sdist_name(label: str) -> str:
    """``pyworld-0.3.5`` (the unpacked sdist's directory) -> ``pyworld``."""
    match = re.match(r"(.+?)-\d", label)
    return match.group(1) if match else label


__all__ = [
    "FailureHint",
    "KnownBuildFailure",
    "build_failure",
    "failure_hints",
    "match",
    "sdist_error",
    "sdist_identity",
]
