"""One error root for everything a user can cause or meet.

Each subclass carries its data and renders as one paragraph: what went wrong, then
a hint. Only the CLI turns them into output and an exit code; foreign exceptions
are translated at the layer that meets them (HTTP, archives, subprocesses).
"""

from __future__ import annotations


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


class InputError(LockBuildError):
    """A requirements file, pyproject.toml or command-line value that cannot be used."""


class ConfigError(LockBuildError):
    """pip configuration or environment variables that cannot be used."""


class TargetError(LockBuildError):
    """The target interpreter or platform cannot be determined or does not match."""


class NetworkError(LockBuildError):
    """An index or file could not be fetched after retries."""


class OfflineError(NetworkError):
    """--offline, and something the run needs is not in the cache. ``url`` (redacted) names it."""

    def __init__(self, message: str, *, url: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.url = url


class IndexPageError(LockBuildError):
    """An index answered, but with something that is not a usable simple-API page."""


class PackageNotFoundError(LockBuildError):
    """No index holds a usable file for a requested package or version."""


class HashMismatchError(LockBuildError):
    """A downloaded file does not have the sha256 the index or the lock promised."""


class ArchiveError(LockBuildError):
    """An archive is unreadable or unsafe (path traversal, links out of the tree)."""


class MetadataError(LockBuildError):
    """Core metadata that is missing or malformed."""


class BuildError(LockBuildError):
    """A PEP 517 hook or a wheel build failed."""


class ResolutionError(LockBuildError):
    """No set of versions satisfies the requirements; the message explains why."""


class LockfileError(LockBuildError):
    """A lockfile that cannot be read, or does not fit what it is used for."""


class SyncError(LockBuildError):
    """Bringing an environment to the lock failed."""


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
