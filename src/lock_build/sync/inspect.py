"""Read a target environment: what it holds, and whether we may change it.

Where the target keeps things (its prefix, stdlib, site directories, ``sys.path``) is
its interpreter's answer to one probe (:func:`describe_interpreter`, kept in the cache
while the interpreter is unchanged). What it holds is read fresh every time, from those
``sys.path`` entries, with the same search its own ``importlib.metadata.distributions()``
runs there. Nothing is imported from the target into our process. An interpreter whose
``.pth`` files add a distribution finder of their own is asked itself (a tiny
stdlib-only script), because only it can run that finder.

The search over plain directories is done here as ``importlib.metadata``'s path finder
does it (a test holds the two to the same answer): importing ``importlib.metadata`` brings
the ``email`` package and ``socket`` with it, a twentieth of a sync with nothing to do.
A zip file or an ``.egg`` directory on the path is still searched by the path finder.
"""

from __future__ import annotations

import contextlib
import email
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from lock_build.building.wheel_stamp import STAMP_NAME
from lock_build.plan import InstalledDist
from lock_build.target import Interpreter, describe_interpreter, run_interpreter_script

_SCRIPT = r"""
import json, os, sys
from importlib import metadata

STAMP = sys.argv[1]
dists = []
seen = set()
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    if not name:
        continue
    key = name.lower()
    if key in seen:  # an earlier sys.path entry shadows later ones, as for imports
        continue
    seen.add(key)
    stamp = None
    path = getattr(dist, "_path", None)
    if path is not None:
        try:
            with open(os.path.join(str(path), STAMP), encoding="utf-8") as handle:
                stamp = json.load(handle)
        except (OSError, ValueError):
            stamp = None
    dists.append({
        "name": name,
        "version": dist.version,
        "requires": dist.requires or [],
        "stamp": stamp,
    })
print(json.dumps({"dists": dists}))
"""


@dataclass(frozen=True, kw_only=True, slots=True)
class EnvironmentState:
    """A snapshot of a target environment."""

    python: Path
    prefix: Path
    base_prefix: Path
    stdlib: Path
    site_dirs: tuple[Path, ...]
    installed: dict[NormalizedName, InstalledDist]

    @property
    def is_virtualenv(self) -> bool:
        return self.prefix != self.base_prefix

    @property
    def externally_managed(self) -> bool:
        """PEP 668, as pip checks it: a marker in the stdlib dir, ignored inside a venv."""
        return not self.is_virtualenv and (self.stdlib / "EXTERNALLY-MANAGED").is_file()

    def versions(self) -> dict[NormalizedName, str]:
        return {name: dist.version for name, dist in sorted(self.installed.items())}

    def requirement_closure(self, roots: set[NormalizedName]) -> set[NormalizedName]:
        """``roots`` and everything they require, transitively, among installed dists."""
        found: set[NormalizedName] = set()
        queue = [r for r in roots if r in self.installed]
        while queue:
            name = queue.pop()
            if name in found:
                continue
            found.add(name)
            requires = _requirement_names(self.installed[name].requires_dist)
            queue.extend(r for r in requires if r in self.installed)
        return found


def inspect_environment(
    python: Path, *, interpreter: Interpreter | None = None, cache_dir: Path | None = None
) -> EnvironmentState:
    """``python``'s distributions (with lock-build build stamps) and paths.

    ``interpreter`` is its probe's answer when the caller has it; else it is probed (with
    ``cache_dir``: through the interpreter cache)."""
    described = interpreter or describe_interpreter(python, cache_dir)
    layout = described.layout
    found: Sequence[dict[str, Any]] | None = None
    if not layout.distribution_finders:
        try:
            found = tuple(_distributions(layout.sys_path))
        except (OSError, ValueError):
            found = None  # a damaged distribution: its interpreter says what it makes of it
    if found is None:
        answer = run_interpreter_script(python, _SCRIPT, STAMP_NAME, purpose="its packages")
        found = answer["dists"]
    installed: dict[NormalizedName, InstalledDist] = {}
    for item in found:
        name = canonicalize_name(item["name"])
        stamp = item.get("stamp")
        fingerprint = stamp.get("fingerprint") if isinstance(stamp, dict) else None
        installed[name] = InstalledDist(
            name=name,
            version=str(item["version"]),
            fingerprint=fingerprint if isinstance(fingerprint, str) else None,
            requires_dist=tuple(item.get("requires") or ()),
        )
    return EnvironmentState(
        python=python,
        prefix=layout.prefix,
        base_prefix=layout.base_prefix,
        stdlib=layout.stdlib,
        site_dirs=tuple(dict.fromkeys((layout.purelib, layout.platlib))),
        installed=dict(sorted(installed.items())),
    )


class _Dist(Protocol):
    """What is read of a distribution: ``importlib.metadata.Distribution``'s two members."""

    def read_text(self, filename: str) -> str | None: ...

    @property
    def requires(self) -> list[str] | None: ...


