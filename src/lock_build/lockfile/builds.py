"""The ``[[build]]`` entries: the locked build environment of each sdist that is built.

A :class:`BuildEnvironment` records the backend, the requirements an sdist declared
(static and from its hooks), the pins that satisfy them (each a ``[[package]]`` entry,
a cross check :meth:`lock_build.lockfile.model.Lock.validate` makes), the
:class:`Substitution` values where a pin was replaced by the runtime version, and the
:class:`AbiRecord` values that say how an ABI package may differ at runtime.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from lock_build.lockfile.reading import Path_, Reader, printable, read_one

__all__ = ["AbiRecord", "BuildEnvironment", "Substitution"]

_BACKEND = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][\w.]*)?")


@dataclass(frozen=True, kw_only=True, slots=True)
class Substitution:
    """A build pin that differs from what the sdist declared: built against the runtime version."""

    package: NormalizedName  # the ABI package, e.g. numpy
    # What the declared requirements asked for, with the chain:
    # "numpy==1.23.2 via oldest-supported-numpy 2023.12.21".
    declared: str
    used: Version  # the runtime version the build uses instead

    def to_dict(self) -> dict[str, Any]:
        return {"package": self.package, "declared": self.declared, "used": str(self.used)}

    @classmethod
    def _read(cls, data: Mapping[str, Any], path: Path_, r: Reader) -> Substitution | None:
        package = r.name(r.string(data, "package", path, required=True), (*path, "package"))
        declared = r.string(data, "declared", path, required=True)
        used = r.version(r.string(data, "used", path, required=True), (*path, "used"))
        if package is None or declared is None or used is None:
            return None
        return cls(package=package, declared=declared, used=used)


@dataclass(frozen=True, kw_only=True, slots=True)
class AbiRecord:
    """How one ABI package of a build relates to the runtime: built against ``built``,
    runs with ``runtime``, which ``runs_with`` (by ``rule``) allows."""

    package: NormalizedName
    built: Version
    runtime: Version
    runs_with: SpecifierSet
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "built": str(self.built),
            "runtime": str(self.runtime),
            "runs-with": str(self.runs_with),
            "rule": self.rule,
        }

    @classmethod
    def _read(cls, data: Mapping[str, Any], path: Path_, r: Reader) -> AbiRecord | None:
        package = r.name(r.string(data, "package", path, required=True), (*path, "package"))
        built = r.version(r.string(data, "built", path, required=True), (*path, "built"))
        runtime = r.version(r.string(data, "runtime", path, required=True), (*path, "runtime"))
        runs_with = r.specifier(
            r.string(data, "runs-with", path, required=True), (*path, "runs-with")
        )
        rule = r.string(data, "rule", path, required=True)
        if None in (package, built, runtime, runs_with, rule):
            return None
        return cls(package=package, built=built, runtime=runtime, runs_with=runs_with, rule=rule)  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildEnvironment:
    """The locked build environment of one sdist (name, version)."""

    package: NormalizedName
    version: Version
    backend: str
    backend_path: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()  # static, from [build-system].requires (or the legacy default)
    dynamic_requires: tuple[str, ...] = ()  # from get_requires_for_build_wheel
    extra_requires: tuple[str, ...] = ()  # from --extra-build-requires
    # Every package in the environment, "name==version"; each is a [[package]] entry.
    pins: tuple[str, ...] = ()
    # Pins that are the very runtime artifact (same version, same hash).
    shared: tuple[NormalizedName, ...] = ()
    substitutions: tuple[Substitution, ...] = ()
    config_settings: tuple[tuple[str, str], ...] = ()
    # --no-build-isolation-package: built against the runtime versions of its requirements.
    isolated: bool = True
    # How each ABI package the build compiles against may differ at runtime.
    abi: tuple[AbiRecord, ...] = ()
    # The [[target]] ids that build the sdist in this environment; empty: every target.
    targets: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.package}=={self.version}"

    def order(self) -> tuple[NormalizedName, Version, tuple[str, ...]]:
        """The lock's order of build environments: one sdist's for several targets by
        their target ids."""
        return self.package, self.version, tuple(sorted(self.targets))

    def used_on(self, target_id: str) -> bool:
        """Whether the target ``target_id`` builds the sdist in this environment."""
        return not self.targets or target_id in self.targets

    def pin_versions(self) -> dict[NormalizedName, Version]:
        result: dict[NormalizedName, Version] = {}
        for pin in self.pins:
            name, _, version = pin.partition("==")
            result[canonicalize_name(name)] = Version(version)
        return result

    def to_dict(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            "package": self.package,
            "version": str(self.version),
            "backend": self.backend,
        }
        if self.targets:
            table["targets"] = sorted(self.targets)
        if self.backend_path:
            table["backend-path"] = list(self.backend_path)
        table["requires"] = sorted(self.requires)
        table["dynamic-requires"] = sorted(self.dynamic_requires)
        if self.extra_requires:
            table["extra-requires"] = sorted(self.extra_requires)
        table["pins"] = sorted(self.pins)
        table["shared"] = sorted(self.shared)
        if not self.isolated:
            table["isolated"] = False
        if self.config_settings:
            table["config-settings"] = dict(sorted(self.config_settings))
        if self.substitutions:
            table["substitutions"] = [
                s.to_dict() for s in sorted(self.substitutions, key=lambda s: s.package)
            ]
        if self.abi:
            table["abi"] = [a.to_dict() for a in sorted(self.abi, key=lambda a: a.package)]
        return table

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BuildEnvironment:
        return read_one(cls._read, data)

    @classmethod
    def _read(cls, data: Mapping[str, Any], path: Path_, r: Reader) -> BuildEnvironment | None:
        package = r.name(r.string(data, "package", path, required=True), (*path, "package"))
        version = r.version(r.string(data, "version", path, required=True), (*path, "version"))
        backend = r.string(data, "backend", path, required=True)
        if backend is not None and not _BACKEND.fullmatch(backend):
            r.add((*path, "backend"), f"{backend!r} is not a module:object reference")
            backend = None
        backend_path = r.strings(data, "backend-path", path)
        for i, entry in enumerate(backend_path):
            if entry.startswith("/") or ".." in Path(entry).parts:
                r.add((*path, "backend-path", i), "must be a relative path inside the sdist")
        requires = tuple(str(q) for q in r.requirements(data, "requires", path))
        dynamic = tuple(str(q) for q in r.requirements(data, "dynamic-requires", path))
        extra = tuple(str(q) for q in r.requirements(data, "extra-requires", path))
        pins = []
        for i, pin in enumerate(r.strings(data, "pins", path)):
            pin_name, sep, pin_version = pin.partition("==")
            valid_name = r.name(pin_name, (*path, "pins", i)) if sep else None
            valid_version = r.version(pin_version, (*path, "pins", i)) if sep else None
            if not sep:
                r.add((*path, "pins", i), f"{pin!r} is not name==version")
            elif valid_name is not None and valid_version is not None:
                pins.append(f"{valid_name}=={valid_version}")
        substitutions = []
        for i, table in r.tables(data, "substitutions", path):
            substitutions.append(Substitution._read(table, (*path, "substitutions", i), r))
        abi = []
        for i, table in r.tables(data, "abi", path):
            abi.append(AbiRecord._read(table, (*path, "abi", i), r))
        settings: list[tuple[str, str]] = []
        config = r.table(data, "config-settings", path)
        for key, value in (config or {}).items():
            if not isinstance(value, str) or not printable(value) or not printable(key):
                r.add(
                    (*path, "config-settings", key), "must be a string without control characters"
                )
            else:
                settings.append((key, value))
        targets = r.target_ids(data, "targets", path)
        if package is None or version is None or backend is None:
            return None
        return cls(
            package=package,
            version=version,
            backend=backend,
            backend_path=backend_path,
            requires=requires,
            dynamic_requires=dynamic,
            extra_requires=extra,
            pins=tuple(pins),
            shared=r.names(data, "shared", path),
            substitutions=tuple(s for s in substitutions if s is not None),
            config_settings=tuple(sorted(settings)),
            isolated=r.boolean(data, "isolated", path, True),
            abi=tuple(a for a in abi if a is not None),
            targets=targets,
        )
