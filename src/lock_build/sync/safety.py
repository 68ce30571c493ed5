"""Checks that keep sync from breaking the wrong environment, or lock-build itself.

Both run before anything changes. Pure: the facts (which interpreter, what the plan
does, what the environment holds) come in as values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from lock_build.errors import SyncError
from lock_build.plan import Plan
from lock_build.sync.inspect import EnvironmentState

__all__ = ["BaseInterpreterError", "OwnNeedsError", "check_own_needs", "refuse_base_interpreter"]

_SELF = canonicalize_name("lock-build")


class BaseInterpreterError(SyncError):
    """sync would change a system or base Python because nothing named a target."""

    def __init__(self, message: str, *, python: Path, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.python = python


class OwnNeedsError(SyncError):
    """The lock would downgrade or remove a distribution lock-build needs in the target."""

    def __init__(
        self, message: str, *, pins: tuple[str, ...], python: Path, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.pins = pins  # "packaging 26.4 -> 26.3", "click 8.3.1 -> (removed)"
        self.python = python


@dataclass(frozen=True, kw_only=True, slots=True)
class RunningInterpreter:
    """The interpreter running lock-build, and how the user named a target (if at all)."""

    executable: Path
    prefix: Path
    base_prefix: Path


def refuse_base_interpreter(
    python_flag: str | None, environ: Mapping[str, str], running: RunningInterpreter
) -> None:
    """With no ``--python`` and no active virtual environment, sync would target the
    interpreter running lock-build; refuse when that is a system or base Python."""
    if python_flag or environ.get("VIRTUAL_ENV"):
        return
    if running.prefix.resolve() != running.base_prefix.resolve():
        return  # lock-build runs from a virtual environment: that one is the target
    raise BaseInterpreterError(
        f"No --python given and no virtual environment active, so sync would change "
        f"{running.executable}, a base (non-virtual) Python.",
        python=running.executable,
        hint="Create and name one: python -m venv .venv && lock-build sync --python .venv "
        "(or activate it first), or pass --python PATH to target an environment on purpose.",
    )


def check_own_needs(plan: Plan, state: EnvironmentState) -> None:
    """Refuse a plan that downgrades or removes lock-build or anything it requires, where
    lock-build is installed in the target."""
    needed = state.requirement_closure({_SELF})
    if not needed:
        return
    hurt = [
        f"{step.name} {step.installed_version} -> {step.version}"
        for step in plan.install
        if step.name in needed and step.action == "downgrade"
    ]
    hurt += [
        f"{step.name} {step.version} -> (removed)" for step in plan.remove if step.name in needed
    ]
    if not hurt:
        return
    names: tuple[NormalizedName, ...] = tuple(sorted(needed))
    raise OwnNeedsError(
        f"The lock would {'downgrade or remove' if len(hurt) > 1 else _verb(hurt[0])} what "
        f"lock-build itself needs in {state.python}: {', '.join(sorted(hurt))} "
        f"(lock-build {state.installed[_SELF].version} requires "
        f"{', '.join(n for n in names if n != _SELF)}). Nothing was changed.",
        pins=tuple(sorted(hurt)),
        python=state.python,
        hint="Sync a separate virtual environment (--python PATH), or lock versions "
        "lock-build can run with.",
    )


def _verb(change: str) -> str:
    return "remove" if change.endswith("(removed)") else "downgrade"
