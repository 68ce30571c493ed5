"""`lock-build completion SHELL`: click's completion script, to source from a shell's rc."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

__all__ = ["command"]

_SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(_SHELLS))
def command(shell: str) -> None:
    """Print the completion script for SHELL, e.g. eval "$(lock-build completion bash)"."""
    ctx = click.get_current_context()
    completion = get_completion_class(shell)
    assert completion is not None  # every name in _SHELLS is one of click's
    root = ctx.find_root().command
    click.echo(completion(root, {}, "lock-build", "_LOCK_BUILD_COMPLETE").source())
