"""pip's requirements-file syntax: files, includes, continuations and option lines.

:func:`parse_requirements_file` reads a ``requirements.in`` the way pip does (comments,
``\\`` continuations, ``${VAR}`` expansion, in pip's order), follows ``-r``/``-c``
includes relative to the including file (a cycle is an error), applies option lines
(``--index-url``, ``--find-links``, ``--only-binary``, ...) into :class:`IndexOptions`,
and hands each requirement (with its ``--hash`` options) to
:func:`~lock_build.inputs.requirement_lines.parse_requirement`. Every error names the
file and line.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lock_build.errors import InputError
from lock_build.inputs._helpers import absolute_path, display_path, os_reason, unique
from lock_build.inputs.index_options import IndexOptions, apply_binary_option
from lock_build.inputs.model import InputRequirement, InputSet, UnnamedLink
from lock_build.inputs.requirement_lines import is_url, parse_requirement

__all__ = ["parse_constraints_file", "parse_requirements_file"]

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
            extra_index_urls=tuple(unique(self.extra_index_urls)),
            find_links=tuple(unique(self.find_links)),
            no_index=self.no_index,
            pre=self.pre,
            only_binary=tuple(sorted(self.only_binary)),
            no_binary=tuple(sorted(self.no_binary)),
            prefer_binary=self.prefer_binary,
            trusted_hosts=tuple(unique(self.trusted_hosts)),
        )

    def freeze(self) -> InputSet:
        return InputSet(
            requirements=tuple(self.requirements),
            constraints=tuple(self.constraints),
            unnamed=tuple(self.unnamed),
            index_options=self.index_options(),
            files=tuple(unique(self.files)),
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
    _read_requirements_file(collector, absolute_path(path, cwd), constraint=False)
    return collector.freeze()


def parse_constraints_file(
    path: Path, *, cwd: Path, environ: Mapping[str, str] | None = None
) -> InputSet:
    """Read a file named by ``--constraint``: its requirement lines are constraints."""
    collector = _Collector(cwd=cwd, environ=os.environ if environ is None else environ)
    _read_requirements_file(collector, absolute_path(path, cwd), constraint=True)
    return collector.freeze()


def _read_requirements_file(
    c: _Collector, path: Path, *, constraint: bool, where: str | None = None
) -> None:
    """``where``: the ``file:line`` that includes this file (None for a named input)."""
    display = display_path(path, c.cwd)
    at = f"{where}: " if where else ""
    try:
        key = path.resolve()
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{at}Cannot read requirements file {display!r}: {os_reason(exc)}.", location=where
        ) from None
    if key in c.stack:
        chain = " -> ".join(display_path(p, c.cwd) for p in [*c.stack, key])
        raise InputError(
            f"Requirements files include each other in a cycle: {chain}.",
            hint="Remove one of the -r/-c lines.",
        )
    try:
        # "-" is standard input (pip-compile's habit), read once by the CLI.
        text = c.stdin if path.name == "-" and c.stdin is not None else path.read_text("utf-8")
    except FileNotFoundError:
        raise InputError(
            f"{at}Requirements file {display} does not exist.", location=where
        ) from None
    except IsADirectoryError:
        raise InputError(
            f"{at}{display} is a directory, not a requirements file.", location=where
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{at}Requirements file {display} is not UTF-8 (byte {exc.start}).", location=where
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{at}Cannot read requirements file {display}: {os_reason(exc)}.", location=where
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
                raise InputError(f"{display}:{number}: {line!r}: {os_reason(exc)}.") from None
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
        raise InputError(
            f"{where}: {line!r} cannot be split into options ({exc}).", location=where
        ) from None
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
                raise InputError(
                    f"{where}: {line!r}: option {name} takes no value.", location=where
                )
            result.append((name, None))
        elif name in known:
            if value is None:
                if index >= len(tokens):
                    raise InputError(
                        f"{where}: {line!r}: option {name} needs a value.", location=where
                    )
                value = tokens[index]
                index += 1
            result.append((name, value))
        elif token.startswith("-"):
            raise InputError(
                f"{where}: {line!r} uses option {name}, which lock-build does not support "
                "in requirements files.",
                location=where,
            )
        else:
            raise InputError(
                f"{where}: {line!r}: unexpected {token!r} after the options; "
                "put each requirement on its own line.",
                location=where,
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
                "put it on its own line.",
                location=where,
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
            raise InputError(f"{where}: {line!r}: put each -e on its own line.", location=where)
        rest = [(n, v) for n, v in options if _VALUE_OPTIONS.get(n) != "editable"]
        stray = [n for n, _ in rest if n not in _REQUIREMENT_OPTIONS]
        if stray:
            raise InputError(
                f"{where}: {line!r}: option {stray[0]} cannot follow -e.", location=where
            )
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
                    f"{where}: {line!r}: --hash={value} is not of the form sha256:<hex digest>.",
                    location=where,
                )
            if algorithm.lower() != "sha256" or len(digest) != 64:
                raise InputError(
                    f"{where}: {line!r}: --hash={value}: lock-build checks sha256 hashes "
                    "(64 hex digits), the hash indexes publish.",
                    location=where,
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
        raise InputError(
            f"{where}: {line!r}: option {name} must follow a requirement.", location=where
        )
    if kind in ("requirement", "constraint"):
        assert value is not None
        if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.I):
            raise InputError(
                f"{where}: {line!r} includes a remote file; lock-build reads only local "
                "requirements files.",
                location=where,
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
                location=where,
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
        c.find_links.append(str(beside) if not is_url(value) and beside.exists() else value)
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
                f"{where}: {line!r}: a constraint must name its project (use name @ url).",
                location=where,
            )
        if item.editable:
            raise InputError(
                f"{where}: {line!r}: editable requirements cannot be constraints.", location=where
            )
        if item.requirement.extras:
            raise InputError(
                f"{where}: {line!r}: constraints cannot have extras; constrain the project "
                "without them.",
                location=where,
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
            f"{where}: {line!r}: --hash cannot check a {link.kind} (only an archive has a hash).",
            location=where,
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
            location=where,
            hint=f"Pin it, e.g. {item.requirement.name}==<version>, or drop the --hash.",
        )
