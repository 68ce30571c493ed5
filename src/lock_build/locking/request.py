"""What ``compile`` is asked for one target, and what it gives back: plain values that the
CLI, the multi-target driver, the compile loop and assembly all share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName
from packaging.version import Version

from lock_build.inputs import InputSet
from lock_build.lockfile import Lock
from lock_build.locking.builds import BuildOptions
from lock_build.resolution.model import Wanted
from lock_build.settings import IndexSettings
from lock_build.target import Target


@dataclass(frozen=True, kw_only=True, slots=True)
class CompileRequest:
    inputs: InputSet
    settings: IndexSettings
    target: Target
    cache_dir: Path
    command: str
    input_files: tuple[str, ...]
    build: BuildOptions = BuildOptions()
    constraints: tuple[Wanted, ...] = ()  # from pip's configuration (global constraint files)
    previous: Lock | None = None
    # Runtime pins to keep from another file (``--previous``: a pip-compile or uv output);
    # None: those of ``previous``. Build pins always come from ``previous``.
    previous_pins: tuple[tuple[NormalizedName, Version], ...] | None = None
    upgrade: bool = False
    upgrade_packages: tuple[Requirement, ...] = ()
    options_record: Mapping[str, object] = field(default_factory=dict)
    output_dir: Path = Path(".")  # local paths in the lock are relative to it
    # Versions the lock's other targets chose (runtime pins; build pins per sdist): preferred
    # over the previous lock's, and kept through --upgrade, so targets agree wherever their
    # markers and tags allow (as uv prefers versions across its forks).
    agreed: tuple[tuple[NormalizedName, Version], ...] = ()
    agreed_builds: Mapping[NormalizedName, Mapping[NormalizedName, Version]] = field(
        default_factory=dict
    )
    # Build hooks run at once (-j). Never changes the lock: 1 runs them as the loop asks.
    jobs: int = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class CompileResult:
    lock: Lock
    substitutions: tuple[str, ...]  # one line per substitution, for the command's output
    built_metadata: tuple[str, ...]  # sdists whose metadata needed their backend


__all__ = ["CompileRequest", "CompileResult"]
