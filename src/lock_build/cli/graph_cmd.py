"""`lock-build graph`: the runtime + build dependency graph of a lock, or the part of it a
question asks for (--why, --package, --invert)."""

from __future__ import annotations

from pathlib import Path

import click
from packaging.utils import canonicalize_name

from lock_build.cli import options
from lock_build.cli.output import start
from lock_build.graph import FORMATS, GraphQuery, render_graph
from lock_build.lockfile import find_lockfile, read_lock, write_text_atomic
from lock_build.multilock import consumer_machine, lock_for_consumer

__all__ = ["command"]

_STDOUT = Path("-")


@click.command("graph")
@options.lockfile_argument
@options.format_option(
    FORMATS,
    "text",
    "text: a tree from the top-level requirements ([build] marks build edges, (*) a "
    "subtree shown above), or with --why one chain per line; dot: Graphviz; mermaid: a "
    "Mermaid flowchart.",
)
@options.output_option("Write here instead of standard output ('-').")
@options.graph_query_options
@options.target_id_option
@options.console_options
def command(
    *,
    lockfile: Path | None,
    fmt: str,
    output: Path | None,
    why: str | None,
    package: str | None,
    invert: bool,
    target_id: str | None,
    console: options.ConsoleFlags,
) -> None:
    """Show the runtime and build dependency graph (build edges dashed / marked)."""
    out = start(console)
    lock = read_lock(lockfile if lockfile is not None else find_lockfile(Path.cwd()))
    lock = lock_for_consumer(lock, consumer_machine(lock, None, target_id), target_id, out)
    query = GraphQuery(
        why=canonicalize_name(why) if why else None,
        package=canonicalize_name(package) if package else None,
        invert=invert,
    )
    text = render_graph(lock, fmt, query)
    if output is None or output == _STDOUT:
        click.echo(text, nl=False)
        return
    write_text_atomic(output, text)
    out.info(f"Wrote {output} ({fmt}).")