class MetadataDir:
    """A ``.dist-info``/``.egg-info`` entry read as ``importlib.metadata.PathDistribution``
    reads one (the same files, the same errors taken as "absent")."""

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path

    def read_text(self, filename: str) -> str | None:
        with contextlib.suppress(
            FileNotFoundError, IsADirectoryError, KeyError, NotADirectoryError, PermissionError
        ):
            return self.path.joinpath(filename).read_text(encoding="utf-8")
        return None

    @property
    def requires(self) -> list[str] | None:
        """An egg-info's requires.txt as requirements: rare enough to ask the stdlib."""
        from importlib.metadata import PathDistribution

        return PathDistribution(self.path).requires


def metadata_dirs(sys_path: Sequence[str]) -> list[MetadataDir] | None:
    """The entries ``MetadataPathFinder.find_distributions`` yields for ``sys_path``, in its
    order (per path entry: grouped by normalized name, in order of first appearance);
    ``None`` where only it can say (a path entry that is a file, as a zip is, or an .egg).
    """
    found: list[MetadataDir] = []
    for root in sys_path:
        if os.path.basename(root).lower().endswith(".egg"):
            return None
        try:
            children = os.listdir(root or ".")
        except (OSError, ValueError):
            if os.path.isfile(root):
                return None
            continue  # missing or unreadable: the path finder finds nothing there either
        groups: dict[str, list[MetadataDir]] = {}
        for child in children:
            low = child.lower()
            if low.endswith((".dist-info", ".egg-info")):
                name = low.rpartition(".")[0].partition("-")[0]
                normalized = re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")
                groups.setdefault(normalized, []).append(MetadataDir(Path(root, child)))
        for group in groups.values():
            found.extend(group)
    return found


def _distributions(sys_path: Sequence[str]) -> Iterator[dict[str, Any]]:
    """What ``_SCRIPT`` reports, found here: the path finder's search over ``sys_path``."""
    dists: Sequence[_Dist] | None = metadata_dirs(sys_path)
    if dists is None:
        from importlib.metadata import DistributionFinder, MetadataPathFinder

        context = DistributionFinder.Context(path=list(sys_path))
        dists = list(MetadataPathFinder.find_distributions(context))
    seen = set()
    for dist in dists:
        metadata = _metadata(dist)
        name = _first(metadata, "Name")
        if not name:
            continue
        key = name.lower()
        if key in seen:  # an earlier sys.path entry shadows later ones, as for imports
            continue
        seen.add(key)
        # Distribution.requires, without parsing METADATA again: Requires-Dist, else an
        # egg-info's requires.txt.
        requires = [value for key, value in metadata if key.lower() == "requires-dist"] or None
        if requires is None and dist.read_text("requires.txt") is not None:
            requires = dist.requires
        try:
            stamp = json.loads(dist.read_text(STAMP_NAME) or "null")
        except (OSError, ValueError):
            stamp = None
        yield {
            "name": name,
            "version": _first(metadata, "Version"),
            "requires": requires or [],
            "stamp": stamp,
        }


def _metadata(dist: _Dist) -> list[tuple[str, str]]:
    """``dist.metadata``'s header fields (``Message.items()``), without parsing the
    description after them.

    The same files in the same order and the same parser as ``Distribution.metadata``; only
    the text after the first empty line (the long description, often most of the file) is
    left out, and no header comes from there: the parser ends the headers at that line.
    """
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or dist.read_text("")
    return header_fields((text or "").partition("\n\n")[0])


# One header on one line, as ``email.feedparser`` reads it: a name of printable ASCII
# without ":" or space, the colon, blanks it drops, the value up to the line's end (a lone
# surrogate, which compat32 turns into a Header, is the parser's).
_PLAIN_HEADER = re.compile(r"([\x21-\x39\x3b-\x7e]+):[ \t]*([^\ud800-\udfff]*)")


def header_fields(block: str) -> list[tuple[str, str]]:
    """``email.message_from_string(block).items()`` (the compat32 policy's values).

    The email parser costs a sync with nothing to do a third of its reading of the
    environment, for headers that are almost always one ``Name: value`` per line. Such a
    block is split here, into exactly what the parser makes of it (a test holds the two to
    that); anything else (a folded line, a carriage return, a line that is no header) is
    the parser's."""
    lines = block.removesuffix("\n").split("\n")
    if "\r" not in block:
        found = [_PLAIN_HEADER.fullmatch(line) for line in lines]
        if all(found):
            return [(match[1], match[2]) for match in found if match]
    return list(email.message_from_string(block).items())


def _first(fields: list[tuple[str, str]], key: str) -> str | None:
    """``Message[key]``: the first field named ``key`` in any case, ``None`` when absent."""
    key = key.lower()
    return next((value for name, value in fields if name.lower() == key), None)


def _requirement_names(lines: list[str] | tuple[str, ...]) -> tuple[NormalizedName, ...]:
    names = []
    for line in lines:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        # Only unconditional requirements: extras' dependencies are not needed to run.
        if req.marker is not None and "extra" in str(req.marker):
            continue
        names.append(canonicalize_name(req.name))
    return tuple(sorted(set(names)))


__all__ = ["EnvironmentState", "inspect_environment"]
