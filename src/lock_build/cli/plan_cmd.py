"""`lock-build plan`: the ordered install plan a lock implies."""

from __future__ import annotations

from pathlib import Path

import click
from packaging.utils import NormalizedName

from lock_build.cli import options
from lock_build.cli.output import start
from lock_build.errors import InputError
from lock_build.lockfile import find_lockfile, read_lock
from lock_build.multilock import consumer_machine, lock_for_consumer
from lock_build.yanks import yanked_notes


@click.command("plan")
@options.lockfile_argument
@options.format_option(
    ("text", "json", "sh"), "text", "text for people, json for tools, sh for plain pip."
)
@options.output_option(
    "Directory for --format sh (plan.sh and its requirement files); "
    "for text/json, write DIR/plan.txt or DIR/plan.json instead of stdout.",
    directory=True,
)
@options.python_option
@options.target_id_option
@options.console_options
def command(
    *,
    lockfile: Path | None,
    fmt: str,
    output: Path | None,
    python: str | None,
    target_id: str | None,
    console: options.ConsoleFlags,
) -> None:
    """Print the multi-stage plan (fetch, build stages, install, remove) derived from LOCKFILE.
    With --python, plan against that environment: skip what matches, add the remove stage."""
    from lock_build.plan import make_plan

    out = start(console)
    path = lockfile or find_lockfile(Path.cwd())
    lock = read_lock(path).with_absolute_files(path.parent.resolve())
    lock = lock_for_consumer(lock, consumer_machine(lock, python, target_id), target_id, out)
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
    for note in yanked_notes(lock.packages):
        out.warn(note)
    if fmt == "sh":
        if output is None:
            raise InputError(
                "--format sh writes a script and its requirement files, so it needs -o DIR.",
                hint="For example: lock-build plan --format sh -o plan/",
            )
        script = plan.render_sh(output)
        out.info(f"Wrote {script} (run it with PYTHON=/path/to/python sh {script}).")
        return
    text = plan.to_json() if fmt == "json" else plan.render_text()
    if output is not None:
        from lock_build.lockfile import write_text_atomic

        target = output / ("plan.json" if fmt == "json" else "plan.txt")
        write_text_atomic(target, text)
        out.info(f"Wrote {target}.")
        return
    click.echo(text, nl=False)
