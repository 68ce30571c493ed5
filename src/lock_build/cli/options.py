"""Every command-line option, declared once (pip-tools' good habit), and the typed groups
commands receive them in.

Short flags mean one thing everywhere: ``-o`` is the output, ``-f`` is ``--find-links``,
``-i`` the index, ``-c`` a constraints file, ``-b`` a build-constraints file, ``-q``/``-v``
the noise level; ``--format`` has no short form. Every option also reads a
``LOCK_BUILD_<NAME>`` variable, and takes its default from the project configuration
(``--config``, lock-build.toml, ``[tool.lock-build]``) through click's ``default_map``:
flag > variable > lock-build.toml > pyproject.toml > pip's configuration.

Why one long module: declaring every option exactly once is the point (commands import
their options from here instead of repeating them), so the module grows with the CLI;
split by command, the shared options would drift apart again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource
from packaging.requirements import InvalidRequirement, Requirement

from lock_build.config import Kind, LoadedConfig, Schema, discover_config_files, load_config
from lock_build.redaction import redact

F = TypeVar("F", bound=Callable[..., Any])
_CONFIG_META = "lock_build.config"
ENV_PREFIX = "LOCK_BUILD_"


def option(*decls: str, **kwargs: Any) -> Callable[[F], F]:
    """click.option with a ``LOCK_BUILD_<LONG_NAME>`` variable (unless ``envvar`` is given)."""
    if "envvar" not in kwargs:
        long = next(d for d in decls if d.startswith("--"))
        kwargs["envvar"] = ENV_PREFIX + long[2:].replace("-", "_").upper()
        kwargs.setdefault("show_envvar", False)
    return click.option(*decls, **kwargs)


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


def _packed(name: str, cls: type[Any], *decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Declare ``decorators``' options and hand them to the command as one ``cls`` value."""
    keys = tuple(f.name for f in fields(cls))

    def apply(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs[name] = cls(**{key: kwargs.pop(key) for key in keys})
            return func(*args, **kwargs)

        before = len(getattr(wrapper, "__click_params__", ()))
        decorated = _stack(*decorators)(wrapper)  # type: ignore[arg-type]
        declared = {p.name for p in getattr(decorated, "__click_params__", ())[before:]}
        if declared != set(keys):  # a field without its option, or the reverse: fail at import
            raise TypeError(f"{cls.__name__}: options {sorted(declared ^ set(keys))} mismatch")
        return decorated

    return apply


# --------------------------------------------------------------------------- typed groups


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsoleFlags:
    quiet: bool
    verbose: int
    cache_dir: Path | None
    config: Path | None


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetFlags:
    python: str | None
    targets: tuple[str, ...]
    drop_targets: tuple[str, ...]
    python_version: str | None
    platform: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexFlags:
    """Index options as given; pip's configuration layer fills what is unset."""

    index_url: str | None
    extra_index_url: tuple[str, ...]
    find_links: tuple[str, ...]
    no_index: bool
    index_strategy: str | None
    exclude_newer: str | None
    only_binary: tuple[str, ...]
    no_binary: tuple[str, ...]
    prefer_binary: bool
    pre: bool
    trusted_host: tuple[str, ...]
    cert: str | None
    client_cert: str | None
    proxy: str | None
    timeout: float | None
    retries: int | None
    offline: bool

    def as_flags(self) -> dict[str, object]:
        """By name, as ``inputs.pip_config.load_index_settings`` takes them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectionFlags:
    """Where sync may fetch from and how it connects: the lock's files are fetched under
    this run's settings (flags, then pip's configuration), never the lock's own."""

    index_url: str | None
    extra_index_url: tuple[str, ...]
    find_links: tuple[str, ...]
    no_index: bool
    trusted_host: tuple[str, ...]
    cert: str | None
    client_cert: str | None
    proxy: str | None
    timeout: float | None
    retries: int | None

    def as_flags(self) -> dict[str, object]:
        """By name, as ``inputs.pip_config.load_index_settings`` takes them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --------------------------------------------------------------------------- configuration


def _config_callback(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    """Eager: load the configuration before any other option takes its default."""
    root = ctx.find_root()
    files = (value,) if value is not None else discover_config_files(Path.cwd())
    # The schema names every command's options, so it imports every command: only when
    # there is a file to check against it.
    if files and isinstance(root.command, click.Group):
        schema = command_schema(root.command, root)
    else:
        schema = Schema(commands={})
    loaded = load_config(files, schema)
    ctx.meta[_CONFIG_META] = loaded
    command = ctx.info_name or ""
    ctx.default_map = {**(ctx.default_map or {}), **loaded.default_map(command)}


def current_config(ctx: click.Context | None = None) -> LoadedConfig:
    """The configuration this run loaded (``targets`` and ``abi`` raw, for their owners)."""
    ctx = ctx or click.get_current_context()
    loaded = ctx.meta.get(_CONFIG_META)
    return loaded if isinstance(loaded, LoadedConfig) else LoadedConfig()


def command_schema(group: click.Group, ctx: click.Context | None = None) -> Schema:
    """Which configuration keys each command takes: its long options, by name."""
    commands: dict[str, dict[str, tuple[str, Kind]]] = {}
    ctx = ctx or click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None:
            continue
        keys: dict[str, tuple[str, Kind]] = {}
        for param in command.params:
            if not isinstance(param, click.Option) or param.name in (None, "config"):
                continue
            for decl in param.opts:
                if decl.startswith("--"):
                    keys[decl[2:]] = (param.name, _kind(param))
        commands[name] = keys
    return Schema(commands=commands)


def _kind(param: click.Option) -> Kind:
    if param.count:
        return Kind.COUNT
    if param.is_flag:
        return Kind.FLAG
    if param.multiple:
        return Kind.LIST
    if isinstance(param.type, click.types.IntParamType | click.types.FloatParamType):
        return Kind.NUMBER
    return Kind.TEXT


def effective_settings(ctx: click.Context) -> list[str]:
    """One line per option not at its built-in default: its value and where it came from."""
    loaded = current_config(ctx)
    from_files = loaded.for_command(ctx.info_name or "")
    lines = []
    for param in ctx.command.params:
        name = param.name
        if name is None or not isinstance(param, click.Option) or name == "config":
            continue
        source = ctx.get_parameter_source(name)
        if source is None or source is ParameterSource.DEFAULT:
            continue
        long = next((o for o in param.opts if o.startswith("--")), name)
        label = {
            ParameterSource.COMMANDLINE: "command line",
            ParameterSource.ENVIRONMENT: "environment " + str(param.envvar),
            ParameterSource.DEFAULT_MAP: from_files[name].source if name in from_files else "",
        }.get(source, source.name.lower())
        lines.append(f"  {long} = {_shown(ctx.params.get(name))}  ({label})")
    files = ", ".join(str(p) for p in loaded.files) or "none found"
    return [f"Settings (configuration files: {files}):", *lines]


def _shown(value: object) -> str:
    """A value for ``-v``: URLs never show their credentials."""
    if isinstance(value, tuple | list):
        return " ".join(redact(str(v)) for v in value) if value else "(none)"
    return redact(str(value))


# --------------------------------------------------------------------------- the options

config_option = option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    is_eager=True,
    expose_value=True,
    callback=_config_callback,
    help="Read defaults from this file [default: lock-build.toml, then pyproject.toml "
    "[tool.lock-build], nearest to the current directory within the repository].",
)

console_options = _packed(
    "console",
    ConsoleFlags,
    config_option,
    option("-q", "--quiet", is_flag=True, help="Print nothing but errors and warnings."),
    option("-v", "--verbose", count=True, help="Show more detail (repeatable)."),
    option(
        "--cache-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Cache directory [env: LOCK_BUILD_CACHE_DIR; default: the platform cache dir].",
    ),
)

python_option = option(
    "--python",
    "python",
    metavar="PATH",
    help="Target interpreter or virtual environment [default: $VIRTUAL_ENV, else this Python].",
)

target_options = _packed(
    "target",
    TargetFlags,
    python_option,
    option(
        "--target",
        "targets",
        multiple=True,
        metavar="SPEC",
        help="Lock for this target too (repeatable): a Python version (3.12), a version and a "
        "wheel platform tag (3.11-manylinux_2_28_x86_64) or an interpreter path. On an "
        "existing lock it adds or refreshes just these targets.",
    ),
    option(
        "--drop-target",
        "drop_targets",
        multiple=True,
        metavar="ID",
        help="Remove this target (its [[target]] id) from the existing lock, keeping the "
        "others as they are (repeatable).",
    ),
    option("--python-version", metavar="X.Y", help="Lock for another Python version."),
    option(
        "--platform",
        metavar="TAG",
        help="Lock for another platform (a wheel tag: manylinux_2_28_x86_64).",
    ),
)

# Consumers of a multi-target lock: which target to act on.
target_id_option = option(
    "--target",
    "target_id",
    metavar="ID",
    help="The lock's target to use, e.g. cp311-manylinux_2_28_x86_64 [default: the most "
    "specific one the interpreter fits].",
)
export_target_option = option(
    "--target",
    "target_id",
    metavar="ID",
    help="Export this target of the lock [default: every target, with markers].",
)

# Options that compile's index group and sync's connection group share: declared once.
_index_url = option(
    "-i", "--index-url", metavar="URL", help="Base URL of the package index (PEP 503)."
)
_extra_index_url = option(
    "--extra-index-url", multiple=True, metavar="URL", help="More indexes (repeatable)."
)
_find_links = option(
    "-f",
    "--find-links",
    multiple=True,
    metavar="PATH|URL",
    help="A directory or page of links to archives (repeatable).",
)
_no_index = option("--no-index", is_flag=True, help="Ignore indexes; use --find-links only.")
_trusted_host = option(
    "--trusted-host",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Allow plain http or an unverified certificate for this host (repeatable).",
)
_cert = option("--cert", type=click.Path(dir_okay=False), help="CA bundle for HTTPS.")
_client_cert = option(
    "--client-cert",
    type=click.Path(dir_okay=False),
    help="Client certificate (a PEM file holding the private key and the certificate).",
)
_proxy = option("--proxy", metavar="URL", help="Proxy, as scheme://[user:pass@]host:port.")
_timeout = option("--timeout", type=float, help="Socket timeout in seconds.")
_retries = option("--retries", type=int, help="Retries for each connection.")

index_options = _packed(
    "index",
    IndexFlags,
    _index_url,
    _extra_index_url,
    _find_links,
    _no_index,
    option(
        "--index-strategy",
        type=click.Choice(["unsafe-best-match", "first-index"]),
        help="unsafe-best-match (pip's: every index, best version wins) or first-index (uv's: a "
        "name comes from the first index that has it).",
    ),
    option(
        "--exclude-newer",
        metavar="DATE",
        help="Ignore files uploaded after DATE (YYYY-MM-DD or RFC 3339), to reproduce a past lock.",
    ),
    option(
        "--only-binary",
        multiple=True,
        metavar="NAMES",
        help="Never use sdists of these packages (comma separated, or :all: / :none:).",
    ),
    option(
        "--no-binary",
        multiple=True,
        metavar="NAMES",
        help="Never use wheels of these packages: they are built "
        "(comma separated, or :all: / :none:).",
    ),
    option("--prefer-binary", is_flag=True, help="Prefer older wheels to newer sdists."),
    option("--pre", is_flag=True, help="Allow pre-releases."),
    _trusted_host,
    _cert,
    _client_cert,
    _proxy,
    _timeout,
    _retries,
    option(
        "--offline",
        is_flag=True,
        help="Use only the cache: no request is sent; a page or file missing from it is an error.",
    ),
)

connection_options = _packed(
    "connection",
    ConnectionFlags,
    _index_url,
    _extra_index_url,
    _find_links,
    _no_index,
    _trusted_host,
    _cert,
    _client_cert,
    _proxy,
    _timeout,
    _retries,
)


def output_option(help: str, *, directory: bool = False) -> Callable[[F], F]:
    """``-o``: the output of every command (a file; for ``plan --format sh`` a directory;
    ``-`` is standard output). ``--output-file`` is pip-compile's spelling."""
    return option(
        "-o",
        "--output",
        "--output-file",
        "output",
        type=click.Path(
            file_okay=not directory, dir_okay=directory, allow_dash=not directory, path_type=Path
        ),
        help=help,
    )


