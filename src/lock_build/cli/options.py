"""Options shared by several commands, each declared once (pip-tools' good habit)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


python_option = click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Target interpreter or virtual environment [default: $VIRTUAL_ENV, else this Python].",
)

target_options = _stack(
    python_option,
    click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="SPEC",
        help="Lock for this target too (repeatable): a Python version (3.12), a version and a "
        "wheel platform tag (3.11-manylinux_2_28_x86_64) or an interpreter path. On an "
        "existing lock it adds or refreshes just these targets.",
    ),
    click.option("--python-version", metavar="X.Y", help="Lock for another Python version."),
    click.option(
        "--platform",
        metavar="TAG",
        help="Lock for another platform (a wheel tag: manylinux_2_28_x86_64).",
    ),
)

# Consumers of a multi-target lock: which target to act on (default: the one that fits).
target_id_option = click.option(
    "--target",
    "target_id",
    metavar="ID",
    help="The lock's target to use, e.g. cp311-manylinux_2_28_x86_64 [default: the most "
    "specific one the interpreter fits].",
)
export_target_option = click.option(
    "--target",
    "target_id",
    metavar="ID",
    help="Export this target of the lock [default: every target, with markers].",
)

index_options = _stack(
    click.option(
        "-i", "--index-url", metavar="URL", help="Base URL of the package index (PEP 503)."
    ),
    click.option(
        "--extra-index-url", multiple=True, metavar="URL", help="More indexes (repeatable)."
    ),
    click.option(
        "-f",
        "--find-links",
        multiple=True,
        metavar="PATH|URL",
        help="A directory or page of links to archives (repeatable).",
    ),
    click.option("--no-index", is_flag=True, help="Ignore indexes; use --find-links only."),
    click.option(
        "--index-strategy",
        type=click.Choice(["unsafe-best-match", "first-index"]),
        help="unsafe-best-match (pip's: every index, best version wins) or first-index (uv's: a "
        "name comes from the first index that has it).",
    ),
    click.option(
        "--exclude-newer",
        metavar="DATE",
        help="Ignore files uploaded after DATE (YYYY-MM-DD or RFC 3339), to reproduce a past lock.",
    ),
    click.option(
        "--only-binary",
        multiple=True,
        metavar="NAMES",
        help="Never use sdists of these packages (comma separated, or :all: / :none:).",
    ),
    click.option(
        "--no-binary",
        multiple=True,
        metavar="NAMES",
        help="Never use wheels of these packages: they are built "
        "(comma separated, or :all: / :none:).",
    ),
    click.option("--prefer-binary", is_flag=True, help="Prefer older wheels to newer sdists."),
    click.option("--pre", is_flag=True, help="Allow pre-releases."),
    click.option("--cert", type=click.Path(dir_okay=False), help="CA bundle for HTTPS."),
    click.option("--timeout", type=float, help="Socket timeout in seconds."),
    click.option("--retries", type=int, help="Retries for each connection."),
    click.option(
        "--offline",
        is_flag=True,
        help="Use only the cache: no request is sent; a page or file missing from it is an error.",
    ),
)


abi_equal_option = click.option(
    "--abi-equal",
    multiple=True,
    metavar="SDIST:PKG",
    help="Build SDIST against exactly the runtime version of the ABI package PKG, whatever "
    "PKG's rule allows (e.g. an sdist that raises numpy's target version); repeatable.",
)


def index_flags(values: dict[str, Any]) -> dict[str, Any]:
    """The subset of click's values that pip's configuration layer understands."""
    keys = (
        "index_url",
        "extra_index_url",
        "find_links",
        "no_index",
        "index_strategy",
        "exclude_newer",
        "only_binary",
        "no_binary",
        "prefer_binary",
        "pre",
        "cert",
        "timeout",
        "retries",
        "offline",
    )
    return {k: values.get(k) for k in keys}


def path_type(**kwargs: Any) -> click.Path:
    return click.Path(path_type=Path, **kwargs)


# Every command that reads a lock takes it as an optional argument; without it, the one
# lockfile in the current directory (lockfile.find_lockfile) is used.
lockfile_argument = click.argument(
    "lockfile", required=False, type=click.Path(dir_okay=False, path_type=Path)
)
