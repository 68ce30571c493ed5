"""Index and install settings after flags, PIP_* variables and pip's config files are merged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from packaging.utils import NormalizedName

__all__ = ["ALL", "PYPI_SIMPLE", "BinaryPolicy", "IndexSettings", "IndexStrategy"]

PYPI_SIMPLE = "https://pypi.org/simple"


class IndexStrategy(StrEnum):
    # pip's behaviour: every index is asked and the best version wins.
    UNSAFE_BEST_MATCH = "unsafe-best-match"
    # uv's default: a name is taken from the first index that has it (dependency confusion).
    FIRST_INDEX = "first-index"


ALL = ":all:"


@dataclass(frozen=True, kw_only=True, slots=True)
class BinaryPolicy:
    """--only-binary / --no-binary as pip reads them: package names or ``:all:``."""

    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()
    prefer_binary: bool = False

    def allows_sdist(self, name: NormalizedName) -> bool:
        if name in self.no_binary:
            return True
        return not (name in self.only_binary or ALL in self.only_binary)

    def allows_wheel(self, name: NormalizedName) -> bool:
        if name in self.only_binary:
            return True
        return not (name in self.no_binary or ALL in self.no_binary)


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexSettings:
    """Where packages come from and how they are fetched.

    Locations that were configured but do not exist have already been dropped (with a
    warning in ``warnings``), so every layer below may assume they exist.
    """

    index_url: str = PYPI_SIMPLE
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    index_strategy: IndexStrategy = IndexStrategy.UNSAFE_BEST_MATCH
    exclude_newer: datetime | None = None
    binary: BinaryPolicy = BinaryPolicy()
    pre: bool = False
    cert: str | None = None
    client_cert: str | None = None
    trusted_hosts: tuple[str, ...] = ()
    timeout: float = 15.0
    retries: int = 5
    proxy: str | None = None
    cache_dir: Path | None = None
    offline: bool = False  # nothing but the cache (and local files) is read
    # Constraint files named by pip's configuration (`constraint`, `build-constraint`).
    constraint_files: tuple[str, ...] = ()
    build_constraint_files: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def index_urls(self) -> tuple[str, ...]:
        """Indexes in the order they are asked; none with --no-index."""
        if self.no_index:
            return ()
        return (self.index_url, *self.extra_index_urls)
