"""Run an install plan against a target environment (see ``executor``).

The names below are imported when first asked for: the unpack workers import
``lock_build.sync.unpack_pool``, and loading the executor (the lock model, the index
client) for each of them would cost more than the wheels they unpack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lock_build.reporting import NullReporter as NullReporter
    from lock_build.reporting import Reporter as Reporter
    from lock_build.sync.executor import SyncResult as SyncResult
    from lock_build.sync.executor import sync as sync
    from lock_build.sync.inspect import EnvironmentState as EnvironmentState
    from lock_build.sync.inspect import inspect_environment as inspect_environment
    from lock_build.sync.prepare import Prepared as Prepared
    from lock_build.sync.prepare import check_target as check_target

_HOMES = {
    "EnvironmentState": "lock_build.sync.inspect",
    "NullReporter": "lock_build.reporting",
    "Prepared": "lock_build.sync.prepare",
    "Reporter": "lock_build.reporting",
    "SyncResult": "lock_build.sync.executor",
    "check_target": "lock_build.sync.prepare",
    "inspect_environment": "lock_build.sync.inspect",
    "sync": "lock_build.sync.executor",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
