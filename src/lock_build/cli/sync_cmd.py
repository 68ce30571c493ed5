"""`lock-build sync`: make an environment equal the lock."""

from __future__ import annotations

import os
from pathlib import Path

import click

from lock_build.cli.options import lockfile_argument, python_option, target_id_option
from lock_build.cli.output import Console, console_option_group, default_cache_dir
from lock_build.errors import StaleError
from lock_build.lockfile import find_lockfile, read_lock
from lock_build.plan import Plan
from lock_build.target import select_interpreter


@click.command("sync")
@lockfile_argument
@python_option
@target_id_option
@click.option("--dry-run", is_flag=True, help="Show what would change; exit 1 if anything would.")
@click.option(
    "--installer",
    type=click.Choice(["pip", "uv"]),
    default="pip",
    show_default=True,
    help="The tool that installs into the target.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Parallel builds [default: the number of CPUs].",
)
@click.option(
    "--break-system-packages",
    is_flag=True,
    help="Allow changing an externally managed (PEP 668) interpreter.",
)
@console_option_group
def command(
    lockfile: Path | None,
    python: str | None,
    target_id: str | None,
    dry_run: bool,
    installer: str,
    jobs: int | None,
    break_system_packages: bool,
    quiet: bool,
    verbose: int,
    cache_dir: Path | None,
) -> None:
    """Build what the lock says must be built, then install, upgrade, downgrade and remove
    so the target environment equals LOCKFILE."""
    from lock_build.sync import sync

    console = Console(quiet=quiet, verbose=verbose)
    path = lockfile or find_lockfile(Path.cwd())
    lock = read_lock(path)
    interpreter = select_interpreter(python)
    result = sync(
        lock,
        lock_dir=path.resolve().parent,
        python=interpreter,
        cache_dir=default_cache_dir(cache_dir),
        dry_run=dry_run,
        installer=installer,  # type: ignore[arg-type]
        jobs=jobs or os.cpu_count() or 1,
        break_system_packages=break_system_packages,
        reporter=console,
        target_id=target_id,
    )
    console.clear_status()
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
    for removal in plan.remove:
        lines.append(f"remove    {removal.name}=={removal.version}")
    return "\n".join(lines) + "\n"
