"""The command line: thin commands, one error boundary.

Each command lives in its own module and only parses options, calls the core and
renders the result. ``main`` is the only place that turns a LockBuildError into
one paragraph on stderr and an exit code (0 success, 1 stale/would change, 2 error).
"""

from __future__ import annotations

import importlib
import sys

import click

from lock_build import __version__
from lock_build.cli.output import Console, route_core_logging
from lock_build.errors import LockBuildError
from lock_build.interrupts import Terminated, install_handlers

# Command name -> its module. A module is imported when its command is asked for, and
# brings that command's core with it: `lock-build sync` does not import the resolver.
_COMMANDS = {
    "compile": "compile_cmd",
    "export": "export_cmd",
    "plan": "plan_cmd",
    "sync": "sync_cmd",
    "graph": "graph_cmd",
    "completion": "completion_cmd",
}


class _LazyGroup(click.Group):
    """A click group whose commands are imported on first use (help lists them all)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            module = importlib.import_module(f"lock_build.cli.{_COMMANDS[cmd_name]}")
            self.add_command(module.command)
        return self.commands.get(cmd_name)


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="lock-build")
def cli() -> None:
    """Lock runtime and build dependencies together; sync binary-consistent environments."""


def _register() -> None:
    """Every command on the group now (for whoever walks ``cli.commands``)."""
    with click.Context(cli) as ctx:
        for name in _COMMANDS:
            cli.get_command(ctx, name)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and translate every failure into one paragraph."""
    route_core_logging()
    # SIGINT/SIGTERM stop every child (pip, uv, backends) first, then unwind: finally
    # blocks remove temporary directories and build environments; no lock is written.
    restore = install_handlers()
    try:
        _run(argv)
    finally:
        restore()


def _run(argv: list[str] | None) -> None:
    try:
        cli.main(args=argv, prog_name="lock-build", standalone_mode=False)
    except click.exceptions.Abort as exc:
        # click turns KeyboardInterrupt (and our Terminated) into Abort.
        terminated = isinstance(exc.__cause__, Terminated)
        click.echo("Terminated." if terminated else "Aborted.", err=True)
        sys.exit(143 if terminated else 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except LockBuildError as exc:
        Console.current().error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        click.echo("Terminated." if terminated else "Interrupted.", err=True)
        sys.exit(143 if terminated else 130)
    sys.exit(0)


__all__ = ["cli", "main"]
