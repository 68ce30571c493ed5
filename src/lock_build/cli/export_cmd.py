"""`lock-build export`: the lock as requirements.txt, build-constraints.txt or pylock.toml."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
from packaging.pylock import is_valid_pylock_path
from packaging.utils import canonicalize_name

from lock_build.cli import options
from lock_build.cli.output import start
from lock_build.errors import InputError, StaleError
from lock_build.export import FORMATS, RequirementsStyle
from lock_build.export_targets import export_lock
from lock_build.lockfile import find_lockfile, read_lock, write_text_atomic

__all__ = ["command"]

_STDOUT = Path("-")


@click.command("export")
@options.lockfile_argument
@options.format_option(
    FORMATS,
    "requirements",
    "requirements: pip-compile style requirements.txt with hashes; build-constraints: "
    "for pip --build-constraint / uv --build-constraints (only when one global set "
    "reproduces every build environment); pylock: PEP 751 pylock.toml.",
)
@options.output_option(
    "Write here (atomically) instead of standard output ('-'). For pylock: pylock.toml or "
    "pylock.<name>.toml, as PEP 751 requires."
)
@options.check_option
@options.export_target_option
@options.requirements_options
@options.console_options
def command(
    *,
    lockfile: Path | None,
    fmt: str,
    output: Path | None,
    check: bool,
    target_id: str | None,
    requirements: options.RequirementsFlags,
    console: options.ConsoleFlags,
) -> None:
    """Write the lock in another tool's format (stdout unless -o); with --check, exit 1
    when the file -o names no longer matches the lock."""
    out = start(console)
    path = lockfile if lockfile is not None else find_lockfile(Path.cwd())
    destination = None if output == _STDOUT else output
    if destination is not None:
        _check_output(destination, fmt, path)
    elif check:
        raise InputError("--check compares with a file: name it with -o FILE.")
    command_line = _regenerate_command(fmt, lockfile or Path(path.name), destination, requirements)
    if target_id is not None:
        command_line += " " + shlex.join(["--target", target_id])
    result = export_lock(
        read_lock(path), fmt, target_id=target_id, command=command_line, style=_style(requirements)
    )
    for warning in result.warnings:
        out.warn(warning)
    if destination is None:
        click.echo(result.text, nl=False)
    elif check:
        _compare(destination, result.text, path)
        out.info(f"{destination} matches {path.name}.")
    else:
        write_text_atomic(destination, result.text)
        out.info(f"Wrote {destination} ({fmt}).")


def _style(flags: options.RequirementsFlags) -> RequirementsStyle:
    return RequirementsStyle(
        header=not flags.no_header,
        annotate=not flags.no_annotate,
        annotation_style=flags.annotation_style,
        emit_index_url=not flags.no_emit_index_url,
        emit_find_links=not flags.no_emit_find_links,
        exclude=frozenset(canonicalize_name(n) for n in flags.no_emit_package),
    )


def _compare(destination: Path, text: str, lockfile: Path) -> None:
    try:
        current = destination.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
    if current != text:
        raise StaleError(
            f"{destination} "
            + ("does not exist" if current is None else f"no longer matches {lockfile.name}")
            + ".",
            hint="Run the same command without --check to write it.",
        )


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
    fmt: str, lockfile: Path, output: Path | None, flags: options.RequirementsFlags
) -> str:
    words = ["lock-build", "export", "--format", fmt, str(lockfile)]
    if output is not None:
        words += ["-o", str(output)]
    if fmt == "requirements":
        words += [
            f"--{name.replace('_', '-')}"
            for name in ("no_header", "no_annotate", "no_emit_index_url", "no_emit_find_links")
            if getattr(flags, name)
        ]
        if flags.annotation_style != "split":
            words += ["--annotation-style", flags.annotation_style]
        for package in flags.no_emit_package:
            words += ["--no-emit-package", package]
    return shlex.join(words)
