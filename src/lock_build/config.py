"""Project configuration: ``[tool.lock-build]`` in pyproject.toml and ``lock-build.toml``.

Both set defaults for any long option by its name, shared at the top level or per
command (``[tool.lock-build.compile]``, or ``[compile]`` in lock-build.toml), as
pip-tools' ``[tool.pip-tools]`` does. The command line and ``LOCK_BUILD_*`` variables
override them (the CLI applies them as click's ``default_map``); lock-build.toml
overrides pyproject.toml; pip's own configuration only fills what is still unset.

This module knows nothing about click: the CLI hands it a :class:`Schema` (which keys
each command takes, and of what kind) and gets typed, validated values back. ``targets``
and ``abi`` are reserved for the multi-target and ABI-rule work: accepted anywhere and
passed through raw, validated by nobody here.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from lock_build.errors import ConfigError

__all__ = [
    "PROJECT_FILE",
    "RESERVED_KEYS",
    "ConfigFileError",
    "ConfigValue",
    "Kind",
    "LoadedConfig",
    "Schema",
    "discover_config_files",
    "load_config",
]

PROJECT_FILE = "lock-build.toml"
RESERVED_KEYS = frozenset({"targets", "abi"})


class Kind(Enum):
    """What a key's value must be, from the option it sets."""

    FLAG = "a boolean"
    COUNT = "an integer"
    TEXT = "a string"
    NUMBER = "a number"
    LIST = "a string or a list of strings"


@dataclass(frozen=True, kw_only=True, slots=True)
class Schema:
    """Per command: option key (kebab-case long name) -> (parameter name, kind)."""

    commands: Mapping[str, Mapping[str, tuple[str, Kind]]]

    def shared(self, key: str) -> bool:
        return any(key in options for options in self.commands.values())


class ConfigFileError(ConfigError):
    """A configuration file that cannot be used: unreadable, or a key or value it cannot
    hold. ``path`` and ``key`` say where."""

    def __init__(
        self, message: str, *, path: Path, key: str | None = None, hint: str | None = None
    ):
        super().__init__(message, hint=hint)
        self.path = path
        self.key = key


@dataclass(frozen=True, kw_only=True, slots=True)
class ConfigValue:
    """One setting a file gives a command: the click parameter it sets, its value, and
    where it came from (``lock-build.toml [compile]``) for ``-v``."""

    param: str
    value: object
    source: str


@dataclass(frozen=True, kw_only=True, slots=True)
class _FileSettings:
    path: Path
    table: str  # "tool.lock-build" in pyproject.toml, "" in lock-build.toml
    shared: Mapping[str, object]
    commands: Mapping[str, Mapping[str, object]]
    reserved: Mapping[str, object]


@dataclass(frozen=True, kw_only=True, slots=True)
class LoadedConfig:
    """Every configuration file that applies, lowest precedence first."""

    files: tuple[Path, ...] = ()
    values: Mapping[str, Mapping[str, ConfigValue]] = field(default_factory=dict)
    # Reserved keys, raw, as the highest-precedence file wrote them (None: not set).
    targets: object = None
    abi: object = None

    def for_command(self, command: str) -> Mapping[str, ConfigValue]:
        """Parameter name -> the value (and its source) the files give ``command``."""
        return self.values.get(command, {})

    def default_map(self, command: str) -> dict[str, object]:
        return {param: item.value for param, item in self.for_command(command).items()}


def discover_config_files(cwd: Path) -> tuple[Path, ...]:
    """The nearest pyproject.toml with a ``[tool.lock-build]`` table and the nearest
    lock-build.toml, from ``cwd`` up to the repository root (the first directory holding
    ``.git``); only ``cwd`` when it is in no repository. Lowest precedence first."""
    directories = _search_path(cwd)
    pyproject = next(
        (d / "pyproject.toml" for d in directories if _has_tool_table(d / "pyproject.toml")),
        None,
    )
    own = next((d / PROJECT_FILE for d in directories if (d / PROJECT_FILE).is_file()), None)
    return tuple(p for p in (pyproject, own) if p is not None)


