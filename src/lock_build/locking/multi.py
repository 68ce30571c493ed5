"""``compile`` for several targets: each resolved on its own, agreeing where it can.

Targets are locked one after the other in the order given. Each prefers the versions
the targets before it chose (runtime pins, and build pins per sdist) over newer ones,
so a lock does not hold numpy 2.2.6 for one Python and 2.3.1 for another unless a
target's markers or wheels require it. Targets of the existing lock that are not being
compiled are kept as they are (``--target`` adds or refreshes just the named ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from lock_build.errors import LockBuildError
from lock_build.index.http import HttpClient
from lock_build.lockfile import Lock
from lock_build.locking.compile import CompileRequest, CompileResult, compile_lock
from lock_build.multilock import agreed_pins, lock_for_target, merge_locks
from lock_build.reporting import NULL_REPORTER, Reporter
from lock_build.target import Target
from lock_build.targets import id_of


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetsResult:
    lock: Lock
    compiled: tuple[tuple[str, CompileResult], ...]  # (target id, its result), in order
    kept: tuple[str, ...]  # ids of the existing lock's targets carried over unchanged


def compile_targets(
    request: CompileRequest,
    targets: Sequence[Target],
    *,
    keep_others: bool,
    reporter: Reporter = NULL_REPORTER,
    client: HttpClient | None = None,
) -> TargetsResult:
    """Lock ``targets`` and merge them (with the kept targets of ``request.previous``);
    ``client`` is passed on to :func:`compile_lock` (shared by the targets)."""
    previous = request.previous
    wanted = [id_of(t) for t in targets]
    kept_parts: list[Lock] = []
    if previous is not None and keep_others:
        kept_parts = [
            lock_for_target(previous, t.id) for t in previous.targets if t.id not in wanted
        ]
    if kept_parts and previous is not None and previous.inputs_digest != request.inputs.digest():
        reporter.warn(
            "The inputs changed since the lock was written, and the kept target(s) "
            + ", ".join(p.targets[0].id for p in kept_parts)
            + " still hold the old resolution: compile them too (--target, on a matching "
            "machine for a foreign platform)."
        )
    previous_ids = {t.id for t in previous.targets} if previous is not None else set()
    parts = list(kept_parts)
    compiled: list[tuple[str, CompileResult]] = []
    for target, ident in zip(targets, wanted, strict=True):
        if previous is None:
            view = None
        elif ident in previous_ids:
            view = lock_for_target(previous, ident)
        else:
            # A lock made for one target elsewhere (another Python patch, another glibc)
            # still says which versions to keep, as a single-target compile always did.
            view = previous if len(previous.targets) == 1 and not kept_parts else None
        runtime, builds = agreed_pins(parts)
        if len(targets) > 1:
            reporter.status(f"Locking for {ident} ({target.describe()})")
        try:
            result = compile_lock(
                replace(
                    request,
                    target=target,
                    previous=view,
                    agreed=tuple(sorted(runtime.items())),
                    agreed_builds=builds,
                ),
                reporter=reporter,
                client=client,
            )
        except LockBuildError as exc:
            if len(targets) > 1 and ident not in exc.message:
                exc.message = f"For target {ident}: {exc.message}"  # which of them failed
            raise
        part = replace(result.lock, targets=(replace(result.lock.targets[0], id=ident),))
        parts.append(part)
        compiled.append((ident, result))
    first = compiled[0][1].lock if compiled else parts[0]
    return TargetsResult(
        lock=merge_locks(parts, first=first),
        compiled=tuple(compiled),
        kept=tuple(p.targets[0].id for p in kept_parts),
    )


__all__ = [
    "TargetsResult",
    "compile_targets",
]
