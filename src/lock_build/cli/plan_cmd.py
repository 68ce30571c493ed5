"""`lock-build plan`: the ordered install plan a lock implies."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from lock_build.cli.options import lockfile_argument
from lock_build.cli.output import Console, console_option_group
from lock_build.errors import InputError
from lock_build.lockfile import find_lockfile, read_lock, write_text_atomic


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
@console_option_group
def command(
    lockfile: Path | None,
    fmt: str,
    output: Path | None,
    python: str | None,
    quiet: bool,
    verbose: int,
    cache_dir: Path | None,
) -> None:
    """Print the multi-stage plan (fetch, build stages, install, remove) derived from LOCKFILE."""
    from lock_build.plan_output import plan_json, plan_text
    from lock_build.plan_script import SCRIPT_NAME, plan_script
    from lock_build.sync.prepare import prepare
    from lock_build.target import select_interpreter

    console = Console(quiet=quiet, verbose=verbose)
    path = lockfile or find_lockfile(Path.cwd())
    interpreter = select_interpreter(python) if python else None
    plan = prepare(read_lock(path), lock_dir=path.parent, python=interpreter).plan()
    if fmt == "sh":
        if output is None:
            raise InputError(
                "--format sh writes a script and its requirement files, so it needs -o DIR.",
                hint="For example: lock-build plan --format sh -o plan/",
            )
        script = _write_files(output, plan_script(plan))[SCRIPT_NAME]
        script.chmod(0o755)
        console.info(f"Wrote {script} (run it with PYTHON=/path/to/python sh {script}).")
        return
    text = plan_json(plan) if fmt == "json" else plan_text(plan)
    if output is not None:
        name = "plan.json" if fmt == "json" else "plan.txt"
        target = _write_files(output, {name: text})[name]
        console.info(f"Wrote {target}.")
        return
    click.echo(text, nl=False)


def _write_files(directory: Path, files: Mapping[str, str]) -> dict[str, Path]:
    """Write ``files`` (name -> text) into ``directory``; return name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, text in files.items():
        if Path(name).name != name:  # names carry lock values: never a path elsewhere
            raise InputError(f"The plan names a file {name!r} that is not a plain file name.")
        written[name] = directory / name
        write_text_atomic(written[name], text)
    return written
