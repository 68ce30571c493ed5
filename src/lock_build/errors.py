"""One error root for everything a user can cause or meet.

Each subclass carries its data as typed attributes (the package, version, URL, path,
requirement chains it is about) and renders as one paragraph: what went wrong, then a
hint. Constructors take the message first and everything else by keyword, so a raise
site states its data by name. Only the CLI turns them into output and an exit code;
foreign exceptions are translated at the layer that meets them (HTTP, archives,
subprocesses).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName
from packaging.version import Version

from lock_build.redaction import redact

# A resolution's context and a root requirement's origin end with this for a build
# environment: "cftime 1.6.1 (build)".
BUILD_SUFFIX = " (build)"


class LockBuildError(Exception):
    """Root of every user-facing failure. ``str()`` is the one-paragraph message."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Shown only with --verbose: a build log tail, a traceback of a backend, ...
        self.detail = detail

    def render(self) -> str:
        text = self.message.rstrip()
        if self.hint:
            text += " " + self.hint.strip()
        return text


def _redacted(url: str | None) -> str | None:
    return None if url is None else redact(url)


class InputError(LockBuildError):
    """A requirements file, pyproject.toml or command-line value that cannot be used.

    ``location`` is ``file:line`` (or the option) the bad value came from, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        location: str | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.location = location


class ConfigError(LockBuildError):
    """pip configuration or environment variables that cannot be used."""


class TargetError(LockBuildError):
    """The target interpreter or platform cannot be determined or does not match."""


class NetworkError(LockBuildError):
    """An index or file could not be fetched after retries. ``url`` is redacted."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.url = _redacted(url)


class OfflineError(NetworkError):
    """--offline, and something the run needs is not in the cache. ``url`` (redacted) names it."""

    def __init__(self, message: str, *, url: str, hint: str | None = None) -> None:
        super().__init__(message, url=url, hint=hint)


class IndexPageError(LockBuildError):
    """An index answered, but with something that is not a usable simple-API page.

    ``url`` (redacted) is the page; ``status`` the HTTP status when that was the fault.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.url = _redacted(url)
        self.status = status


class HashMismatchError(LockBuildError):
    """A downloaded file does not have the sha256 the index or the lock promised.

    ``url`` (redacted) is the file, ``expected`` the digests it was allowed to have
    (one from an index or a lock; several from ``--hash`` options) and ``got`` the one
    it has (None when no single file is at fault: none of ``package``'s files has an
    allowed hash). Without a message, it is rendered from them.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        url: str | None = None,
        expected: tuple[str, ...] = (),
        got: str | None = None,
        package: NormalizedName | None = None,
        hint: str | None = None,
    ) -> None:
        self.url = _redacted(url)
        self.package = package
        self.expected = expected
        self.got = got
        super().__init__(message or self._explain(), hint=hint)

    def _explain(self) -> str:
        wanted = (
            self.expected[0]
            if len(self.expected) == 1
            else "one of " + ", ".join(sorted(self.expected))
        )
        return (
            f"{self.url or 'A file'} has sha256 {self.got or 'unknown'}, but {wanted} was expected."
        )


class ArchiveError(LockBuildError):
    """An archive is unreadable or unsafe (path traversal, links out of the tree)."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.path = path


class MetadataError(LockBuildError):
    """Core metadata that is missing or malformed.

    ``source`` names what it was read from (a wheel, an sdist's PKG-INFO, a URL:
    redacted); ``package``/``version`` are set once the metadata told them.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        package: NormalizedName | None = None,
        version: Version | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.source = _redacted(source)
        self.package = package
        self.version = version


class BuildError(LockBuildError):
    """A PEP 517 hook or a wheel build failed.

    ``package``/``version`` name the sdist (None for a local tree without a version
    in its name), ``hook`` the PEP 517 hook that failed and ``log`` its build log.
    """

    def __init__(
        self,
        message: str,
        *,
        package: NormalizedName | None = None,
        version: Version | None = None,
        hook: str | None = None,
        log: Path | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.package = package
        self.version = version
        self.hook = hook
        self.log = log


@dataclass(frozen=True, kw_only=True, slots=True)
class Pin:
    """One version of a package (with the extras it was asked with) in a requirement chain."""

    name: NormalizedName
    version: Version
    extras: frozenset[NormalizedName] = frozenset()

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True, kw_only=True, slots=True)
class ChainLink:
    """``parent`` requires ``requirement``; with no parent, an input asked for it."""

    requirement: Requirement
    parent: Pin | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RequirementChain:
    """How one requirement reached the resolver, starting from the input that asked.

    ``links[0]`` is the input's requirement (no parent; ``origin`` and ``location``
    say where it came from), each next link's parent is the version chosen for the
    previous link's requirement, and ``links[-1].requirement`` is the one in conflict.
    A chain whose first link has a parent could not be walked back to an input.
    """

    links: tuple[ChainLink, ...]
    # "-r requirements.in", "pyproject.toml (extra: dev)", "cftime 1.6.1 (build)", "".
    origin: str = ""
    location: str = ""  # "requirements.in:3" when the input line is known

    @property
    def requirement(self) -> Requirement:
        return self.links[-1].requirement

    def render(self) -> str:
        """'you asked for a (requirements.in:3) -> a 1.0 requires b -> b 1.0 requires c<2'."""
        return " -> ".join(self._step(link) for link in self.links)

    def _step(self, link: ChainLink) -> str:
        if link.parent is not None:
            return f"{link.parent} requires {link.requirement}"
        if self.origin.endswith(BUILD_SUFFIX):
            return f"{self.origin.removesuffix(BUILD_SUFFIX)} needs {link.requirement} to build"
        where = self.location or self.origin
        return f"you asked for {link.requirement}" + (f" ({where})" if where else "")


