"""The lock: typed values (:mod:`.model`) and their TOML text (:mod:`.codec`).

The lock is the single source of truth: runtime pins with every file of each locked
version, every build environment (the build-constraints section) and the build graph
they imply. The install plan is *derived* from it (``plan.py``), never stored.

Layout (``lock-version = 2``; version-1 locks still read)::

    [inputs]          digest of the normalized inputs, for --check
    [options]         settings that change the result (indexes, binary policy, ...)
    [[target]]        each environment the lock is for, with an id
    [[package]]       one entry per (name, version): runtime and/or build-only,
                      with every wheel and the sdist the index lists for it
    [[build]]         one entry per sdist that is built: its locked build environment

A package used both at runtime and in a build environment at the same version is
one ``[[package]]`` entry (same artifact, same hash); ``runtime = false`` marks
versions used only inside build environments. In a lock with several targets an
entry lists the targets that use it (``targets``, absent: all), ``runtime`` may name
the targets it is a runtime pin on, and a ``[[build]]`` lists the targets that share it.
"""

from lock_build.lockfile.codec import (
    check_lock_path,
    dumps,
    dumps_with_tomlkit,
    find_lockfile,
    loads,
    read_lock,
    read_lock_cached,
    write_lock,
    write_text_atomic,
)
from lock_build.lockfile.model import (
    LOCK_VERSION,
    READABLE_VERSIONS,
    AbiRecord,
    BuildEnvironment,
    LocalSource,
    Lock,
    LockedFile,
    LockedPackage,
    LockTarget,
    LockValidationError,
    Origin,
    Problem,
    Substitution,
)

__all__ = [
    "LOCK_VERSION",
    "READABLE_VERSIONS",
    "AbiRecord",
    "BuildEnvironment",
    "LocalSource",
    "Lock",
    "LockTarget",
    "LockValidationError",
    "LockedFile",
    "LockedPackage",
    "Origin",
    "Problem",
    "Substitution",
    "check_lock_path",
    "dumps",
    "dumps_with_tomlkit",
    "find_lockfile",
    "loads",
    "read_lock",
    "read_lock_cached",
    "write_lock",
    "write_text_atomic",
]
