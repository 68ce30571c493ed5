"""pip's configuration, read as pip reads it, merged into :class:`IndexSettings`.

Users already configure pip (``pip.conf``, ``PIP_*`` variables); a lock compiler that
ignored that would lock against the wrong index. We read the same files in the same
order with the same precedence, but never import pip:

- config files: global < user < site < ``PIP_CONFIG_FILE`` (later files win), and in
  them ``[global]`` < ``[install]``; ``PIP_*`` variables beat every file;
- command-line flags beat everything for single values; for lists (extra indexes,
  find-links, trusted hosts, constraints) a higher config layer *replaces* a lower
  one, while flags and requirements-file lines are *added* to them — what pip does
  (optparse appends command-line values to the defaults taken from the config).

Configured locations that do not exist are dropped with a warning instead of
failing: a stale ``find-links`` in a user's pip.conf should not stop a lock.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from lock_build.errors import ConfigError, InputError
from lock_build.inputs.index_options import IndexOptions, apply_binary_option, merge_binary
from lock_build.settings import PYPI_SIMPLE, BinaryPolicy, IndexSettings, IndexStrategy
from lock_build.urls import url_path_to_path

__all__ = [
    "ConfigLocations",
    "default_config_locations",
    "load_index_settings",
    "parse_exclude_newer",
]

CONFIG_BASENAME = "pip.conf"
_SECTIONS = ("global", "install")  # override order inside the config files
_IGNORED_ENV = {"version", "help"}  # pip ignores PIP_VERSION / PIP_HELP
_ALIASES = {"default-timeout": "timeout"}
_LIST_KEYS = {"extra-index-url", "find-links", "trusted-host", "constraint", "build-constraint"}
_BOOL_KEYS = {"no-index", "pre", "prefer-binary"}
_BINARY_KEYS = {"only-binary", "no-binary"}
_VALUE_KEYS = {"index-url", "cert", "client-cert", "proxy", "timeout", "retries"}
_KNOWN_KEYS = _LIST_KEYS | _BOOL_KEYS | _BINARY_KEYS | _VALUE_KEYS


# --------------------------------------------------------------------------- where files are


@dataclass(frozen=True, kw_only=True, slots=True)
class ConfigLocations:
    """The config files pip would consider, by kind, in load order.

    ``env_file`` is ``PIP_CONFIG_FILE``: loaded last; when it exists the user files are
    skipped, and when it is ``os.devnull`` no file is read at all (pip's rules).
    """

    global_files: tuple[Path, ...] = ()
    user_files: tuple[Path, ...] = ()
    site_files: tuple[Path, ...] = ()
    env_file: str | None = None

    def candidates(self) -> tuple[tuple[str, Path], ...]:
        """(kind, path) pairs pip would try, in the order later ones override earlier."""
        if self.env_file is not None and self.env_file == os.devnull:
            return ()
        env_exists = bool(self.env_file) and Path(self.env_file or "").exists()
        result = [("global", p) for p in self.global_files]
        if not env_exists:
            result += [("user", p) for p in self.user_files]
        result += [("site", p) for p in self.site_files]
        if self.env_file:
            result.append(("PIP_CONFIG_FILE", Path(self.env_file)))
        return tuple(result)


def default_config_locations(
    environ: Mapping[str, str] | None = None, *, site_prefix: Path | None = None
) -> ConfigLocations:
    """pip's files on Linux/Unix for the given environment variables.

    Global: ``$XDG_CONFIG_DIRS/pip/pip.conf`` for each directory (default ``/etc/xdg``),
    then ``/etc/pip.conf``. User: ``~/.pip/pip.conf`` (legacy), then
    ``$XDG_CONFIG_HOME/pip/pip.conf``. Site: ``<prefix>/pip.conf`` of the *target*
    environment, so only when ``site_prefix`` is given.
    """
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or Path.home())
    dirs = environ.get("XDG_CONFIG_DIRS", "")
    if not dirs.strip():
        dirs = "/etc/xdg"
    global_files = [Path(d) / "pip" / CONFIG_BASENAME for d in dirs.split(os.pathsep) if d]
    global_files.append(Path("/etc") / CONFIG_BASENAME)
    config_home = environ.get("XDG_CONFIG_HOME", "").strip() or str(home / ".config")
    user_files = (home / ".pip" / CONFIG_BASENAME, Path(config_home) / "pip" / CONFIG_BASENAME)
    site_files = (site_prefix / CONFIG_BASENAME,) if site_prefix is not None else ()
    return ConfigLocations(
        global_files=tuple(global_files),
        user_files=user_files,
        site_files=site_files,
        env_file=environ.get("PIP_CONFIG_FILE"),
    )


# --------------------------------------------------------------------------- raw layers


@dataclass(frozen=True, slots=True)
class _Raw:
    value: str
    origin: str  # a config file path, a PIP_* variable, "the command line", ...
    from_config: bool = True  # pip configuration (files, PIP_*) rather than a user's input


@dataclass(kw_only=True, slots=True)
class _Layers:
    """Values by normalized key, lowest precedence first: [global], [install], PIP_*."""

    by_key: dict[str, list[_Raw]] = field(default_factory=dict)
    binary_ops: list[tuple[str, _Raw]] = field(default_factory=list)

    def top(self, key: str) -> _Raw | None:
        values = self.by_key.get(key)
        return values[-1] if values else None

    def all(self, key: str) -> list[_Raw]:
        return self.by_key.get(key, [])


def _normalize_key(name: str) -> str:
    name = name.lower().replace("_", "-")
    if name.startswith("--"):
        name = name[2:]
    return _ALIASES.get(name, name)


def _read_config_file(path: Path) -> dict[tuple[str, str], _Raw]:
    parser = configparser.RawConfigParser()
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle, source=str(path))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read pip configuration file {path}: {exc}.") from None
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(
            f"pip configuration file {path} is malformed: {first}.",
            hint="Fix it, or set PIP_CONFIG_FILE=/dev/null to ignore pip's configuration.",
        ) from None
    values: dict[tuple[str, str], _Raw] = {}
    for section in _SECTIONS:
        if parser.has_section(section):
            for key, value in parser.items(section):
                if value:  # pip skips empty values
                    values[(section, _normalize_key(key))] = _Raw(value, str(path))
    return values


def _read_layers(
    locations: ConfigLocations, environ: Mapping[str, str]
) -> tuple[_Layers, list[str]]:
    warnings: list[str] = []
    # Every file's value is kept (in load order) so a missing location can fall back
    # to the one it overrode; the last one is what pip would use.
    merged: dict[tuple[str, str], list[_Raw]] = {}
    for _, path in locations.candidates():
        for section_key, raw in _read_config_file(path).items():
            merged.setdefault(section_key, []).append(raw)
    if (
        locations.env_file
        and locations.env_file != os.devnull
        and not Path(locations.env_file).exists()
    ):
        warnings.append(
            f"PIP_CONFIG_FILE names {locations.env_file}, which does not exist; ignoring it."
        )
    layers = _Layers()
    ordered: list[tuple[str, _Raw]] = []
    for section in _SECTIONS:
        for (sec, key), raws in merged.items():
            if sec != section:
                continue
            # --only/no-binary accumulate, so only the value pip would see may count.
            ordered += [(key, raw) for raw in (raws[-1:] if key in _BINARY_KEYS else raws)]
    for name, value in environ.items():
        if not name.startswith("PIP_") or not value:
            continue
        key = _normalize_key(name[4:])
        if key in _IGNORED_ENV:
            continue
        ordered.append((key, _Raw(value, name)))
    for key, raw in ordered:
        if key in _BINARY_KEYS:
            layers.binary_ops.append((key, raw))
        elif key in _KNOWN_KEYS:
            layers.by_key.setdefault(key, []).append(raw)
    return layers, warnings


# --------------------------------------------------------------------------- typed values


_TRUE = {"y", "yes", "t", "true", "on", "1"}
_FALSE = {"n", "no", "f", "false", "off", "0"}


def _as_bool(raw: _Raw, key: str) -> bool:
    value = raw.value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(
        f"{raw.value!r} is not a valid value for {key} (from {raw.origin}); "
        "use a boolean like yes/no, true/false or 1/0."
    )


def _as_number(raw: _Raw, key: str, kind: type[float] | type[int]) -> float | int:
    try:
        return kind(raw.value.strip())
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        raise ConfigError(
            f"{raw.value!r} is not a valid value for {key} (from {raw.origin}); it must be {noun}."
        ) from None


def _flag(flags: Mapping[str, object], *names: str) -> object:
    for name in names:
        value = flags.get(name)
        if value is not None and value != () and value != [] and value != "":
            return value
    return None


def _flag_list(flags: Mapping[str, object], *names: str) -> list[str]:
    value = _flag(flags, *names)
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    return [os.fspath(v) for v in value]  # type: ignore[attr-defined]


_COMMAND_LINE = "the command line"
_REQUIREMENTS = "the requirements input"


def load_index_settings(
    *,
    flags: Mapping[str, object],
    input_options: IndexOptions | None,
    environ: Mapping[str, str] | None = None,
    cache_dir: Path | None,
    site_prefix: Path | None = None,
    locations: ConfigLocations | None = None,
) -> IndexSettings:
    """Merge flags, requirements-file options, ``PIP_*`` variables and pip's config files.

    ``flags`` holds command-line values by name (``index_url``, ``extra_index_url``,
    ``find_links``, ``no_index``, ``pre``, ``only_binary``, ``no_binary``,
    ``prefer_binary``, ``trusted_host``, ``cert``, ``client_cert``, ``timeout``,
    ``retries``, ``proxy``, ``constraint``, ``build_constraint``, ``index_strategy``,
    ``exclude_newer``; plural spellings are accepted); ``None``, ``False`` and empty
    values mean "not given", other keys are ignored. ``locations`` defaults to pip's
    files for ``environ`` and ``site_prefix``.
    """
    environ = os.environ if environ is None else environ
    locations = locations or default_config_locations(environ, site_prefix=site_prefix)
    layers, warnings = _read_layers(locations, environ)
    opts = input_options or IndexOptions()

    # Single values: flags > requirements-file lines (index options) > PIP_* > files.
    def single(key: str, *flag_names: str) -> _Raw | None:
        value = _flag(flags, *flag_names)
        if value is not None:
            return _Raw(str(value), _COMMAND_LINE, from_config=False)
        return layers.top(key)

    def boolean(key: str, flag_name: str, from_input: bool = False) -> bool:
        if flags.get(flag_name):
            return True
        if from_input:
            return True
        raw = layers.top(key)
        return _as_bool(raw, key) if raw is not None else False

    def listing(key: str, flag_names: tuple[str, ...], extra: Iterable[str] = ()) -> list[_Raw]:
        top = layers.top(key)
        # A higher config layer replaces a lower one's list; flags and input lines add.
        values = [_Raw(v, top.origin) for v in top.value.split()] if top else []
        values += [_Raw(v, _COMMAND_LINE, False) for v in _flag_list(flags, *flag_names)]
        values += [_Raw(v, _REQUIREMENTS, False) for v in extra]
        return _unique_raw(values)

    def exists(raw: _Raw, key: str, *, url_only: bool = False) -> bool:
        path = _local_path(raw.value, url_only=url_only)
        if path is None or path.exists():
            return True
        if raw.from_config:
            warnings.append(
                f"pip configuration names {key} {raw.value} (from {raw.origin}), "
                "which does not exist; ignoring it."
            )
        else:
            warnings.append(
                f"{raw.origin.capitalize()} names {key} {raw.value}, "
                "which does not exist; ignoring it."
            )
        return False

    # The primary index: the first candidate that exists, by precedence.
    index_candidates: list[_Raw] = []
    if (flag_index := _flag(flags, "index_url")) is not None:
        index_candidates.append(_Raw(str(flag_index), _COMMAND_LINE, False))
    if opts.index_url:
        index_candidates.append(_Raw(opts.index_url, _REQUIREMENTS, False))
    index_candidates += reversed(layers.all("index-url"))
    index_url = next(
        (r.value for r in index_candidates if exists(r, "index-url", url_only=True)), PYPI_SIMPLE
    )

    extra_index = [
        r.value
        for r in listing(
            "extra-index-url", ("extra_index_url", "extra_index_urls"), opts.extra_index_urls
        )
        if exists(r, "extra-index-url", url_only=True)
    ]
    find_links = [
        r.value
        for r in listing("find-links", ("find_links",), opts.find_links)
        if exists(r, "find-links")
    ]
    constraints = [
        r.value
        for r in listing("constraint", ("constraint", "constraints"))
        if exists(r, "constraint")
    ]
    build_constraints = [
        r.value
        for r in listing("build-constraint", ("build_constraint", "build_constraints"))
        if exists(r, "build-constraint")
    ]
    trusted = [
        r.value
        for r in listing("trusted-host", ("trusted_host", "trusted_hosts"), opts.trusted_hosts)
    ]

    timeout_raw = single("timeout", "timeout", "default_timeout")
    retries_raw = single("retries", "retries")
    # A CA bundle or client certificate that is not there is dropped like a location:
    # verification falls back to the default bundle, and says so if the server fails it.
    cert = single("cert", "cert")
    cert = cert if cert is None or exists(cert, "cert") else None
    client_cert = single("client-cert", "client_cert")
    client_cert = client_cert if client_cert is None or exists(client_cert, "client-cert") else None
    proxy = single("proxy", "proxy")

    return IndexSettings(
        index_url=index_url,
        extra_index_urls=tuple(u for u in extra_index if u != index_url),
        find_links=tuple(find_links),
        no_index=boolean("no-index", "no_index", opts.no_index),
        index_strategy=_index_strategy(flags.get("index_strategy")),
        exclude_newer=parse_exclude_newer(flags.get("exclude_newer")),
        binary=_binary_policy(layers, opts, flags),
        pre=boolean("pre", "pre", opts.pre),
        cert=cert.value if cert else None,
        client_cert=client_cert.value if client_cert else None,
        trusted_hosts=tuple(trusted),
        timeout=float(_as_number(timeout_raw, "timeout", float)) if timeout_raw else 15.0,
        retries=int(_as_number(retries_raw, "retries", int)) if retries_raw else 5,
        proxy=proxy.value if proxy else None,
        cache_dir=cache_dir,
        offline=bool(flags.get("offline")),
        constraint_files=tuple(constraints),
        build_constraint_files=tuple(build_constraints),
        warnings=tuple(warnings),
    )


def _binary_policy(
    layers: _Layers, opts: IndexOptions, flags: Mapping[str, object]
) -> BinaryPolicy:
    # pip applies each value in order onto one pair of sets: files, PIP_*, then ours.
    only: set[str] = set()
    no: set[str] = set()
    for key, raw in layers.binary_ops:
        if key == "only-binary":
            apply_binary_option(raw.value, target=only, other=no)
        else:
            apply_binary_option(raw.value, target=no, other=only)
    merged_only, merged_no = merge_binary([(only, no), (opts.only_binary, opts.no_binary)])
    only, no = set(merged_only), set(merged_no)
    # Flags last; --only-binary before --no-binary so ":all: except lxml" reads naturally.
    for value in _flag_list(flags, "only_binary"):
        apply_binary_option(value, target=only, other=no)
    for value in _flag_list(flags, "no_binary"):
        apply_binary_option(value, target=no, other=only)
    prefer = bool(flags.get("prefer_binary")) or opts.prefer_binary
    if not prefer and (configured := layers.top("prefer-binary")) is not None:
        prefer = _as_bool(configured, "prefer-binary")
    return BinaryPolicy(only_binary=frozenset(only), no_binary=frozenset(no), prefer_binary=prefer)


def _index_strategy(value: object) -> IndexStrategy:
    if value is None or value == "":
        return IndexStrategy.UNSAFE_BEST_MATCH
    if isinstance(value, IndexStrategy):
        return value
    try:
        return IndexStrategy(str(value))
    except ValueError:
        choices = ", ".join(s.value for s in IndexStrategy)
        raise InputError(f"--index-strategy {value!r} is not one of: {choices}.") from None


def parse_exclude_newer(value: object) -> datetime | None:
    """``YYYY-MM-DD`` (midnight UTC, so every machine agrees) or an RFC 3339 timestamp."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    else:
        text = str(value).strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                return datetime(day.year, day.month, day.day, tzinfo=UTC)
            moment = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise InputError(
                f"--exclude-newer {text!r} is not a date (YYYY-MM-DD) or an RFC 3339 "
                "timestamp (2024-05-01T12:00:00Z)."
            ) from None
    if moment.tzinfo is None:
        raise InputError(
            f"--exclude-newer {value!s} has no time zone; add one (Z or +02:00) or give a date."
        )
    return moment


def _local_path(value: str, *, url_only: bool) -> Path | None:
    """The filesystem path a location names, or None for a remote URL."""
    parts = urlsplit(value)
    if parts.scheme == "file":
        return url_path_to_path(parts.path)
    if url_only or (parts.scheme and len(parts.scheme) > 1):
        return None  # http(s) and friends; one-letter "schemes" are Windows drives
    return Path(os.path.expanduser(value))


def _unique_raw(values: list[_Raw]) -> list[_Raw]:
    seen: set[str] = set()
    result = []
    for raw in values:
        if raw.value not in seen:
            seen.add(raw.value)
            result.append(raw)
    return result