def format_option(choices: tuple[str, ...], default: str, help: str) -> Callable[[F], F]:
    """``--format`` (no short form: ``-f`` is --find-links)."""
    return option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help=help,
    )


# Every command that reads a lock takes it as an optional argument; without it, the one
# lockfile in the current directory (lockfile.find_lockfile) is used.
lockfile_argument = click.argument(
    "lockfile", required=False, type=click.Path(dir_okay=False, path_type=Path)
)

dry_run_option = option(
    "--dry-run", is_flag=True, help="Show what would change; exit 1 if anything would."
)
check_option = option(
    "--check",
    is_flag=True,
    help="Do not write: exit 1 and say why if the output no longer matches the lock or inputs.",
)

# --- compile

compile_inputs_argument = click.argument(
    "inputs", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True, path_type=Path)
)
previous_option = option(
    "--previous",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Keep the pins of this file: a pip-compile or uv requirements.txt, a pylock.toml or "
    "a lock-build lock (the way to switch from another tool without changing a version).",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class SelectionFlags:
    """What to lock beyond the inputs' own requirements."""

    constraint: tuple[Path, ...]
    extra: tuple[str, ...]
    all_extras: bool
    group: tuple[str, ...]


selection_options = _packed(
    "selection",
    SelectionFlags,
    option(
        "-c",
        "--constraint",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Constrain versions with this file (repeatable).",
    ),
    option("--extra", multiple=True, metavar="NAME", help="Include this extra of pyproject.toml."),
    option("--all-extras", is_flag=True, help="Include every extra of pyproject.toml."),
    option("--group", multiple=True, metavar="NAME", help="Include this PEP 735 dependency group."),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class UpgradeFlags:
    upgrade: bool
    upgrade_package: tuple[Requirement, ...]


def _requirements(
    _ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[Requirement, ...]:
    parsed = []
    for text in values:
        try:
            parsed.append(Requirement(text))
        except InvalidRequirement as exc:
            raise click.BadParameter(f"{text!r} is not a valid requirement ({exc}).") from None
    return tuple(parsed)


upgrade_options = _packed(
    "upgrade",
    UpgradeFlags,
    option("-U", "--upgrade", is_flag=True, help="Ignore the pins of the existing lock."),
    option(
        "-P",
        "--upgrade-package",
        multiple=True,
        metavar="PKG[==V]",
        callback=_requirements,
        help="Upgrade only this package (runtime and build pins); repeatable.",
    ),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class CompatFlags:
    """pip-compile flags whose behaviour lock-build always has."""

    generate_hashes: bool
    allow_unsafe: bool

    def notes(self) -> list[str]:
        notes = []
        if self.generate_hashes:
            notes.append("--generate-hashes: every downloadable file is locked with its hash.")
        if self.allow_unsafe:
            notes.append("--allow-unsafe: pip, setuptools and wheel are locked like any package.")
        return notes


compat_options = _packed(
    "compat",
    CompatFlags,
    option(
        "--generate-hashes",
        is_flag=True,
        help="Accepted for pip-compile: every downloadable file is always locked with its hash.",
    ),
    option(
        "--allow-unsafe",
        is_flag=True,
        help="Accepted for pip-compile: pip, setuptools and wheel are always locked when needed.",
    ),
)


# compile runs build hooks, sync builds wheels: both at most this many at once.
jobs_option = option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Build hooks (compile) or builds (sync) run at once [default: the number of CPUs]; "
    "never changes a lock.",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildFlags:
    """The build policy, as given; compile_cmd turns it into locking.builds.BuildOptions."""

    build_constraint: tuple[Path, ...]
    build_match: str
    match_runtime: tuple[str, ...]
    no_match_runtime: tuple[str, ...]
    abi_equal: tuple[str, ...]
    extra_build_requires: tuple[str, ...]
    config_settings_package: tuple[str, ...]
    no_build_isolation_package: tuple[str, ...]
    jobs: int | None


build_options = _packed(
    "build",
    BuildFlags,
    jobs_option,
    option(
        "-b",
        "--build-constraint",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Constrain every build environment with this file (never overridden).",
    ),
    option(
        "--build-match",
        type=click.Choice(["runtime", "declared"]),
        default="runtime",
        show_default=True,
        help="runtime: build ABI packages against their runtime version, recording any "
        "substitution; declared: fail instead when declared build requirements exclude it.",
    ),
    option(
        "--match-runtime",
        multiple=True,
        metavar="PKG",
        help="Treat PKG as an ABI package built against exactly its runtime version (equality, "
        "replacing any ABI rule PKG has).",
    ),
    option(
        "--no-match-runtime",
        multiple=True,
        metavar="PKG",
        help="Do not treat PKG as an ABI package.",
    ),
    option(
        "--abi-equal",
        multiple=True,
        metavar="SDIST:PKG",
        help="Build SDIST against exactly the runtime version of the ABI package PKG, whatever "
        "PKG's rule allows (e.g. an sdist that raises numpy's target version); repeatable.",
    ),
    option(
        "--extra-build-requires",
        multiple=True,
        metavar="PKG:REQ",
        help="Add a build requirement to PKG (for sdists that under-declare); repeatable.",
    ),
    option(
        "--config-settings-package",
        multiple=True,
        metavar="PKG:KEY=VALUE",
        help="PEP 517 config settings for PKG's build; locked and part of every cache key.",
    ),
    option(
        "--no-build-isolation-package",
        multiple=True,
        metavar="PKG",
        help="Build PKG against the runtime versions of its build requirements.",
    ),
)

# --- export


@dataclass(frozen=True, kw_only=True, slots=True)
class RequirementsFlags:
    """pip-compile's output flags, for ``export --format requirements``."""

    no_header: bool
    no_annotate: bool
    annotation_style: str
    no_emit_index_url: bool
    no_emit_find_links: bool
    no_emit_package: tuple[str, ...]
    strip_extras: bool


requirements_options = _packed(
    "requirements",
    RequirementsFlags,
    option("--no-header", is_flag=True, help="requirements: no comment header."),
    option("--no-annotate", is_flag=True, help="requirements: no '# via' comments."),
    option(
        "--annotation-style",
        type=click.Choice(["split", "line"]),
        default="split",
        show_default=True,
        help="requirements: '# via' on lines of their own (split) or after the pin (line).",
    ),
    option(
        "--no-emit-index-url", is_flag=True, help="requirements: no --index-url/--extra-index-url."
    ),
    option("--no-emit-find-links", is_flag=True, help="requirements: no --find-links lines."),
    option(
        "--no-emit-package",
        "--unsafe-package",
        "no_emit_package",
        multiple=True,
        metavar="PKG",
        help="requirements: leave PKG out (repeatable).",
    ),
    option(
        "--strip-extras",
        is_flag=True,
        help="requirements: accepted for pip-compile; pins never carry extras.",
    ),
)

# --- graph

graph_query_options = _stack(
    option(
        "--why",
        metavar="PKG",
        help="Only the chains from an input requirement to PKG (build edges marked).",
    ),
    option("--package", metavar="PKG", help="Only PKG and what it needs (its subtree)."),
    option("--invert", is_flag=True, help="Dependents instead of dependencies."),
)

# --- sync

sync_options = _stack(
    option(
        "--installer",
        type=click.Choice(["pip", "uv", "builtin"]),
        default="builtin",
        show_default=True,
        help="The tool that installs into the target: pip, uv, or builtin (PyPA installer, "
        "wheels unpacked in parallel; removals still go through pip).",
    ),
    jobs_option,
    option(
        "--compile/--no-compile",
        "compile_bytecode",
        envvar="LOCK_BUILD_COMPILE",
        default=True,
        show_default=True,
        help="Compile the installed .py files to .pyc, as pip does (uv does not by default: "
        "--no-compile is the like-for-like comparison with plain `uv pip sync`).",
    ),
    option(
        "--break-system-packages",
        is_flag=True,
        help="Allow changing an externally managed (PEP 668) interpreter.",
    ),
)


def explicit(ctx: click.Context, name: str) -> bool:
    """Whether the user set ``name`` (flag, variable or file), not its built-in default."""
    source = ctx.get_parameter_source(name)
    return source is not None and source is not ParameterSource.DEFAULT


__all__ = [
    "ConsoleFlags",
    "ConnectionFlags",
    "IndexFlags",
    "Mapping",
    "RequirementsFlags",
    "TargetFlags",
    "command_schema",
    "current_config",
    "effective_settings",
    "explicit",
    "option",
]
