"""What a user hands ``lock-build compile``, parsed into typed values.

Two input formats: pip's requirements-file syntax (``requirements.in``, with ``-r``,
``-c``, option lines, direct URLs and local paths) and ``pyproject.toml``
(``[project].dependencies``, optional dependencies, PEP 735 dependency groups).
Everything is parsed at this edge; the rest of lock-build sees ``Requirement``
objects, links and index options, never raw lines.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from dependency_groups import DependencyGroupInclude, DependencyGroupResolver
from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from lock_build.errors import InputError
from lock_build.redaction import redact

__all__ = [
    "DirectLink",
    "IndexOptions",
    "InputRequirement",
    "InputSet",
    "UnnamedLink",
    "default_output_path",
    "apply_binary_option",
    "load_inputs",
    "merge_binary",
    "merge_input_sets",
    "parse_requirement",
    "parse_pyproject",
    "parse_requirements_file",
]

LinkKind = Literal["archive", "directory", "vcs"]
_T = TypeVar("_T")

_VCS = ("git", "hg", "svn", "bzr")
_ARCHIVE_EXTENSIONS = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tbz", ".tar")


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, kw_only=True, slots=True)
class DirectLink:
    """A requirement that points at one place instead of asking an index.

    ``url`` is what we fetch or build (local paths become absolute ``file://`` URLs,
    ``#egg=`` is dropped); ``path`` is set for local archives and directories.
    """

    url: str
    kind: LinkKind
    path: Path | None = None
    vcs: str | None = None
    revision: str | None = None
    subdirectory: str | None = None
    # For archives whose filename tells it (``x-1.0.tar.gz``); None otherwise.
    version: Version | None = None

    @property
    def is_local(self) -> bool:
        return self.path is not None


@dataclass(frozen=True, kw_only=True, slots=True)
class InputRequirement:
    """One requirement (or constraint) with where it came from.

    ``source`` is the pip-compile style origin shown in ``# via`` lines
    (``-r requirements.in``, ``pyproject.toml (extra: dev)``); ``location`` is
    ``file:line`` for error messages.
    """

    requirement: Requirement
    source: str
    location: str = ""
    editable: bool = False
    link: DirectLink | None = None
    hashes: tuple[str, ...] = ()

    @property
    def name(self) -> NormalizedName:
        return canonicalize_name(self.requirement.name)


@dataclass(frozen=True, kw_only=True, slots=True)
class UnnamedLink:
    """A local path or URL whose project name must be read from the project itself.

    The caller reads the name (a PEP 517 metadata hook, or the archive) and calls
    :meth:`named` to turn this into an :class:`InputRequirement`.
    """

    link: DirectLink
    source: str
    location: str = ""
    editable: bool = False
    extras: frozenset[str] = frozenset()
    marker: Marker | None = None
    hashes: tuple[str, ...] = ()

    def named(self, name: str) -> InputRequirement:
        return InputRequirement(
            requirement=_link_requirement(name, self.extras, self.link.url, self.marker),
            source=self.source,
            location=self.location,
            editable=self.editable,
            link=self.link,
            hashes=self.hashes,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class DynamicProject:
    """A pyproject.toml whose dependencies only its build backend can tell
    (``dynamic = ["dependencies"]``): compile reads them through
    ``prepare_metadata_for_build_wheel`` in a locked build environment, as for an sdist.

    ``extras`` are the optional dependencies asked for (``--extra``/``--all-extras``, with
    ``all_extras`` meaning every one the metadata lists)."""

    directory: Path
    name: NormalizedName
    source: str  # "pyproject.toml", for ``# via`` lines
    dependencies: bool  # whether [project].dependencies is dynamic
    extras: tuple[NormalizedName, ...] = ()
    all_extras: bool = False

    def key(self, cwd: Path | None) -> str:
        extras = "*" if self.all_extras else ",".join(sorted(self.extras))
        return f"{_portable(self.directory.as_uri(), cwd)}[{extras}]deps={self.dependencies}"


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexOptions:
    """Index option lines found in requirements files (``--index-url`` and friends).

    ``only_binary`` / ``no_binary`` hold the outcome of pip's rules after every line
    was applied in order: canonical names or ``:all:``.
    """

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    pre: bool = False
    only_binary: tuple[str, ...] = ()
    no_binary: tuple[str, ...] = ()
    prefer_binary: bool = False
    trusted_hosts: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class InputSet:
    """Everything the inputs ask for, ready for resolution.

    ``cwd`` is only used to make :meth:`digest` independent of where the project is
    checked out.
    """

    requirements: tuple[InputRequirement, ...] = ()
    constraints: tuple[InputRequirement, ...] = ()
    unnamed: tuple[UnnamedLink, ...] = ()
    index_options: IndexOptions = IndexOptions()
    files: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = ()
    cwd: Path | None = None
    dynamic: tuple[DynamicProject, ...] = ()

    def required_hashes(self) -> dict[NormalizedName, frozenset[str]]:
        """Project -> the sha256 digests its ``--hash`` options allow (every line must hold).

        As in pip's hash-checking mode, a file of that project whose sha256 is not
        among them is never used.
        """
        found: dict[NormalizedName, frozenset[str]] = {}
        # Unnamed links are named only once their archive is read: not checked here.
        for item in (*self.requirements, *self.constraints):
            if not item.hashes:
                continue
            digests = frozenset(h.partition(":")[2] for h in item.hashes)
            found[item.name] = found[item.name] & digests if item.name in found else digests
        return found

    def digest(self) -> str:
        """``sha256:`` of the normalized inputs, stored in the lock for ``--check``.

        Comments, whitespace, line order and continuations do not change it; any
        requirement, constraint, link or option does. Paths under ``cwd`` and URL
        credentials are written portably so another checkout (or another user's
        token) gives the same digest.
        """
        cwd = self.cwd
        opts = self.index_options
        payload = {
            "requirements": sorted({_requirement_key(r, cwd) for r in self.requirements}),
            "constraints": sorted({_requirement_key(r, cwd) for r in self.constraints}),
            "unnamed": sorted({_unnamed_key(u, cwd) for u in self.unnamed}),
            "index": {
                "index_url": _portable(opts.index_url, cwd) if opts.index_url else None,
                "extra_index_urls": sorted({_portable(u, cwd) for u in opts.extra_index_urls}),
                "find_links": sorted({_portable(u, cwd) for u in opts.find_links}),
                "no_index": opts.no_index,
                "pre": opts.pre,
                "only_binary": sorted(opts.only_binary),
                "no_binary": sorted(opts.no_binary),
                "prefer_binary": opts.prefer_binary,
                "trusted_hosts": sorted(set(opts.trusted_hosts)),
            },
        }
        if self.dynamic:  # only then, so that every other lock keeps its digest
            payload["dynamic"] = sorted(d.key(cwd) for d in self.dynamic)
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _requirement_key(item: InputRequirement, cwd: Path | None) -> str:
    req = item.requirement
    return json.dumps(
        [
            item.source,
            canonicalize_name(req.name),
            sorted(canonicalize_name(e) for e in req.extras),
            str(req.specifier),
            _portable(req.url, cwd) if req.url else None,
            str(req.marker) if req.marker else None,
            item.editable,
            sorted(item.hashes),
        ]
    )


def _unnamed_key(item: UnnamedLink, cwd: Path | None) -> str:
    return json.dumps(
        [
            item.source,
            _portable(item.link.url, cwd),
            sorted(canonicalize_name(e) for e in item.extras),
            str(item.marker) if item.marker else None,
            item.editable,
            sorted(item.hashes),
        ]
    )


def _portable(text: str, cwd: Path | None) -> str:
    text = redact(text, keep_user=False)
    if cwd is None:
        return text
    for prefix in (cwd.resolve().as_uri(), str(cwd.resolve())):
        if text == prefix or text.startswith(prefix + "/"):
            return "<cwd>" + text[len(prefix) :]
    return text


# --------------------------------------------------------------------------- requirements files

# pip's rules (pip._internal.req.req_file): `#` starts a comment at line start or after
# whitespace; only ${UPPER_CASE} variables are expanded.
_COMMENT_RE = re.compile(r"(^|\s+)#.*$")
_ENV_VAR_RE = re.compile(r"(?P<var>\$\{(?P<name>[A-Z0-9_]+)\})")

_VALUE_OPTIONS = {
    "-r": "requirement",
    "--requirement": "requirement",
    "-c": "constraint",
    "--constraint": "constraint",
    "-e": "editable",
    "--editable": "editable",
    "-i": "index_url",
    "--index-url": "index_url",
    "--extra-index-url": "extra_index_url",
    "-f": "find_links",
    "--find-links": "find_links",
    "--only-binary": "only_binary",
    "--no-binary": "no_binary",
    "--trusted-host": "trusted_host",
}
_FLAG_OPTIONS = {
    "--no-index": "no_index",
    "--pre": "pre",
    "--prefer-binary": "prefer_binary",
    # lock-build always records hashes, so asking for them changes nothing.
    "--require-hashes": "require_hashes",
}
# Options allowed after a requirement on the same line.
_REQUIREMENT_OPTIONS = {
    "--hash": "hash",
    "--config-settings": "config_settings",
    "-C": "config_settings",
    "--global-option": "global_option",
}


@dataclass(kw_only=True, slots=True)
class _Collector:
    """Mutable state while one set of files is read; frozen into an InputSet at the end."""

    cwd: Path
    environ: Mapping[str, str]
    requirements: list[InputRequirement] = field(default_factory=list)
    constraints: list[InputRequirement] = field(default_factory=list)
    unnamed: list[UnnamedLink] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stack: list[Path] = field(default_factory=list)
    index_url: str | None = None
    index_url_at: str = ""
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    no_index: bool = False
    pre: bool = False
    prefer_binary: bool = False
    only_binary: set[str] = field(default_factory=set)
    no_binary: set[str] = field(default_factory=set)
    trusted_hosts: list[str] = field(default_factory=list)
    stdin: str | None = None  # the text of a "-" input

    def index_options(self) -> IndexOptions:
        return IndexOptions(
            index_url=self.index_url,
            extra_index_urls=tuple(_unique(self.extra_index_urls)),
            find_links=tuple(_unique(self.find_links)),
            no_index=self.no_index,
            pre=self.pre,
            only_binary=tuple(sorted(self.only_binary)),
            no_binary=tuple(sorted(self.no_binary)),
            prefer_binary=self.prefer_binary,
            trusted_hosts=tuple(_unique(self.trusted_hosts)),
        )

    def freeze(self) -> InputSet:
        return InputSet(
            requirements=tuple(self.requirements),
            constraints=tuple(self.constraints),
            unnamed=tuple(self.unnamed),
            index_options=self.index_options(),
            files=tuple(_unique(self.files)),
            warnings=tuple(self.warnings),
            cwd=self.cwd,
        )


def parse_requirements_file(
    path: Path, *, cwd: Path, environ: Mapping[str, str] | None = None, stdin: str | None = None
) -> InputSet:
    """Read a file in pip's requirements syntax, following ``-r`` and ``-c`` includes.

    Relative includes, local paths and find-links directories are taken relative to
    the file that names them. ``environ`` (default: ``os.environ``) feeds ``${VAR}``.
    """
    collector = _Collector(cwd=cwd, environ=os.environ if environ is None else environ, stdin=stdin)
    _read_requirements_file(collector, _absolute(path, cwd), constraint=False)
    return collector.freeze()


def _read_requirements_file(
    c: _Collector, path: Path, *, constraint: bool, where: str | None = None
) -> None:
    """``where``: the ``file:line`` that includes this file (None for a named input)."""
    display = _display(path, c.cwd)
    at = f"{where}: " if where else ""
    try:
        key = path.resolve()
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{at}Cannot read requirements file {display!r}: {_os_reason(exc)}."
        ) from None
    if key in c.stack:
        chain = " -> ".join(_display(p, c.cwd) for p in [*c.stack, key])
        raise InputError(
            f"Requirements files include each other in a cycle: {chain}.",
            hint="Remove one of the -r/-c lines.",
        )
    try:
        # "-" is standard input (pip-compile's habit), read once by the CLI.
        text = c.stdin if path.name == "-" and c.stdin is not None else path.read_text("utf-8")
    except FileNotFoundError:
        raise InputError(f"{at}Requirements file {display} does not exist.") from None
    except IsADirectoryError:
        raise InputError(f"{at}{display} is a directory, not a requirements file.") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{at}Requirements file {display} is not UTF-8 (byte {exc.start})."
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{at}Cannot read requirements file {display}: {_os_reason(exc)}."
        ) from None
    c.files.append(path)
    c.stack.append(key)
    try:
        source = ("-c " if constraint else "-r ") + display
        for number, line in _logical_lines(text, c.environ):
            try:
                _handle_line(c, path, display, source, number, line, constraint=constraint)
            except (OSError, ValueError) as exc:
                # A path the file system refuses (too long, a NUL byte, ...): still
                # one message naming the line, never a traceback.
                raise InputError(f"{display}:{number}: {line!r}: {_os_reason(exc)}.") from None
    finally:
        c.stack.pop()


def _logical_lines(text: str, environ: Mapping[str, str]) -> Iterator[tuple[int, str]]:
    """Join continuations, drop comments, expand ${VAR}: pip's preprocessing, in its order."""
    pending: list[str] = []
    first = 0
    joined: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.endswith("\\") or _COMMENT_RE.match(line):
            if _COMMENT_RE.match(line):
                # A comment ends a continuation; the leading space keeps it a comment.
                line = " " + line
            if pending:
                pending.append(line)
                joined.append((first, "".join(pending)))
                pending = []
            else:
                joined.append((number, line))
        else:
            if not pending:
                first = number
            pending.append(line.strip("\\"))
    if pending:
        joined.append((first, "".join(pending)))
    for number, line in joined:
        line = _COMMENT_RE.sub("", line).strip()
        if not line:
            continue
        for var, name in _ENV_VAR_RE.findall(line):
            value = environ.get(name)
            if value:
                line = line.replace(var, value)
        yield number, line


def _split_args_options(line: str) -> tuple[str, str]:
    """pip's split: everything before the first token starting with '-' is the requirement."""
    tokens = line.split(" ")
    args: list[str] = []
    for index, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(args), " ".join(tokens[index:])
        args.append(token)
    return " ".join(args), ""


def _tokenize_options(options: str, where: str, line: str) -> list[tuple[str, str | None]]:
    """Options as (spelling, value) pairs; value is None for flags."""
    try:
        tokens = shlex.split(options)
    except ValueError as exc:
        raise InputError(f"{where}: {line!r} cannot be split into options ({exc}).") from None
    known = {**_VALUE_OPTIONS, **_REQUIREMENT_OPTIONS}
    result: list[tuple[str, str | None]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        name, value = token, None
        if token.startswith("--") and "=" in token:
            name, value = token.split("=", 1)
        elif not token.startswith("--") and len(token) > 2 and token[:2] in known:
            name, value = token[:2], token[2:]  # -rfile, -ihttps://...
        if name in _FLAG_OPTIONS:
            if value is not None:
                raise InputError(f"{where}: {line!r}: option {name} takes no value.")
            result.append((name, None))
        elif name in known:
            if value is None:
                if index >= len(tokens):
                    raise InputError(f"{where}: {line!r}: option {name} needs a value.")
                value = tokens[index]
                index += 1
            result.append((name, value))
        elif token.startswith("-"):
            raise InputError(
                f"{where}: {line!r} uses option {name}, which lock-build does not support "
                "in requirements files."
            )
        else:
            raise InputError(
                f"{where}: {line!r}: unexpected {token!r} after the options; "
                "put each requirement on its own line."
            )
    return result


def _handle_line(
    c: _Collector,
    path: Path,
    display: str,
    source: str,
    number: int,
    line: str,
    *,
    constraint: bool,
) -> None:
    where = f"{display}:{number}"
    args, options_text = _split_args_options(line)
    options = _tokenize_options(options_text, where, line) if options_text else []
    base = path.parent
    if args:
        stray = [n for n, _ in options if n not in _REQUIREMENT_OPTIONS]
        if stray:
            raise InputError(
                f"{where}: {line!r}: option {stray[0]} cannot follow a requirement; "
                "put it on its own line."
            )
        hashes = _requirement_options(c, options, where, line)
        _add_requirement(
            c,
            args,
            base=base,
            source=source,
            where=where,
            line=line,
            editable=False,
            hashes=hashes,
            constraint=constraint,
        )
        return
    editables = [v for n, v in options if _VALUE_OPTIONS.get(n) == "editable"]
    if editables:
        if len(editables) > 1:
            raise InputError(f"{where}: {line!r}: put each -e on its own line.")
        rest = [(n, v) for n, v in options if _VALUE_OPTIONS.get(n) != "editable"]
        stray = [n for n, _ in rest if n not in _REQUIREMENT_OPTIONS]
        if stray:
            raise InputError(f"{where}: {line!r}: option {stray[0]} cannot follow -e.")
        hashes = _requirement_options(c, rest, where, line)
        assert editables[0] is not None
        _add_requirement(
            c,
            editables[0],
            base=base,
            source=source,
            where=where,
            line=line,
            editable=True,
            hashes=hashes,
            constraint=constraint,
        )
        return
    for name, value in options:
        _apply_option(c, name, value, base=base, where=where, line=line, constraint=constraint)


def _requirement_options(
    c: _Collector, options: list[tuple[str, str | None]], where: str, line: str
) -> tuple[str, ...]:
    hashes: list[str] = []
    for name, value in options:
        kind = _REQUIREMENT_OPTIONS[name]
        assert value is not None
        if kind == "hash":
            algorithm, _, digest = value.partition(":")
            if not digest or not re.fullmatch(r"[0-9a-fA-F]+", digest):
                raise InputError(
                    f"{where}: {line!r}: --hash={value} is not of the form sha256:<hex digest>."
                )
            if algorithm.lower() != "sha256" or len(digest) != 64:
                raise InputError(
                    f"{where}: {line!r}: --hash={value}: lock-build checks sha256 hashes "
                    "(64 hex digits), the hash indexes publish.",
                    hint="Give the file's sha256 (pip hash FILE prints it).",
                )
            hashes.append(f"{algorithm.lower()}:{digest.lower()}")
        else:
            c.warnings.append(f"{where}: {name} is not supported yet and is ignored.")
    return tuple(hashes)


def _apply_option(
    c: _Collector,
    name: str,
    value: str | None,
    *,
    base: Path,
    where: str,
    line: str,
    constraint: bool,
) -> None:
    kind = _FLAG_OPTIONS.get(name) or _VALUE_OPTIONS.get(name) or _REQUIREMENT_OPTIONS[name]
    if kind in ("hash", "config_settings", "global_option"):
        raise InputError(f"{where}: {line!r}: option {name} must follow a requirement.")
    if kind in ("requirement", "constraint"):
        assert value is not None
        if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.I):
            raise InputError(
                f"{where}: {line!r} includes a remote file; lock-build reads only local "
                "requirements files.",
                hint="Download it and name the local copy.",
            )
        target = base / os.path.expanduser(value)
        # pip: -r inside a constraints file reads requirements; -c always constraints.
        _read_requirements_file(c, target, constraint=(kind == "constraint"), where=where)
        return
    if kind == "index_url":
        assert value is not None
        if c.index_url is not None and c.index_url != value:
            raise InputError(
                f"{where}: --index-url {value} conflicts with --index-url {c.index_url} "
                f"at {c.index_url_at}.",
                hint="Name one primary index; add others with --extra-index-url.",
            )
        c.index_url, c.index_url_at = value, where
    elif kind == "extra_index_url":
        assert value is not None
        c.extra_index_urls.append(value)
    elif kind == "find_links":
        assert value is not None
        # pip: a relative find-links path is taken beside the file when it exists there.
        beside = base / value
        c.find_links.append(str(beside) if not _is_url(value) and beside.exists() else value)
    elif kind == "trusted_host":
        assert value is not None
        c.trusted_hosts.append(value)
    elif kind == "only_binary":
        assert value is not None
        apply_binary_option(value, target=c.only_binary, other=c.no_binary)
    elif kind == "no_binary":
        assert value is not None
        apply_binary_option(value, target=c.no_binary, other=c.only_binary)
    elif kind == "no_index":
        c.no_index = True
    elif kind == "pre":
        c.pre = True
    elif kind == "prefer_binary":
        c.prefer_binary = True


def apply_binary_option(value: str, *, target: set[str], other: set[str]) -> None:
    """pip's --only-binary/--no-binary rule: names, ``:all:`` and ``:none:``, in order."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    while ":all:" in names:
        other.clear()
        target.clear()
        target.add(":all:")
        del names[: names.index(":all:") + 1]
        if ":none:" not in names:
            return
    for name in names:
        if name == ":none:":
            target.clear()
            continue
        normalized = canonicalize_name(name)
        other.discard(normalized)
        target.add(normalized)


def merge_binary(
    layers: Iterable[tuple[Iterable[str], Iterable[str]]],
) -> tuple[frozenset[str], frozenset[str]]:
    """Stack (only_binary, no_binary) outcomes, later layers winning as pip's order does.

    Each layer is already consistent; ``:all:`` in a later layer clears what earlier
    layers said, and a name a later layer lists moves out of the other set.
    """
    only: set[str] = set()
    no: set[str] = set()
    for layer_only, layer_no in layers:
        layer_only, layer_no = set(layer_only), set(layer_no)
        if ":all:" in layer_only or ":all:" in layer_no:
            only.clear()
            no.clear()
        only -= layer_no
        no -= layer_only
        only |= layer_only
        no |= layer_no
    return frozenset(only), frozenset(no)


def _binary_fields(pair: tuple[frozenset[str], frozenset[str]]) -> dict[str, tuple[str, ...]]:
    return {"only_binary": tuple(sorted(pair[0])), "no_binary": tuple(sorted(pair[1]))}


# --------------------------------------------------------------------------- one requirement

_NAMED_DIRECT_RE = re.compile(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@")
_EXTRAS_SUFFIX_RE = re.compile(r"^(.+?)(\[[^\]]+\])$")


def _add_requirement(
    c: _Collector,
    text: str,
    *,
    base: Path,
    source: str,
    where: str,
    line: str,
    editable: bool,
    hashes: tuple[str, ...],
    constraint: bool,
) -> None:
    item = parse_requirement(
        text, base=base, source=source, where=where, line=line, editable=editable, hashes=hashes
    )
    if hashes:
        _check_hashable(item, where, line)
    if constraint:
        if isinstance(item, UnnamedLink):
            raise InputError(
                f"{where}: {line!r}: a constraint must name its project (use name @ url)."
            )
        if item.editable:
            raise InputError(f"{where}: {line!r}: editable requirements cannot be constraints.")
        if item.requirement.extras:
            raise InputError(
                f"{where}: {line!r}: constraints cannot have extras; constrain the project "
                "without them."
            )
        c.constraints.append(item)
    elif isinstance(item, UnnamedLink):
        c.unnamed.append(item)
    else:
        c.requirements.append(item)


def _check_hashable(item: InputRequirement | UnnamedLink, where: str, line: str) -> None:
    """pip's hash-checking mode: a --hash only makes sense for exactly one file."""
    link = item.link
    if link is not None and link.kind != "archive":
        raise InputError(
            f"{where}: {line!r}: --hash cannot check a {link.kind} (only an archive has a hash)."
        )
    if isinstance(item, UnnamedLink) or link is not None:
        return
    specifiers = list(item.requirement.specifier)
    if not (
        len(specifiers) == 1
        and specifiers[0].operator in ("==", "===")
        and not specifiers[0].version.endswith(".*")
    ):
        raise InputError(
            f"{where}: {line!r}: a requirement with --hash must be pinned with == "
            "(pip's hash-checking mode requires it).",
            hint=f"Pin it, e.g. {item.requirement.name}==<version>, or drop the --hash.",
        )


def parse_requirement(
    text: str,
    *,
    base: Path,
    source: str,
    where: str,
    line: str | None = None,
    editable: bool = False,
    hashes: tuple[str, ...] = (),
) -> InputRequirement | UnnamedLink:
    """One requirement in pip's forms: PEP 508, ``name @ url``, a URL or a local path.

    Relative paths are taken relative to ``base`` (the directory of the naming file).
    """
    line = text if line is None else line
    text = text.strip()
    if _NAMED_DIRECT_RE.match(text):
        req = _pep508(text, where, line)
        assert req.url is not None
        link = _parse_link(req.url, base=base, where=where, line=line)
        _check_editable(link, editable, where, line)
        url = link.url
        if url != req.url:
            req = _link_requirement(req.name, req.extras, url, req.marker)
        return InputRequirement(
            requirement=req,
            source=source,
            location=where,
            editable=editable,
            link=link,
            hashes=hashes,
        )
    if _is_url(text) or _looks_like_path(text, base):
        # pip: for URLs and paths, markers need "; " since ';' may appear in a URL.
        location, _, marker_text = text.partition("; ")
        marker = None
        if marker_text.strip():
            try:
                marker = Marker(marker_text.strip())
            except InvalidMarker as exc:
                raise InputError(
                    f"{where}: {line!r} has an invalid marker ({_first_line(exc)})."
                ) from None
        location = location.strip()
        if re.search(r"\s" if _is_url(location) else r"[\x00-\x1f]", location):
            raise InputError(
                f"{where}: {line!r}: {'a URL' if _is_url(location) else 'a path'} cannot "
                "contain whitespace or control characters.",
                hint="Put each requirement on its own line; percent-encode spaces in URLs.",
            )
        extras: frozenset[str] = frozenset()
        match = _EXTRAS_SUFFIX_RE.match(location)
        if match and not _is_url(location):
            location = match.group(1)
            extras = frozenset(e.strip() for e in match.group(2)[1:-1].split(",") if e.strip())
        egg = _fragment(location).get("egg")
        link = _parse_link(location, base=base, where=where, line=line)
        _check_editable(link, editable, where, line)
        name = egg
        if name is None and link.kind == "archive":
            parsed = _name_version(_filename_of(link))
            if parsed is not None:
                name = parsed[0]
        if name is None:
            return UnnamedLink(
                link=link,
                source=source,
                location=where,
                editable=editable,
                extras=extras,
                marker=marker,
                hashes=hashes,
            )
        if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", name):
            raise InputError(f"{where}: {line!r}: #egg={name} is not a valid project name.")
        return InputRequirement(
            requirement=_link_requirement(name, extras, link.url, marker),
            source=source,
            location=where,
            editable=editable,
            link=link,
            hashes=hashes,
        )
    if editable:
        raise InputError(
            f"{where}: {line!r}: -e needs a local directory or a VCS URL, not a project name."
        )
    req = _pep508(text, where, line)
    return InputRequirement(requirement=req, source=source, location=where, hashes=hashes)


def _pep508(text: str, where: str, line: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise InputError(
            f"{where}: {line!r} is not a valid requirement ({_first_line(exc)})."
        ) from None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0].strip().rstrip(".") if str(exc) else type(exc).__name__


def _check_editable(link: DirectLink, editable: bool, where: str, line: str) -> None:
    if editable and link.kind == "archive":
        raise InputError(
            f"{where}: {line!r}: an editable requirement must be a local directory or a "
            "VCS URL, not an archive."
        )


def _link_requirement(
    name: str, extras: frozenset[str] | set[str], url: str, marker: Marker | None
) -> Requirement:
    text = name
    if extras:
        text += "[" + ",".join(sorted(extras)) + "]"
    text += f" @ {url}"
    if marker is not None:
        text += f" ; {marker}"
    return Requirement(text)


def _is_url(text: str) -> bool:
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", text)
    if not match:
        return False
    scheme = match.group(1).lower()
    return scheme in ("http", "https", "file", "ftp") or scheme.split("+", 1)[0] in _VCS


def _looks_like_path(text: str, base: Path) -> bool:
    location = text.partition("; ")[0].strip()
    if location.startswith((".", "/", "~")) or "/" in location or os.sep in location:
        # A PEP 508 requirement never contains '/' outside a URL or marker string.
        return not re.search(r"[<>=!~;]", location.split("/", 1)[0])
    return location.endswith(_ARCHIVE_EXTENSIONS) and (base / location).exists()


def _fragment(url: str) -> dict[str, str]:
    _, _, fragment = url.partition("#")
    result: dict[str, str] = {}
    for part in fragment.split("&"):
        key, sep, value = part.partition("=")
        if sep:
            result[key] = unquote(value)
    return result


def _without_egg(url: str) -> str:
    head, sep, fragment = url.partition("#")
    if not sep:
        return url
    kept = [p for p in fragment.split("&") if p and not p.startswith("egg=")]
    return head + ("#" + "&".join(kept) if kept else "")


def _parse_link(text: str, *, base: Path, where: str, line: str) -> DirectLink:
    """Classify a URL or path and resolve local paths against ``base``."""
    fragment = _fragment(text)
    subdirectory = fragment.get("subdirectory")
    if _is_url(text):
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        vcs = scheme.split("+", 1)[0]
        if vcs in _VCS:
            repo_path, revision = parts.path, None
            if "@" in repo_path:
                repo_path, revision = repo_path.rsplit("@", 1)
            return DirectLink(
                url=_without_egg(text),
                kind="vcs",
                vcs=vcs,
                revision=revision or None,
                subdirectory=subdirectory,
            )
        if scheme != "file":
            kind: LinkKind = "archive"
            link = DirectLink(url=_without_egg(text), kind=kind, subdirectory=subdirectory)
            parsed = _name_version(_filename_of(link))
            return replace(link, version=parsed[1] if parsed else None)
        local = Path(url2pathname(parts.path))
        if parts.netloc not in ("", "localhost"):
            raise InputError(f"{where}: {line!r}: file URLs must name a local path.")
        path = local if local.is_absolute() else base / local
    else:
        path = base / os.path.expanduser(text.partition("#")[0])
    return _local_link(path, subdirectory, fragment_of=text, where=where, line=line)


def _local_link(
    path: Path, subdirectory: str | None, *, fragment_of: str, where: str, line: str
) -> DirectLink:
    path = Path(os.path.normpath(path.absolute()))
    if not path.exists():
        raise InputError(f"{where}: {line!r} names {path}, which does not exist.")
    fragment = _fragment(fragment_of)
    kept = [f"{k}={v}" for k, v in fragment.items() if k != "egg"]
    url = path.as_uri() + ("#" + "&".join(kept) if kept else "")
    if path.is_dir():
        project = path / subdirectory if subdirectory else path
        if not (project / "pyproject.toml").exists() and not (project / "setup.py").exists():
            raise InputError(
                f"{where}: {line!r} names directory {project}, which is not a Python project "
                "(it has neither pyproject.toml nor setup.py)."
            )
        return DirectLink(url=url, kind="directory", path=path, subdirectory=subdirectory)
    parsed = _name_version(path.name)
    return DirectLink(
        url=url,
        kind="archive",
        path=path,
        subdirectory=subdirectory,
        version=parsed[1] if parsed else None,
    )


def _filename_of(link: DirectLink) -> str:
    return unquote(urlsplit(link.url).path.rsplit("/", 1)[-1])


def _name_version(filename: str) -> tuple[NormalizedName, Version] | None:
    """Project name and version from a wheel or sdist filename, if it is one."""
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return name, version
        for extension in _ARCHIVE_EXTENSIONS[1:]:
            if filename.endswith(extension):
                return parse_sdist_filename(filename[: -len(extension)] + ".tar.gz")
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


# --------------------------------------------------------------------------- pyproject.toml


def parse_pyproject(
    path: Path,
    *,
    extras: Sequence[str] = (),
    all_extras: bool = False,
    groups: Sequence[str] = (),
    cwd: Path | None = None,
) -> InputSet:
    """``[project].dependencies``, chosen optional dependencies and dependency groups."""
    display = _display(path, cwd) if cwd is not None else str(path)
    absolute = _absolute(path, cwd or Path.cwd())
    try:
        text = absolute.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{display} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read {display}: {exc}.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{display} is not valid TOML: {exc}.") from None

    base = absolute.parent
    lines = text.splitlines()
    project = data.get("project")
    groups_table = data.get("dependency-groups")
    if project is None and not (groups and groups_table is not None):
        raise InputError(
            f"{display} has no [project] table, so lock-build cannot tell its dependencies.",
            hint="Add a [project] table (PEP 621) or list the requirements in a requirements.in.",
        )
    project = project if isinstance(project, dict) else {}
    project_name = canonicalize_name(str(project.get("name", ""))) if project.get("name") else None
    dynamic = {str(d) for d in project.get("dynamic", ())}
    items: list[InputRequirement | UnnamedLink] = []

    def convert(raw: object, key: str, source: str) -> InputRequirement | UnnamedLink:
        if not isinstance(raw, str):
            raise InputError(f"{display}: {key} must be a string, not {raw!r}.")
        where = _toml_location(display, lines, raw, key)
        _pep508(raw, where, raw)  # pyproject.toml allows PEP 508 only, not pip's bare paths
        return parse_requirement(raw, base=base, source=source, where=where)

    dynamic_deps = bool(project) and "dependencies" in dynamic
    dynamic_extras = bool(extras or all_extras) and "optional-dependencies" in dynamic
    if (dynamic_deps or dynamic_extras) and project_name is None:
        raise InputError(
            f"{display} declares dynamic dependencies but no [project].name.",
            hint="Name the project: the name is needed to read its metadata.",
        )
    if project and not dynamic_deps:
        dependencies = project.get("dependencies", [])
        if not isinstance(dependencies, list):
            raise InputError(f"{display}: [project].dependencies must be an array of strings.")
        for index, raw in enumerate(dependencies):
            items.append(convert(raw, f"project.dependencies[{index}]", display))

    optional = project.get("optional-dependencies", {}) if project else {}
    if not isinstance(optional, dict):
        raise InputError(f"{display}: [project.optional-dependencies] must be a table.")
    available = {canonicalize_name(k): k for k in optional}
    wanted_extras = list(available) if all_extras else [canonicalize_name(e) for e in extras]
    missing = [e for e, n in zip(extras, wanted_extras, strict=False) if n not in available]
    if missing and not all_extras and not dynamic_extras:
        raise InputError(
            f"{display} has no extra {', '.join(repr(m) for m in missing)}; "
            f"it defines {_names_list(available.values())}."
        )
    for extra in [] if dynamic_extras else _unique(wanted_extras):
        key = available[extra]
        values = optional[key]
        if not isinstance(values, list):
            raise InputError(f"{display}: optional-dependencies.{key} must be an array.")
        for index, raw in enumerate(values):
            items.append(
                convert(
                    raw,
                    f"project.optional-dependencies.{key}[{index}]",
                    f"{display} (extra: {extra})",
                )
            )

    if groups:
        items.extend(_dependency_groups(groups_table, groups, display, convert))

    if project_name is not None:
        items = _expand_self_references(items, project_name, optional, display, convert)
    dynamic_projects: tuple[DynamicProject, ...] = ()
    if (dynamic_deps or dynamic_extras) and project_name is not None:
        dynamic_projects = (
            DynamicProject(
                directory=base,
                name=project_name,
                source=display,
                dependencies=dynamic_deps,
                extras=tuple(_unique(canonicalize_name(e) for e in extras))
                if dynamic_extras
                else (),
                all_extras=all_extras and dynamic_extras,
            ),
        )
    return InputSet(
        requirements=tuple(i for i in items if isinstance(i, InputRequirement)),
        unnamed=tuple(i for i in items if isinstance(i, UnnamedLink)),
        files=(absolute,),
        cwd=cwd,
        dynamic=dynamic_projects,
    )


# Turns one raw TOML entry into a requirement: (entry, its key path, where it came from).
_Converter = Callable[[object, str, str], "InputRequirement | UnnamedLink"]


def _dependency_groups(
    table: object,
    wanted: Sequence[str],
    display: str,
    convert: _Converter,
) -> list[InputRequirement | UnnamedLink]:
    """PEP 735 groups, read by the PyPA ``dependency-groups`` package.

    Each requirement keeps the group that lists it as its origin, so includes are walked
    here group by group (``lookup``), each group once; the package validates the table,
    normalizes the names and parses the entries."""
    if table is None:
        raise InputError(
            f"{display} has no [dependency-groups] table, so there is no group "
            f"{', '.join(repr(g) for g in wanted)}."
        )
    if not isinstance(table, dict):
        raise InputError(f"{display}: [dependency-groups] must be a table.")
    try:
        resolver = DependencyGroupResolver(table)
    except ValueError as exc:  # two keys, one normalized name
        raise InputError(
            f"{display}: [dependency-groups] has groups with the same normalized name "
            f"({str(exc).rstrip('.')})."
        ) from None
    names = {canonicalize_name(key): key for key in table}
    result: list[InputRequirement | UnnamedLink] = []
    done: set[NormalizedName] = set()

    def visit(group: str, chain: list[NormalizedName]) -> None:
        normalized = canonicalize_name(group)
        if normalized in chain:
            cycle = " -> ".join([*chain[chain.index(normalized) :], normalized])
            raise InputError(f"{display}: dependency groups include each other: {cycle}.")
        if normalized not in names:
            raise InputError(
                f"{display} has no dependency group {group!r}"
                + (f" (included by {chain[-1]!r})" if chain else "")
                + f"; it defines {_names_list(names.values())}."
            )
        if normalized in done:
            return
        key = names[normalized]
        entries = table[key]
        try:
            elements = resolver.lookup(key)
        except (TypeError, ValueError, InvalidRequirement) as exc:
            if isinstance(entries, list):  # an entry that is no requirement: say where
                for index, entry in enumerate(entries):
                    if isinstance(entry, str):
                        convert(entry, f"dependency-groups.{key}[{index}]", display)
            raise InputError(
                f"{display}: each entry of dependency-groups.{key} must be a string or "
                f'{{include-group = "..."}} ({str(exc).rstrip(".")}).'
            ) from None
        for index, element in enumerate(elements):
            if isinstance(element, DependencyGroupInclude):
                visit(element.include_group, [*chain, normalized])
            else:
                result.append(
                    convert(
                        entries[index],
                        f"dependency-groups.{key}[{index}]",
                        f"{display} (group: {normalized})",
                    )
                )
        done.add(normalized)

    for group in wanted:
        visit(group, [])
    return result


def _expand_self_references(
    items: list[InputRequirement | UnnamedLink],
    project: NormalizedName,
    optional: Mapping[str, object],
    display: str,
    convert: _Converter,
) -> list[InputRequirement | UnnamedLink]:
    """``mypkg[a,b]`` inside mypkg's own extras/groups means "also extras a and b"."""
    available = {canonicalize_name(k): k for k in optional}
    result: list[InputRequirement | UnnamedLink] = []
    pending = list(items)
    seen: set[tuple[str, str | None]] = set()
    while pending:
        item = pending.pop(0)
        if not (
            isinstance(item, InputRequirement)
            and item.name == project
            and item.requirement.url is None
        ):
            result.append(item)
            continue
        marker = item.requirement.marker
        for extra in sorted(canonicalize_name(e) for e in item.requirement.extras):
            key = (extra, str(marker) if marker else None)
            if key in seen:
                continue
            seen.add(key)
            if extra not in available:
                raise InputError(
                    f"{item.location}: {project}[{extra}] names an extra that "
                    f"{display} does not define."
                )
            entries = optional[available[extra]]
            for index, raw in enumerate(entries if isinstance(entries, list) else ()):
                new = convert(
                    raw, f"project.optional-dependencies.{available[extra]}[{index}]", item.source
                )
                if marker is not None and isinstance(new, InputRequirement):
                    new = _and_marker(new, marker)
                pending.append(new)
    return result


def _and_marker(item: InputRequirement, marker: Marker) -> InputRequirement:
    req = Requirement(str(item.requirement))
    req.marker = Marker(f"({req.marker}) and ({marker})") if req.marker else marker
    return replace(item, requirement=req)


def _toml_location(display: str, lines: list[str], raw: str, key: str) -> str:
    for number, text in enumerate(lines, start=1):
        if f'"{raw}"' in text or f"'{raw}'" in text:
            return f"{display}:{number}"
    return f"{display} ({key})"


# --------------------------------------------------------------------------- several inputs


def load_inputs(
    paths: Sequence[Path],
    *,
    constraints: Sequence[Path] = (),
    extras: Sequence[str] = (),
    all_extras: bool = False,
    groups: Sequence[str] = (),
    cwd: Path,
    environ: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> InputSet:
    """Read every input the command line names (or the default one) into one InputSet;
    ``stdin`` is the text of a ``-`` input."""
    if not paths:
        for candidate in ("requirements.in", "pyproject.toml"):
            if (cwd / candidate).is_file():
                paths = [Path(candidate)]
                break
        else:
            raise InputError(
                f"No input given and neither requirements.in nor pyproject.toml exists in {cwd}.",
                hint="Name a requirements file or a pyproject.toml: lock-build compile "
                "requirements.in",
            )
    pyprojects = [p for p in paths if p.name == "pyproject.toml"]
    if (extras or all_extras or groups) and not pyprojects:
        option = "--group" if groups and not (extras or all_extras) else "--extra"
        raise InputError(
            f"{option} selects from a pyproject.toml, but none is among the inputs "
            f"({', '.join(str(p) for p in paths)}).",
            hint="Add pyproject.toml to the inputs.",
        )
    parts: list[InputSet] = []
    for path in paths:
        if path.name == "pyproject.toml":
            parts.append(
                parse_pyproject(path, extras=extras, all_extras=all_extras, groups=groups, cwd=cwd)
            )
        else:
            parts.append(parse_requirements_file(path, cwd=cwd, environ=environ, stdin=stdin))
    for path in constraints:
        collector = _Collector(cwd=cwd, environ=os.environ if environ is None else environ)
        _read_requirements_file(collector, _absolute(path, cwd), constraint=True)
        parts.append(collector.freeze())
    return merge_input_sets(parts, cwd=cwd)


def merge_input_sets(parts: Sequence[InputSet], *, cwd: Path) -> InputSet:
    """Concatenate inputs; option lines are merged and a second primary index is an error."""
    index_url: str | None = None
    index_from = ""
    for part in parts:
        opts = part.index_options
        if opts.index_url is not None:
            if index_url is not None and opts.index_url != index_url:
                raise InputError(
                    f"The inputs name two primary indexes: --index-url {index_url} "
                    f"({index_from}) and --index-url {opts.index_url} "
                    f"({', '.join(_display(f, cwd) for f in part.files)}).",
                    hint="Keep one --index-url line; add others with --extra-index-url.",
                )
            index_url = opts.index_url
            index_from = ", ".join(_display(f, cwd) for f in part.files)
    options = IndexOptions(
        index_url=index_url,
        extra_index_urls=tuple(_unique(u for p in parts for u in p.index_options.extra_index_urls)),
        find_links=tuple(_unique(u for p in parts for u in p.index_options.find_links)),
        no_index=any(p.index_options.no_index for p in parts),
        pre=any(p.index_options.pre for p in parts),
        **_binary_fields(
            merge_binary((p.index_options.only_binary, p.index_options.no_binary) for p in parts)
        ),
        prefer_binary=any(p.index_options.prefer_binary for p in parts),
        trusted_hosts=tuple(_unique(h for p in parts for h in p.index_options.trusted_hosts)),
    )
    return InputSet(
        requirements=tuple(r for p in parts for r in p.requirements),
        constraints=tuple(r for p in parts for r in p.constraints),
        unnamed=tuple(u for p in parts for u in p.unnamed),
        index_options=options,
        files=tuple(_unique(f for p in parts for f in p.files)),
        warnings=tuple(w for p in parts for w in p.warnings),
        cwd=cwd,
        dynamic=tuple(d for p in parts for d in p.dynamic),
    )


def default_output_path(first_input: Path) -> Path:
    """Where the lock goes when ``-o`` is not given: beside the first input."""
    if first_input.name == "pyproject.toml":
        return first_input.with_name("lock-build.lock")
    if first_input.suffix in (".in", ".txt"):
        return first_input.with_suffix(".lock")
    if first_input.suffix == ".lock":
        # Never overwrite an input with its own lock.
        return first_input.with_name(first_input.stem + ".lock-build.lock")
    return first_input.with_name(first_input.name + ".lock")


# --------------------------------------------------------------------------- helpers


def _os_reason(exc: BaseException) -> str:
    """Why the file system (or a parser under it) refused a path, in a few words."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if "null" in str(exc).lower():
        return "it contains a NUL byte"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _absolute(path: Path, cwd: Path) -> Path:
    path = Path(os.path.expanduser(path))
    return path if path.is_absolute() else cwd / path


def _display(path: Path, cwd: Path | None) -> str:
    """A path as a user would type it from ``cwd``: relative when that is possible."""
    if cwd is None:
        return path.as_posix()
    try:
        relative = os.path.relpath(os.path.normpath(_absolute(path, cwd)), os.path.normpath(cwd))
    except ValueError:  # another drive on Windows
        return path.as_posix()
    return Path(relative).as_posix()


def _names_list(names: object) -> str:
    listed = sorted(str(n) for n in names)  # type: ignore[attr-defined]
    return ", ".join(repr(n) for n in listed) if listed else "none"


def _unique(items: Iterable[_T]) -> list[_T]:
    seen: set[_T] = set()
    result: list[_T] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result
