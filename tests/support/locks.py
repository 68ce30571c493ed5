"""Hand-built Lock values for tests of what reads a lock (export, graph, plan)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build.lockfile import BuildEnvironment, Lock, LockedPackage, LockTarget

# What a lock made here on Linux with CPython 3.11 records about its target.
DEFAULT_TARGET: Mapping[str, Any] = {
    "implementation": "cpython",
    "python-version": "3.11",
    "python-full-version": "3.11.7",
    "platform": "manylinux_2_36_x86_64",
    "markers": {"sys_platform": "linux"},
}


def build(name: str, version: str, pins: tuple[str, ...], **fields: Any) -> BuildEnvironment:
    """A [[build]] entry with setuptools as its backend unless ``fields`` say otherwise."""
    fields.setdefault("backend", "setuptools.build_meta")
    return BuildEnvironment(
        package=canonicalize_name(name), version=Version(version), pins=pins, **fields
    )


def make_lock(
    packages: tuple[LockedPackage, ...],
    builds: tuple[BuildEnvironment, ...] = (),
    *,
    command: str = "lock-build compile",
    digest: str = "",
    target: Mapping[str, Any] | None = None,
) -> Lock:
    return Lock(
        inputs_digest=digest,
        input_files=("requirements.in",),
        command=command,
        targets=(LockTarget.from_values(dict(target or DEFAULT_TARGET)),),
        packages=packages,
        builds=builds,
    )