@dataclass(frozen=True, kw_only=True, slots=True)
class Conflict:
    """Requirements on ``package`` that no usable version satisfies together.

    ``available`` says what versions exist for the target and why each was rejected;
    it is filled when a single chain cannot be met (with two or more, the chains
    themselves are the explanation).
    """

    package: NormalizedName
    chains: tuple[RequirementChain, ...]
    available: str = ""

    def render(self) -> str:
        text = "; ".join(chain.render() for chain in self.chains)
        return f"{text}; {self.available}" if self.available else text


class ResolutionError(LockBuildError):
    """No set of versions satisfies the requirements; the message explains why.

    ``conflicts`` hold resolvelib's causes as chains from the inputs; without a
    message, it is rendered from them, ``context`` (the build environment, "" for the
    runtime tree) and the ``constraints`` in force.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        conflicts: tuple[Conflict, ...] = (),
        context: str = "",
        constraints: tuple[Requirement, ...] = (),
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.conflicts = conflicts
        self.context = context
        self.constraints = constraints
        super().__init__(message or self._explain(), hint=hint, detail=detail)

    def _explain(self) -> str:
        where = (
            f" the build environment of {self.context.removesuffix(BUILD_SUFFIX)}"
            if self.context
            else ""
        )
        parts = [c.render() for c in sorted(self.conflicts, key=lambda c: c.package)]
        because = ": " + ". ".join(parts) if parts else ""
        shown = sorted(str(c) for c in self.constraints)
        note = f" (constraints in force: {', '.join(shown)})" if shown else ""
        return f"Cannot resolve{where}{because}." + note


class LockfileError(LockBuildError):
    """A lockfile that cannot be read, or does not fit what it is used for."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.path = path


class SyncError(LockBuildError):
    """Bringing an environment to the lock failed.

    ``package`` is the locked package it is about (None when it is about the whole
    environment), ``path`` the environment's interpreter or the file at fault.
    """

    def __init__(
        self,
        message: str,
        *,
        package: NormalizedName | None = None,
        path: Path | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.package = package
        self.path = path


class SyncInterrupted(SyncError):
    """Ctrl-C (exit 130) or SIGTERM (exit 143) while the environment was being changed:
    the message says what was installed so far."""

    def __init__(
        self,
        message: str,
        *,
        terminated: bool = False,
        path: Path | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, path=path, hint=hint)
        self.terminated = terminated
        self.exit_code = 143 if terminated else 130


class StaleError(LockBuildError):
    """--check / --dry-run found that something would change (exit 1)."""

    exit_code = 1


class TargetSpecError(TargetError):
    """A ``--target`` value that is neither ``X.Y``, ``X.Y-PLATFORM`` nor an interpreter."""

    def __init__(self, spec: str, reason: str) -> None:
        super().__init__(
            f"--target {spec!r} {reason}.",
            hint="Use a Python version (3.12), a version and a wheel platform tag "
            "(3.11-manylinux_2_28_x86_64, 3.12-macosx_14_0_arm64, 3.13-win_amd64) "
            "or the path of an interpreter.",
        )
        self.spec = spec
        self.reason = reason


class NoMatchingTargetError(TargetError):
    """No target of a lock fits the interpreter a command acts on (or ``--target ID``)."""

    def __init__(self, machine: str, targets: tuple[str, ...], wanted: str | None = None) -> None:
        listed = ", ".join(targets) or "none"
        if wanted is not None:
            message = f"The lock has no target {wanted!r}; its targets are: {listed}."
        else:
            message = f"No target of the lock fits {machine}; the lock's targets are: {listed}."
        super().__init__(
            message,
            hint="Pass --target ID to name one, use a matching interpreter (--python PATH), "
            "or add this target with lock-build compile --target.",
        )
        self.machine = machine
        self.targets = targets
        self.wanted = wanted


class ForeignBuildError(TargetError):
    """A target this machine cannot run build hooks for needs sdists built."""

    def __init__(self, target: str, spec: str, sdists: tuple[str, ...]) -> None:
        shown = ", ".join(sdists[:5]) + (f" and {len(sdists) - 5} more" if len(sdists) > 5 else "")
        super().__init__(
            f"Target {target} needs {shown} built from source, and this machine has no "
            "interpreter of that Python version on that platform to run build hooks in.",
            hint=f"Run lock-build compile --target {spec} on a matching machine: on an existing "
            "lock it adds or refreshes just that target and keeps the others. Or lock only "
            "wheels for it (--only-binary).",
        )
        self.target = target
        self.spec = spec
        self.sdists = sdists


__all__ = [
    "ArchiveError",
    "BUILD_SUFFIX",
    "BuildError",
    "ChainLink",
    "ConfigError",
    "Conflict",
    "ForeignBuildError",
    "HashMismatchError",
    "IndexPageError",
    "InputError",
    "LockBuildError",
    "LockfileError",
    "MetadataError",
    "NetworkError",
    "NoMatchingTargetError",
    "OfflineError",
    "Pin",
    "RequirementChain",
    "ResolutionError",
    "StaleError",
    "SyncError",
    "SyncInterrupted",
    "TargetError",
    "TargetSpecError",
]