def load_config(files: tuple[Path, ...], schema: Schema) -> LoadedConfig:
    """Read and validate ``files`` (lowest precedence first) against ``schema``."""
    values: dict[str, dict[str, ConfigValue]] = {name: {} for name in schema.commands}
    reserved: dict[str, object] = {}
    for path in files:
        settings = _read(path, schema)
        for command, options in schema.commands.items():
            # Within a file, the command's own table overrides the shared top level.
            for table, label in (
                (settings.shared, _label(path, settings.table)),
                (settings.commands.get(command, {}), _label(path, settings.table, command)),
            ):
                for key, raw in table.items():
                    if key not in options:
                        continue  # a shared key for another command
                    param, kind = options[key]
                    values[command][param] = ConfigValue(
                        param=param, value=_typed(raw, kind, key=key, path=path), source=label
                    )
        reserved.update(settings.reserved)
    return LoadedConfig(
        files=files,
        values=values,
        targets=reserved.get("targets"),
        abi=reserved.get("abi"),
    )


# --------------------------------------------------------------------------- reading


def _label(path: Path, table: str, command: str | None = None) -> str:
    """How ``-v`` names where a value came from: ``pyproject.toml [tool.lock-build.compile]``."""
    try:
        shown = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        shown = str(path)
    section = ".".join(part for part in (table, command) if part)
    return f"{shown} [{section}]" if section else shown


def _search_path(cwd: Path) -> list[Path]:
    directories = [cwd, *cwd.parents]
    for index, directory in enumerate(directories):
        if (directory / ".git").exists():
            return directories[: index + 1]
    return [cwd]


def _has_tool_table(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False  # not ours to judge here; the inputs layer reports a broken input
    tool = data.get("tool")
    return isinstance(tool, dict) and "lock-build" in tool


def _read(path: Path, schema: Schema) -> _FileSettings:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigFileError(f"Configuration file {path} does not exist.", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"Cannot read configuration file {path}: {exc}.", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path} is not valid TOML: {exc}.", path=path) from None
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        table = tool.get("lock-build", {}) if isinstance(tool, dict) else {}
        prefix = "tool.lock-build."
    else:
        table, prefix = data, ""
    if not isinstance(table, dict):
        raise ConfigFileError(f"{path}: {prefix or 'the file'} must be a table.", path=path)
    shared: dict[str, object] = {}
    commands: dict[str, dict[str, object]] = {}
    reserved: dict[str, object] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        if key in RESERVED_KEYS:
            reserved[key] = value
        elif key in schema.commands and isinstance(value, dict):
            commands[key] = dict(_command_table(value, key, schema, path, prefix))
            reserved.update({k: v for k, v in value.items() if k in RESERVED_KEYS})
        elif schema.shared(key):
            shared[key] = value
        else:
            raise _unknown(key, f"{prefix}{raw_key}", path, schema)
    return _FileSettings(
        path=path, table=prefix.rstrip("."), shared=shared, commands=commands, reserved=reserved
    )


def _command_table(
    table: Mapping[str, Any], command: str, schema: Schema, path: Path, prefix: str
) -> Iterator[tuple[str, object]]:
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        if key in RESERVED_KEYS:
            continue
        if key not in schema.commands[command]:
            raise _unknown(key, f"{prefix}{command}.{raw_key}", path, schema, command=command)
        yield key, value


def _unknown(
    key: str, where: str, path: Path, schema: Schema, *, command: str | None = None
) -> ConfigFileError:
    if command is None:
        hint = (
            "Keys are long option names (index-url, upgrade, ...) or a command table: "
            + ", ".join(f"[{c}]" for c in sorted(schema.commands))
            + "."
        )
    else:
        hint = f"lock-build {command} takes: " + ", ".join(sorted(schema.commands[command])) + "."
    return ConfigFileError(
        f"{path}: unknown key {where!r}" + (f" for lock-build {command}." if command else "."),
        path=path,
        key=key,
        hint=hint,
    )


def _typed(value: object, kind: Kind, *, key: str, path: Path) -> object:
    ok = {
        Kind.FLAG: isinstance(value, bool),
        Kind.COUNT: isinstance(value, int) and not isinstance(value, bool),
        Kind.TEXT: isinstance(value, str),
        Kind.NUMBER: isinstance(value, int | float) and not isinstance(value, bool),
        Kind.LIST: isinstance(value, str)
        or (isinstance(value, list) and all(isinstance(v, str) for v in value)),
    }[kind]
    if not ok:
        raise ConfigFileError(
            f"{path}: {key} must be {kind.value}, not {value!r}.", path=path, key=key
        )
    if kind is Kind.LIST:
        return (value,) if isinstance(value, str) else tuple(value)  # type: ignore[arg-type]
    return value
