"""`lock-build sync`: make an environment equal the lock."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lock_build.cli import options
from lock_build.cli.collector import settle
from lock_build.cli.output import Console, default_cache_dir, start
from lock_build.errors import StaleError
from lock_build.lockfile import find_lockfile, read_lock_cached
from lock_build.plan import Plan
from lock_build.sync.safety import RunningInterpreter, refuse_base_interpreter
from lock_build.target import described_meanwhile, select_interpreter

if TYPE_CHECKING:
    from lock_build.sync.executor import SyncResult

__all__ = ["command", "render_changes"]


@click.command("sync")
@options.lockfile_argument
@options.python_option
@options.target_id_option
@options.dry_run_option
@options.sync_options
@options.connection_options
@options.console_options
def command(
    *,
    lockfile: Path | None,
    python: str | None,
    target_id: str | None,
    dry_run: bool,
    installer: str,
    jobs: int | None,
    compile_bytecode: bool,
    break_system_packages: bool,
    connection: options.ConnectionFlags,
    console: options.ConsoleFlags,
) -> None:
    """Build what the lock says must be built, then install, upgrade, downgrade and remove
    so the target environment equals LOCKFILE."""
    out = start(console)
    cache_dir = default_cache_dir(console.cache_dir)
    running = RunningInterpreter(
        executable=Path(sys.executable), prefix=Path(sys.prefix), base_prefix=Path(sys.base_prefix)
    )
    refuse_base_interpreter(python, os.environ, running)
    interpreter = select_interpreter(python)
    # Its probe (or its cached answer) is made while the rest is imported and the lock
    # read; absolute, as sync describes it.
    with described_meanwhile(interpreter.absolute(), cache_dir.absolute()):
        from lock_build.inputs.pip_config import load_index_settings
        from lock_build.sync import sync

        # The same settings compile uses (flags > PIP_* > pip's files): proxy,
        # certificates, trusted hosts and the indexes whose credentials the lock's
        # redacted URLs need.
        settings = load_index_settings(
            flags=connection.as_flags(), input_options=None, cache_dir=cache_dir
        )
        for warning in settings.warnings:
            out.warn(warning)
        path = lockfile or find_lockfile(Path.cwd())
        lock, keep_parse = read_lock_cached(path, cache_dir)
        settle()  # the lock is read: what is allocated from here on is short-lived
        result = sync(
            lock,
            lock_dir=path.resolve().parent,
            python=interpreter,
            cache_dir=cache_dir,
            dry_run=dry_run,
            installer=installer,  # type: ignore[arg-type]
            jobs=jobs or os.cpu_count() or 1,
            compile_bytecode=compile_bytecode,
            break_system_packages=break_system_packages,
            settings=settings,
            reporter=out,
            target_id=target_id,
        )
    keep_parse()  # the lock passed every check: the next sync of the same text skips tomllib
    out.clear_status()
    _render(result, interpreter, path, dry_run=dry_run, console=out)


def _render(
    result: SyncResult, interpreter: Path, path: Path, *, dry_run: bool, console: Console
) -> None:
    plan = result.plan
    if dry_run:
        click.echo(render_changes(plan) if plan.changes else "Nothing would change.")
        if plan.changes:
            raise StaleError(
                f"{interpreter} does not match {path.name}.",
                hint="Run lock-build sync without --dry-run to apply the changes above.",
            )
        return
    if not plan.changes:
        console.info(
            f"{interpreter}: already matches {path.name} "
            f"({len(plan.unchanged)} package(s), {result.seconds:.2f}s)."
        )
        return
    console.info(render_changes(plan).rstrip())
    console.info(
        f"Synced {interpreter} to {path.name}: {len(plan.install)} installed, "
        f"{len(plan.remove)} removed, {len(result.built)} built, "
        f"{len(result.reused)} build(s) reused from the cache ({result.seconds:.1f}s)."
    )


def render_changes(plan: Plan) -> str:
    lines = []
    for build in plan.builds:
        lines.append(f"build     {build.key}")
    for step in plan.install:
        was = f" (was {step.installed_version})" if step.installed_version else ""
        why = f": {step.reason}" if step.reason else ""
        lines.append(f"{step.action:<9} {step.name}=={step.version}{was}{why}")
    for removed in plan.remove:
        lines.append(f"remove    {removed.name}=={removed.version}")
    return "\n".join(lines) + "\n"
