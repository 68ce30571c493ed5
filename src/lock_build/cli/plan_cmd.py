"""`lock-build plan`: the ordered install plan a lock implies."""

from __future__ import annotations

from pathlib import Path

import click
from packaging.utils import NormalizedName

from lock_build.cli.options import lockfile_argument, target_id_option
from lock_build.cli.output import Console, console_option_group
from lock_build.errors import InputError
from lock_build.lockfile import find_lockfile, read_lock
from lock_build.multilock import consumer_machine, lock_for_consumer


@click.command("plan")
@lockfile_argument
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sh"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, sh for plain pip.",
)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for --format sh (plan.sh and its requirement files); "
    "for text/json, write DIR/plan.txt or DIR/plan.json instead of stdout.",
)
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Plan against this environment: skip what matches, add the remove stage.",
)
@target_id_option
@console_option_group
def command(
    lockfile: Path | None,
    fmt: str,
    output: Path | None,
    python: str | None,
    target_id: str | None,
    quiet: bool,
    verbose: int,
    cache_dir: Path | None,
) -> None:
    """Print the multi-stage plan (fetch, build stages, install, remove) derived from LOCKFILE."""
    from lock_build.plan import make_plan

    console = Console(quiet=quiet, verbose=verbose)
    path = lockfile or find_lockfile(Path.cwd())
    lock = read_lock(path).with_absolute_files(path.parent.resolve())
    lock = lock_for_consumer(lock, consumer_machine(lock, python, target_id), target_id, console)
    installed = None
    keep: set[NormalizedName] = set()
    if python:
        from lock_build.sync.executor import check_target, spared_names
        from lock_build.sync.inspect import inspect_environment
        from lock_build.target import select_interpreter, target_for_interpreter

        interpreter = select_interpreter(python)
        check_target(lock, target_for_interpreter(interpreter))
        state = inspect_environment(interpreter)
        installed = state.installed
        keep = spared_names(state, ("pip", "setuptools", "wheel", "distribute", "pkg-resources"))
    from lock_build.sync.executor import local_source_digests

    digests = local_source_digests(lock, path.parent.resolve())
    plan = make_plan(lock, installed, keep=keep, source_digests=digests)
    if fmt == "sh":
        if output is None:
            raise InputError(
                "--format sh writes a script and its requirement files, so it needs -o DIR.",
                hint="For example: lock-build plan --format sh -o plan/",
            )
        script = plan.render_sh(output)
        console.info(f"Wrote {script} (run it with PYTHON=/path/to/python sh {script}).")
        return
    text = plan.to_json() if fmt == "json" else plan.render_text()
    if output is not None:
        from lock_build.lockfile import write_text_atomic

        target = output / ("plan.json" if fmt == "json" else "plan.txt")
        write_text_atomic(target, text)
        console.info(f"Wrote {target}.")
        return
    click.echo(text, nl=False)
