"""`lock-build plan`: the ordered install plan a lock implies."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from lock_build.cli import options
from lock_build.cli.output import start
from lock_build.errors import InputError
from lock_build.lockfile import find_lockfile, read_lock, write_text_atomic
from lock_build.yanks import yanked_notes

__all__ = ["command"]


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
    from lock_build.plan_output import plan_json, plan_text
    from lock_build.plan_script import SCRIPT_NAME, plan_script
    from lock_build.sync.prepare import prepare
    from lock_build.target import select_interpreter

    out = start(console)
    path = lockfile or find_lockfile(Path.cwd())
    interpreter = select_interpreter(python) if python else None
    prepared = prepare(
        read_lock(path), lock_dir=path.parent, python=interpreter, target_id=target_id, reporter=out
    )
    plan = prepared.plan()
    for note in yanked_notes(prepared.lock.packages):
        out.warn(note)
    if fmt == "sh":
        if output is None:
            raise InputError(
                "--format sh writes a script and its requirement files, so it needs -o DIR.",
                hint="For example: lock-build plan --format sh -o plan/",
            )
        script = _write_files(output, plan_script(plan))[SCRIPT_NAME]
        script.chmod(0o755)
        out.info(f"Wrote {script} (run it with PYTHON=/path/to/python sh {script}).")
        return
    text = plan_json(plan) if fmt == "json" else plan_text(plan)
    if output is not None:
        name = "plan.json" if fmt == "json" else "plan.txt"
        target = _write_files(output, {name: text})[name]
        out.info(f"Wrote {target}.")
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
