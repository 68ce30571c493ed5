"""Read a target environment: what it holds, and whether we may change it.

We ask the target's own interpreter (a tiny stdlib-only script), because only it
knows its sys.path; importing nothing from it into our process keeps two Pythons
from mixing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from lock_build.building.wheel_stamp import STAMP_NAME
from lock_build.plan import InstalledDist
from lock_build.target import run_interpreter_script

_SCRIPT = r"""
import json, os, sys, sysconfig
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
        "location": str(path) if path is not None else None,
        "stamp": stamp,
    })
paths = sysconfig.get_paths()
print(json.dumps({
    "executable": sys.executable,
    "prefix": sys.prefix,
    "base_prefix": sys.base_prefix,
    "stdlib": paths["stdlib"],
    "purelib": paths["purelib"],
    "platlib": paths["platlib"],
    "dists": dists,
}))
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
            queue.extend(r for r in self.installed[name].requires if r in self.installed)
        return found


def inspect_environment(python: Path) -> EnvironmentState:
    """Ask ``python`` for its distributions (with lock-build build stamps) and paths."""
    facts = run_interpreter_script(python, _SCRIPT, STAMP_NAME, purpose="its packages")
    installed: dict[NormalizedName, InstalledDist] = {}
    for item in facts["dists"]:
        name = canonicalize_name(item["name"])
        stamp = item.get("stamp")
        fingerprint = stamp.get("fingerprint") if isinstance(stamp, dict) else None
        installed[name] = InstalledDist(
            name=name,
            version=str(item["version"]),
            fingerprint=fingerprint if isinstance(fingerprint, str) else None,
            requires=_requirement_names(item.get("requires") or ()),
        )
    return EnvironmentState(
        python=python,
        prefix=Path(facts["prefix"]),
        base_prefix=Path(facts["base_prefix"]),
        stdlib=Path(facts["stdlib"]),
        site_dirs=tuple(dict.fromkeys(Path(facts[k]) for k in ("purelib", "platlib"))),
        installed=dict(sorted(installed.items())),
    )


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
