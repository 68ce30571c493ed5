"""The values every input format is parsed into, and the digest ``--check`` compares.

An :class:`InputSet` holds the requirements and constraints (each an
:class:`InputRequirement` with its origin, or an :class:`UnnamedLink` whose project name
is read later), the pyproject.toml projects whose dependencies only their backend can
tell (:class:`DynamicProject`), the index options and the files read. Parsers build these;
compile reads them; nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from lock_build.inputs.index_options import IndexOptions
from lock_build.redaction import redact

__all__ = [
    "DirectLink",
    "DynamicProject",
    "InputRequirement",
    "InputSet",
    "LinkKind",
    "UnnamedLink",
    "link_requirement",
]

LinkKind = Literal["archive", "directory", "vcs"]


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
            requirement=link_requirement(name, self.extras, self.link.url, self.marker),
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


def link_requirement(
    name: str, extras: frozenset[str] | set[str], url: str, marker: Marker | None
) -> Requirement:
    """``name[extras] @ url ; marker``: a link as a requirement, once its name is known."""
    text = name
    if extras:
        text += "[" + ",".join(sorted(extras)) + "]"
    text += f" @ {url}"
    if marker is not None:
        text += f" ; {marker}"
    return Requirement(text)
