"""Build requirements, pinned build environments, wheel builds, stamps and the wheel cache.

I/O primitives only: nothing here resolves. Callers hand in the exact wheels of a
build environment (from the lock) and get hooks run, wheels built and recorded.
"""

from lock_build.building.build_system import BuildSystem, parse_build_system, read_build_system
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
