"""One requirement, in any of pip's forms, parsed into a typed value.

A PEP 508 line (``pkg[extra]>=1; marker``), ``name @ url``, a bare URL (archive, VCS,
``file:``) or a local path (directory or archive, ``[extras]`` and ``; marker``
allowed): :func:`parse_requirement` classifies it, resolves local paths against the
file that names them, checks they exist, and returns an :class:`InputRequirement`, or
an :class:`UnnamedLink` when only the project itself can tell its name. The
requirements-file reader and the pyproject.toml reader both call it.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from lock_build.errors import InputError
from lock_build.inputs.model import (
    DirectLink,
    InputRequirement,
    LinkKind,
    UnnamedLink,
    link_requirement,
)
from lock_build.urls import url_path_to_path

__all__ = ["is_url", "parse_requirement", "pep508"]

_VCS = ("git", "hg", "svn", "bzr")
_ARCHIVE_EXTENSIONS = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tbz", ".tar")

_NAMED_DIRECT_RE = re.compile(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@")
_EXTRAS_SUFFIX_RE = re.compile(r"^(.+?)(\[[^\]]+\])$")


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
        req = pep508(text, where, line)
        assert req.url is not None
        link = _parse_link(req.url, base=base, where=where, line=line)
        _check_editable(link, editable, where, line)
        url = link.url
        if url != req.url:
            req = link_requirement(req.name, req.extras, url, req.marker)
        return InputRequirement(
            requirement=req,
            source=source,
            location=where,
            editable=editable,
            link=link,
            hashes=hashes,
        )
    if is_url(text) or _looks_like_path(text, base):
        # pip: for URLs and paths, markers need "; " since ';' may appear in a URL.
        location, _, marker_text = text.partition("; ")
        marker = None
        if marker_text.strip():
            try:
                marker = Marker(marker_text.strip())
            except InvalidMarker as exc:
                raise InputError(
                    f"{where}: {line!r} has an invalid marker ({_first_line(exc)}).", location=where
                ) from None
        location = location.strip()
        if re.search(r"\s" if is_url(location) else r"[\x00-\x1f]", location):
            raise InputError(
                f"{where}: {line!r}: {'a URL' if is_url(location) else 'a path'} cannot "
                "contain whitespace or control characters.",
                location=where,
                hint="Put each requirement on its own line; percent-encode spaces in URLs.",
            )
        extras: frozenset[str] = frozenset()
        match = _EXTRAS_SUFFIX_RE.match(location)
        if match and not is_url(location):
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
            raise InputError(
                f"{where}: {line!r}: #egg={name} is not a valid project name.", location=where
            )
        return InputRequirement(
            requirement=link_requirement(name, extras, link.url, marker),
            source=source,
            location=where,
            editable=editable,
            link=link,
            hashes=hashes,
        )
    if editable:
        raise InputError(
            f"{where}: {line!r}: -e needs a local directory or a VCS URL, not a project name.",
            location=where,
        )
    req = pep508(text, where, line)
    return InputRequirement(requirement=req, source=source, location=where, hashes=hashes)


def pep508(text: str, where: str, line: str) -> Requirement:
    """``text`` as a PEP 508 requirement; an :class:`InputError` naming ``where`` if not."""
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise InputError(
            f"{where}: {line!r} is not a valid requirement ({_first_line(exc)}).", location=where
        ) from None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0].strip().rstrip(".") if str(exc) else type(exc).__name__


def _check_editable(link: DirectLink, editable: bool, where: str, line: str) -> None:
    if editable and link.kind == "archive":
        raise InputError(
            f"{where}: {line!r}: an editable requirement must be a local directory or a "
            "VCS URL, not an archive.",
            location=where,
        )


def is_url(text: str) -> bool:
    """Whether pip would take ``text`` as a URL (http, https, file, ftp or a VCS scheme)."""
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
    if is_url(text):
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
        local = url_path_to_path(parts.path)
        if parts.netloc not in ("", "localhost"):
            raise InputError(
                f"{where}: {line!r}: file URLs must name a local path.", location=where
            )
        path = local if local.is_absolute() else base / local
    else:
        path = base / os.path.expanduser(text.partition("#")[0])
    return _local_link(path, subdirectory, fragment_of=text, where=where, line=line)


def _local_link(
    path: Path, subdirectory: str | None, *, fragment_of: str, where: str, line: str
) -> DirectLink:
    path = Path(os.path.normpath(path.absolute()))
    if not path.exists():
        raise InputError(f"{where}: {line!r} names {path}, which does not exist.", location=where)
    fragment = _fragment(fragment_of)
    kept = [f"{k}={v}" for k, v in fragment.items() if k != "egg"]
    url = path.as_uri() + ("#" + "&".join(kept) if kept else "")
    if path.is_dir():
        project = path / subdirectory if subdirectory else path
        if not (project / "pyproject.toml").exists() and not (project / "setup.py").exists():
            raise InputError(
                f"{where}: {line!r} names directory {project}, which is not a Python project "
                "(it has neither pyproject.toml nor setup.py).",
                location=where,
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
