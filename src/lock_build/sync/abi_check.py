"""sync's ABI check: every build installed into the target runs with the runtime versions
the lock installs, by the ``runs-with`` range the lock recorded for it.

Run twice, both times before the target changes: on the lock itself before anything is
fetched (a lock is untrusted input), and on each built wheel's stamp (what it was really
built against, which a cached wheel could disagree with).
"""

from __future__ import annotations

from collections.abc import Mapping

from packaging.utils import NormalizedName
from packaging.version import Version

from lock_build.lockfile import BuildEnvironment, Lock


def runtime_versions(lock: Lock) -> dict[NormalizedName, Version]:
    return {p.name: p.version for p in lock.runtime_packages()}


def check_lock(lock: Lock) -> None:
    """Refuse a lock whose own records say a build does not run with the runtime it installs."""
    if not lock.builds:
        return  # nothing built: the ABI rules need not even be imported
    from lock_build.abi import check_runtime

    runtime = runtime_versions(lock)
    for build in lock.builds:
        if runtime.get(build.package) != build.version:
            continue  # built for other build environments only, not installed here
        pins = {str(name): str(version) for name, version in build.pin_versions().items()}
        check_runtime(build.key, build.abi, runtime, built_against=pins)


def check_built_wheel(lock: Lock, build: BuildEnvironment, stamp_pins: Mapping[str, str]) -> None:
    """Refuse a built wheel whose stamp's ABI versions fall outside the recorded range."""
    from lock_build.abi import check_runtime

    check_runtime(build.key, build.abi, runtime_versions(lock), built_against=stamp_pins)


__all__ = [
    "check_built_wheel",
    "check_lock",
    "runtime_versions",
]
