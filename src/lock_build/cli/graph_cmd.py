"""`lock-build graph`: the runtime + build dependency graph of a lock."""

from __future__ import annotations

from pathlib import Path

import click

from lock_build.cli.options import lockfile_argument, target_id_option
from lock_build.cli.output import Console, console_option_group
from lock_build.graph import FORMATS, render_graph
from lock_build.lockfile import find_lockfile, read_lock
from lock_build.multilock import consumer_machine, lock_for_consumer


@click.command("graph")
@lockfile_argument
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text: a tree from the top-level requirements ([build] marks build edges, (*) a "
    "subtree shown above); dot: Graphviz; mermaid: a Mermaid flowchart.",
)
@target_id_option
@console_option_group
def command(
    lockfile: Path | None,
    fmt: str,
    target_id: str | None,
    quiet: bool,
    verbose: int,
    cache_dir: Path | None,
) -> None:
    """Show the runtime and build dependency graph (build edges dashed / marked)."""
    console = Console(quiet=quiet, verbose=verbose)
    lock = read_lock(lockfile if lockfile is not None else find_lockfile(Path.cwd()))
    lock = lock_for_consumer(lock, consumer_machine(lock, None, target_id), target_id, console)
    click.echo(render_graph(lock, fmt), nl=False)
