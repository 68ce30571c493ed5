"""What ``plan --python`` and ``sync`` both do before planning.

Check that the interpreter is one the lock was made for, read what its environment
holds, name what is never removed (the installer's tooling, and lock-build itself when
the target is lock-build's own environment), and digest the local source directories
the lock names (they have no hash, so an edit must show up as a new fingerprint).
The result, :class:`Prepared`, turns into the plan with :meth:`Prepared.plan`.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name

from lock_build.errors import TargetError
from lock_build.lockfile import Lock
from lock_build.lockfile.model import glibc_of, usable_on
from lock_build.multilock import consumer_machine, lock_for_consumer
from lock_build.plan import InstalledDist, Plan, make_plan
from lock_build.reporting import NULL_REPORTER, Reporter
from lock_build.sync.inspect import EnvironmentState, inspect_environment
from lock_build.sync.installers import InstallerName, spared_by
from lock_build.target import Interpreter, Target, describe_interpreter


@dataclass(frozen=True, kw_only=True, slots=True)
class Prepared:
    """A lock ready to plan: against an environment (``state``) or a fresh one (``None``)."""

    lock: Lock  # files it names relative to itself made absolute
    state: EnvironmentState | None
    keep: frozenset[NormalizedName]  # never removed
    source_digests: Mapping[str, str]  # "name==version" -> digest of a local directory
    tags: tuple[Tag, ...] | None  # the interpreter's, best first; None: the lock target's
    interpreter: Interpreter | None = None  # its probe's answer (paths, scheme), if any

    def plan(self) -> Plan:
        """The plan against the environment as read (or a fresh one)."""
        return self.plan_for(self.state.installed if self.state is not None else None)

    def plan_for(self, installed: Mapping[NormalizedName, InstalledDist] | None) -> Plan:
        """The plan against ``installed`` (the environment read again, or what of it is
        trusted), with the same lock, spared names, digests and tags."""
        return make_plan(
            self.lock,
            installed,
            keep=self.keep,
            source_digests=self.source_digests,
            tags=self.tags,
        )


def prepare(
    lock: Lock,
    *,
    lock_dir: Path,
    python: Path | None,
    target_id: str | None = None,
    installer: InstallerName = "pip",
    reporter: Reporter = NULL_REPORTER,
    cache_dir: Path | None = None,
) -> Prepared:
    """Ready ``lock`` for planning against ``python``'s environment (``None``: a fresh one).

    A lock with several targets is taken as the target ``python`` fits best (without
    ``python``: the one the default interpreter fits), or as ``target_id``. With
    ``cache_dir``, what a probe said about ``python`` is reused while it is unchanged."""
    lock_dir = lock_dir.resolve()
    lock = lock.with_absolute_files(lock_dir)
    if python is None:
        machine = consumer_machine(lock, None, target_id)
        lock = lock_for_consumer(lock, machine, target_id, reporter)
        digests = local_source_digests(lock, lock_dir)
        return Prepared(lock=lock, state=None, keep=frozenset(), source_digests=digests, tags=None)
    # One probe of the target interpreter (its platform and paths; kept in the cache while
    # the interpreter is unchanged), the lock's checks, then its packages, read fresh.
    interpreter = describe_interpreter(python, cache_dir)
    machine = interpreter.target
    lock = lock_for_consumer(lock, machine, target_id, reporter)
    digests = local_source_digests(lock, lock_dir)
    check_target(lock, machine)
    state = inspect_environment(python, interpreter=interpreter)
    return Prepared(
        lock=lock,
        state=state,
        keep=frozenset(spared_names(state, spared_by(installer))),
        source_digests=digests,
        tags=tuple(machine.tags),
        interpreter=interpreter,
    )


def check_target(lock: Lock, target: Target) -> None:
    """Refuse an interpreter the lock was not made for."""
    want = lock.target
    problems = []
    for key, have in (
        ("implementation", target.implementation),
        ("python-version", target.python_version),
    ):
        if want.get(key) and str(want[key]) != have:
            problems.append(f"{key} {want[key]} (the interpreter has {have})")
    bad = [pkg.key for pkg in lock.packages if not usable_on(lock, pkg, target.tags)]
    floor = lock.targets[0].glibc_floor if lock.targets else None
    glibc = glibc_of(target.tags)
    if bad and floor and glibc and glibc < tuple(int(p) for p in floor.split(".")):
        problems.append(
            f"its glibc {glibc[0]}.{glibc[1]} is below the lock's floor {floor}; "
            f"no file installs here for {', '.join(bad)}"
        )
    elif bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        problems.append(f"packages with no wheel this interpreter can install: {shown}")
    if problems:
        raise TargetError(
            f"The lock is for {want.get('implementation')} {want.get('python-version')} on "
            f"{want.get('platform')}, but {target.interpreter} does not match: "
            + "; ".join(problems)
            + ".",
            hint="Sync with --python pointing at a matching interpreter, or re-lock for this one.",
        )


def spared_names(state: EnvironmentState, installer_spared: Sequence[str]) -> set[NormalizedName]:
    """What sync never removes: the installer's tooling, and lock-build with what it needs
    when the target is lock-build's own environment."""
    keep = {canonicalize_name(n) for n in installer_spared}
    if state.prefix.resolve() == Path(sys.prefix).resolve():
        keep |= state.requirement_closure({canonicalize_name("lock-build")})
    return keep


# Build output and tool state that says nothing about the project's source.
_NOT_SOURCE = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "build",
        "dist",
        "__pycache__",
        ".venv",
        ".tox",
        ".nox",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
    }
)


def local_source_digests(lock: Lock, lock_dir: Path) -> dict[str, str]:
    """``name==version`` → a digest of each non-editable local directory's files.

    Paths, sizes and modification times, like uv's cache keys for local trees: cheap,
    and any edit changes it. Editable installs follow the tree anyway.
    """
    digests: dict[str, str] = {}
    for pkg in lock.packages:
        source = pkg.source
        if source is None or source.kind != "directory" or source.editable:
            continue
        root = Path(source.url)
        root = root if root.is_absolute() else lock_dir / root
        digest = hashlib.sha256()
        for path in sorted(_source_files(root)):
            stat = path.stat()
            digest.update(
                f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode()
            )
        digests[pkg.key] = digest.hexdigest()
    return digests


def _source_files(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for entry in root.iterdir():
        if entry.name in _NOT_SOURCE or entry.name.endswith(".egg-info"):
            continue
        if entry.is_dir() and not entry.is_symlink():
            yield from _source_files(entry)
        elif entry.is_file():
            yield entry


__all__ = ["Prepared", "check_target", "local_source_digests", "prepare", "spared_names"]
