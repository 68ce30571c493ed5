"""Run an install plan against a target environment (see ``executor``)."""

from lock_build.reporting import NullReporter, Reporter
from lock_build.sync.executor import SyncResult, sync
from lock_build.sync.inspect import EnvironmentState, inspect_environment
from lock_build.sync.prepare import Prepared, check_target

__all__ = [
    "EnvironmentState",
    "NullReporter",
    "Prepared",
    "Reporter",
    "SyncResult",
    "check_target",
    "inspect_environment",
    "sync",
]
