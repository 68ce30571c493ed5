"""Build requirements, pinned build environments, wheel builds, stamps and the wheel cache.

I/O primitives only: nothing here resolves. Callers hand in the exact wheels of a
build environment (from the lock) and get hooks run, wheels built and recorded.

The names below are imported from their modules on first use (PEP 562): ``plan`` needs
only ``building.fingerprint``, and a ``sync`` with nothing to do should not pay for
``pyproject_hooks`` and ``installer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lock_build.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from lock_build.building.build_system import (
        BuildSystem,
        parse_build_system,
        read_build_system,
    )
    from lock_build.building.environment import BuildEnvironment, InstalledDistribution
    from lock_build.building.fingerprint import BuildFingerprint, BuildPin
    from lock_build.building.hooks import (
        build_wheel,
        check_requirements,
        get_requires_for_build_wheel,
        prepare_metadata,
    )
    from lock_build.building.wheel_cache import WheelCache
    from lock_build.building.wheel_stamp import (
        STAMP_NAME,
        read_stamp,
        read_wheel_stamp,
        stamp_wheel,
    )

__getattr__ = lazy_exports(
    __name__,
    {
        "build_system": ("BuildSystem", "parse_build_system", "read_build_system"),
        "environment": ("BuildEnvironment", "InstalledDistribution"),
        "fingerprint": ("BuildFingerprint", "BuildPin"),
        "hooks": (
            "build_wheel",
            "check_requirements",
            "get_requires_for_build_wheel",
            "prepare_metadata",
        ),
        "wheel_cache": ("WheelCache",),
        "wheel_stamp": ("STAMP_NAME", "read_stamp", "read_wheel_stamp", "stamp_wheel"),
    },
)

__all__ = [
    "STAMP_NAME",
    "BuildEnvironment",
    "BuildFingerprint",
    "BuildPin",
    "BuildSystem",
    "InstalledDistribution",
    "WheelCache",
    "build_wheel",
    "check_requirements",
    "get_requires_for_build_wheel",
    "parse_build_system",
    "prepare_metadata",
    "read_build_system",
    "read_stamp",
    "read_wheel_stamp",
    "stamp_wheel",
]
