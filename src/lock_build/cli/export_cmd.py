"""`lock-build export`: the lock as requirements.txt, build-constraints.txt or pylock.toml."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
from packaging.pylock import is_valid_pylock_path

from lock_build.cli.options import export_target_option, lockfile_argument
from lock_build.cli.output import Console, console_option_group
from lock_build.errors import InputError
from lock_build.export import FORMATS
from lock_build.export_targets import export_lock
from lock_build.lockfile import find_lockfile, read_lock, write_text_atomic


@click.command("export")
@lockfile_argument
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="requirements",
    show_default=True,
    help="requirements: pip-compile style requirements.txt with hashes; build-constraints: "
    "for pip --build-constraint / uv --build-constraints (only when one global set "
    "reproduces every build environment); pylock: PEP 751 pylock.toml.",
)
@click.option(
    "-o",
    "--output-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here (atomically) instead of stdout. For pylock: pylock.toml or "
    "pylock.<name>.toml, as PEP 751 requires.",
)
@export_target_option
@console_option_group
def command(
    lockfile: Path | None,
    fmt: str,
    output_file: Path | None,
    target_id: str | None,
    quiet: bool,
    verbose: int,
    cache_dir: Path | None,
) -> None:
    """Write the lock in another tool's format (stdout unless -o)."""
    console = Console(quiet=quiet, verbose=verbose)
    path = lockfile if lockfile is not None else find_lockfile(Path.cwd())
    if output_file is not None:
        _check_output(output_file, fmt, path)
    lock = read_lock(path)
    result = export_lock(
        lock,
        fmt,
        target_id=target_id,
        command=_regenerate_command(fmt, lockfile or Path(path.name), output_file, target_id),
    )
    for warning in result.warnings:
        console.warn(warning)
    if output_file is None:
        click.echo(result.text, nl=False)
        return
    write_text_atomic(output_file, result.text)
    console.info(f"Wrote {output_file} ({fmt}).")


def _check_output(output: Path, fmt: str, lockfile: Path) -> None:
    if output.resolve() == lockfile.resolve():
        raise InputError(
            f"-o {output} is the lockfile being exported.", hint="Choose another output file."
        )
    if fmt == "pylock" and not is_valid_pylock_path(output):
        raise InputError(
            f"{output.name} is not a pylock file name: PEP 751 requires pylock.toml or "
            "pylock.<name>.toml.",
            hint="Use e.g. -o pylock.toml.",
        )
    if fmt != "pylock" and output.name.startswith("pylock.") and output.suffix == ".toml":
        raise InputError(
            f"{output.name} is a name PEP 751 reserves for pylock files.",
            hint="Use --format pylock for that format, or another file name.",
        )


def _regenerate_command(
    fmt: str, lockfile: Path, output: Path | None, target_id: str | None
) -> str:
    words = ["lock-build", "export", "--format", fmt, str(lockfile)]
    if target_id is not None:
        words += ["--target", target_id]
    if output is not None:
        words += ["-o", str(output)]
    return shlex.join(words)
