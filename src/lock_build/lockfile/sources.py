"""Where a lock's files may come from: decided by the run that consumes it, not by the lock.

A lock arrives through pull requests; a URL in it is a request, not a permission.
``https`` is allowed anywhere (every file is verified against its sha256); ``http``
only from a host this run configures as an index, find-links location or trusted
host; ``file`` (and paths relative to the lock) only under the lock's own directory
or a find-links directory or index this run configures (an index laid out as
``ROOT/simple/`` serves the whole ``ROOT``). Every violation is reported before anything
is fetched or written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lock_build.errors import LockfileError
from lock_build.lockfile.model import Lock, LockedFile, Path_, Problem

__all__ = ["SourcePolicy", "describe"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SourcePolicy:
    """The places this run lets a lock's files come from."""

    lock_dir: Path
    # host:port of every index and find-links location configured, and each trusted host
    # as given (a bare host trusts every port of it, as pip's --trusted-host does).
    http_hosts: frozenset[str] = frozenset()
    # Directories file: URLs may point into (the lock's own is always one).
    file_roots: tuple[Path, ...] = ()

    @classmethod
    def for_run(
        cls,
        lock_dir: Path,
        *,
        locations: Iterable[str] = (),
        trusted_hosts: Iterable[str] = (),
    ) -> SourcePolicy:
        """The policy of a run that configures ``locations`` (index URLs, find-links)."""
        hosts = {h.strip().lower() for h in trusted_hosts if h.strip()}
        roots = [_real(lock_dir)]
        for location in locations:
            parts = urlsplit(location)
            if parts.scheme in ("http", "https") and parts.hostname:
                hosts.add(_host(parts.hostname, parts.port or _DEFAULT_PORT[parts.scheme]))
            elif parts.scheme == "file":
                roots.extend(_index_roots(_real(Path(_file_path(location)))))
            elif not parts.scheme:
                roots.extend(_index_roots(_real(Path(location).expanduser())))
        return cls(lock_dir=_real(lock_dir), http_hosts=frozenset(hosts), file_roots=tuple(roots))

    def problems(self, lock: Lock) -> list[Problem]:
        """Every file of ``lock`` this run does not let it fetch, with its path."""
        found = []
        for i, pkg in enumerate(lock.packages):
            files: list[tuple[Path_, LockedFile]] = [
                (("wheels", j), w) for j, w in enumerate(pkg.wheels)
            ]
            if pkg.sdist is not None:
                files.append((("sdist",), pkg.sdist))
            for where, file in files:
                message = self.refusal(file.url)
                if message:
                    path: Path_ = ("package", i, *where, "url")
                    found.append(Problem(path, message))
        return found

    def refusal(self, url: str) -> str | None:
        """Why this run refuses to fetch ``url`` (None when it may)."""
        if url.startswith("https:"):
            return None  # what urlsplit would say (scheme "https"), without it for each file
        parts = urlsplit(url)
        if parts.scheme == "https":
            return None
        if parts.scheme == "http":
            host = _host(parts.hostname or "", parts.port or _DEFAULT_PORT["http"])
            if host in self.http_hosts or (parts.hostname or "").lower() in self.http_hosts:
                return None
            return (
                f"{url} is plain http from {host}, which this run does not configure as an "
                "index or trusted host"
            )
        if parts.scheme == "file":
            path = Path(_file_path(url))
        elif not parts.scheme:
            path = self.lock_dir / unquote(url)
        else:
            return f"{url} has the scheme {parts.scheme!r}; only https, http and file are allowed"
        real = _real(path)
        if any(real.is_relative_to(root) for root in self.file_roots):
            return None
        return (
            f"{url} is a local file outside the lock's directory and every find-links "
            "directory or index this run configures"
        )

    def check(self, lock: Lock) -> None:
        """Raise one LockfileError naming every refused file (before anything is fetched)."""
        problems = self.problems(lock)
        if problems:
            raise LockfileError(
                describe(problems, lock, lock.source or "the lock"),
                hint="Configure the index, find-links location or trusted host for this run "
                "(pip's configuration or PIP_INDEX_URL, PIP_FIND_LINKS, PIP_TRUSTED_HOST), "
                "or re-lock.",
            )


def describe(problems: Sequence[Problem], lock: Lock, source: str) -> str:
    """Problems about a lock value, located as the reader locates its own."""
    from lock_build.lockfile.codec import render_problems

    # In the lock's own order, as its text has them (to_dict sorts).
    data = {"package": [p.to_dict() for p in lock.packages]}
    return render_problems(problems, data, lock.text or "", source)


_DEFAULT_PORT = {"http": 80, "https": 443}


def _host(hostname: str, port: int | None) -> str:
    return f"{hostname.lower()}:{port}" if port else hostname.lower()


def _file_path(url: str) -> str:
    from lock_build.urls import file_url_to_path

    return str(file_url_to_path(url))


def _index_roots(directory: Path) -> tuple[Path, ...]:
    """The tree a local location may serve files from: the directory itself, and for a
    PEP 503 index laid out as ``ROOT/simple/`` the whole ``ROOT`` (its pages link to files
    beside ``simple``, e.g. ``ROOT/files/``)."""
    if directory.name == "simple":
        return (directory, directory.parent)
    return (directory,)


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))
