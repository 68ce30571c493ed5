"""Run an install plan against a target environment (see ``executor``)."""

from lock_build.reporting import NullReporter, Reporter
from lock_build.sync.executor import SyncResult, check_target, sync
from lock_build.sync.inspect import EnvironmentState, inspect_environment

__all__ = [
    "EnvironmentState",
    "NullReporter",
    "Reporter",
    "SyncResult",
    "check_target",
    "inspect_environment",
    "sync",
]
