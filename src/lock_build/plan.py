"""Lock → ordered install plan: fetch, build stages, install, remove (data only).

The plan is derived, never stored: the same lock (and the same installed set) always
gives the same plan. Build stages follow the build graph: an sdist whose build
environment pins another package that must itself be built comes after it; builds
that do not depend on each other share a stage (and may run in parallel).

Every build gets a *fingerprint* (`BuildFingerprint` over its pins' identities, its
config settings and the target). It is stamped into the wheel sync builds and so
into the installed ``.dist-info``; an installed distribution built from source
matches the lock only when that stamp equals the fingerprint computed here
(``building.fingerprint`` owns the recipe).

The plan is a value: ``plan_output`` renders it as text or JSON, ``plan_script`` as a
plain-pip shell script; ``sync.prepare`` gathers what planning against an environment
needs (the installed set, the spared names, local tree digests).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from lock_build.building import fingerprint as fp
from lock_build.building.fingerprint import BuildPin
from lock_build.errors import LockfileError
from lock_build.lockfile import BuildEnvironment, Lock, LockedFile, LockedPackage

InstallAction = Literal["install", "upgrade", "downgrade", "reinstall"]


@dataclass(frozen=True, kw_only=True, slots=True)
class InstalledDist:
    """What an environment holds for one name (read by ``sync.inspect``)."""

    name: NormalizedName
    version: str
    # The fingerprint from lock_build_build.json, when lock-build built it.
    fingerprint: str | None = None
    # The Requires-Dist lines as the distribution lists them, to spare what lock-build
    # itself needs: parsed only along that closure (``EnvironmentState``), not every sync.
    requires_dist: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchStep:
    """One artifact to download and verify."""

    name: NormalizedName
    version: Version
    kind: Literal["wheel", "sdist"]
    filename: str
    url: str
    sha256: str | None
    size: int | None = None  # as the lock says (to fetch the biggest first)


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildPinSource:
    """Where a build environment gets one of its pins from."""

    name: NormalizedName
    version: Version
    wheel: str | None  # the locked wheel's filename; None when the pin is built first
    sha256: str | None  # of that wheel

    @property
    def built(self) -> bool:
        return self.wheel is None


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildStep:
    """Build one sdist (or local source) inside an environment of exactly ``pins``."""

    name: NormalizedName
    version: Version
    sdist: str | None  # filename of the sdist; None for a local source
    sdist_url: str | None
    sdist_sha256: str | None
    source_url: str | None  # directory / VCS url for unhashed sources
    source_kind: str | None
    source_commit: str | None = None
    source_subdirectory: str | None = None
    pins: tuple[BuildPinSource, ...]
    config_settings: tuple[tuple[str, str], ...]
    fingerprint: str
    # ABI packages the lock deliberately builds against their runtime version.
    substituted: tuple[NormalizedName, ...] = ()
    # A local project locked with -e: built with PEP 660 build_editable, in place.
    editable: bool = False

    @property
    def key(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True, kw_only=True, slots=True)
class InstallStep:
    name: NormalizedName
    version: Version
    action: InstallAction
    built: bool  # from a build stage, else the locked wheel
    wheel: str | None
    sha256: str | None
    installed_version: str | None = None
    reason: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class RemoveStep:
    name: NormalizedName
    version: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    target: Mapping[str, Any]
    fetch: tuple[FetchStep, ...]
    build_stages: tuple[tuple[BuildStep, ...], ...]
    install: tuple[InstallStep, ...]
    remove: tuple[RemoveStep, ...]
    unchanged: tuple[str, ...] = ()  # "name==version" already as the lock wants
    against_environment: bool = False  # whether `installed` was given

    @property
    def builds(self) -> tuple[BuildStep, ...]:
        return tuple(step for stage in self.build_stages for step in stage)

    @property
    def changes(self) -> bool:
        return bool(self.install or self.remove)


# --- building the plan ------------------------------------------------------------------


def target_key(target: Mapping[str, Any]) -> str:
    """The target part of fingerprints and of the wheel-cache key, for a lock's target."""
    return fp.target_key(
        implementation=str(target.get("implementation", "")),
        python_version=str(target.get("python-version", "")),
        platform=str(target.get("platform", "")),
    )


def make_plan(
    lock: Lock,
    installed: Mapping[NormalizedName, InstalledDist] | None = None,
    *,
    keep: Collection[str] = (),
    source_digests: Mapping[str, str] | None = None,
    tags: Sequence[Tag] | None = None,
) -> Plan:
    """The ordered stages that bring an environment holding ``installed`` to ``lock``.

    Without ``installed`` the plan installs everything (a fresh environment) and has no
    remove stage. ``keep`` names packages never removed (the installer's own, lock-build's).
    ``source_digests`` (``name==version`` → digest) describe the current state of local
    directories, which have no hash in the lock: an edited directory gets a new
    fingerprint and so is rebuilt and reinstalled. ``tags`` (best first) are those of the
    environment acted on, which choose each package's file; the lock's target's by default.
    """
    tags = tuple(tags) if tags is not None else lock.tags()
    fingerprints = _Fingerprints(lock, source_digests or {}, tags)
    runtime = sorted(lock.runtime_packages(), key=lambda p: p.name)
    install: list[InstallStep] = []
    unchanged: list[str] = []
    for pkg in runtime:
        step = _install_step(pkg, installed, fingerprints)
        if step is None:
            unchanged.append(pkg.key)
        else:
            install.append(step)

    # Builds needed: every installed package that must be built, and, recursively, every
    # build-only package its build environment pins that must be built too.
    needed: dict[str, BuildEnvironment] = {}
    queue = [
        lock_pkg
        for lock_pkg in runtime
        if lock_pkg.needs_build_for(tags) and any(s.name == lock_pkg.name for s in install)
    ]
    while queue:
        pkg = queue.pop()
        build = fingerprints.build_of(pkg)
        if build.key in needed:
            continue
        needed[build.key] = build
        queue.extend(p for p in lock.build_packages(build) if p.needs_build_for(tags))

    levels = {key: fingerprints.level(build) for key, build in needed.items()}
    stages: list[tuple[BuildStep, ...]] = []
    for level in sorted(set(levels.values())):
        builds = sorted(
            (needed[k] for k, lv in levels.items() if lv == level),
            key=lambda b: (b.package, b.version),
        )
        stages.append(tuple(_build_step(lock, b, fingerprints) for b in builds))

    fetch: dict[str, FetchStep] = {}
    for step in install:
        locked = lock.package(step.name, step.version)
        wheel = locked.wheel_for(tags) if locked is not None else None
        if locked is not None and wheel is not None:
            _add_fetch(fetch, locked, wheel, "wheel")
    for build in needed.values():
        locked = lock.package(build.package, build.version)
        if locked is not None and locked.sdist is not None:
            _add_fetch(fetch, locked, locked.sdist, "sdist")
        for pin in lock.build_packages(build):
            wheel = pin.wheel_for(tags)
            if wheel is not None:
                _add_fetch(fetch, pin, wheel, "wheel")

    remove: list[RemoveStep] = []
    if installed is not None:
        wanted = {p.name for p in runtime}
        spared = {canonicalize_name(k) for k in keep}
        for name in sorted(installed):
            if name not in wanted and name not in spared:
                remove.append(RemoveStep(name=name, version=installed[name].version))

    return Plan(
        target=lock.target,
        fetch=tuple(sorted(fetch.values(), key=lambda f: (f.name, f.version, f.kind))),
        build_stages=tuple(stages),
        install=tuple(install),
        remove=tuple(remove),
        unchanged=tuple(unchanged),
        against_environment=installed is not None,
    )


def _install_step(
    pkg: LockedPackage,
    installed: Mapping[NormalizedName, InstalledDist] | None,
    fingerprints: _Fingerprints,
) -> InstallStep | None:
    chosen = pkg.wheel_for(fingerprints.tags)
    have = installed.get(pkg.name) if installed is not None else None
    if have is None:
        return _step(pkg, chosen, "install")
    try:
        have_version = Version(have.version)
    except InvalidVersion:
        have_version = None
    if have_version != pkg.version:
        action: InstallAction = (
            "upgrade" if have_version is None or have_version < pkg.version else "downgrade"
        )
        return _step(pkg, chosen, action, installed_version=have.version)
    if chosen is None:
        wanted = fingerprints.of(fingerprints.build_of(pkg))
        if have.fingerprint != wanted:
            reason = (
                "installed build was not made by lock-build (unknown build environment)"
                if have.fingerprint is None
                else "installed build was made against other build pins"
            )
            return _step(pkg, chosen, "reinstall", installed_version=have.version, reason=reason)
    return None


def _step(
    pkg: LockedPackage,
    chosen: LockedFile | None,
    action: InstallAction,
    *,
    installed_version: str | None = None,
    reason: str = "",
) -> InstallStep:
    """Install ``pkg`` from its ``chosen`` wheel, or from a build when there is none."""
    return InstallStep(
        name=pkg.name,
        version=pkg.version,
        action=action,
        built=chosen is None,
        wheel=chosen.filename if chosen else None,
        sha256=chosen.sha256 if chosen else None,
        installed_version=installed_version,
        reason=reason,
    )


def _add_fetch(
    fetch: dict[str, FetchStep],
    pkg: LockedPackage,
    file: LockedFile,
    kind: Literal["wheel", "sdist"],
) -> None:
    fetch.setdefault(
        file.filename,
        FetchStep(
            name=pkg.name,
            version=pkg.version,
            kind=kind,
            filename=file.filename,
            url=file.url,
            sha256=file.sha256,
            size=file.size,
        ),
    )


def _build_step(lock: Lock, build: BuildEnvironment, fingerprints: _Fingerprints) -> BuildStep:
    pkg = fingerprints.package_of(build)
    pins = []
    for p in lock.build_packages(build):
        wheel = p.wheel_for(fingerprints.tags)
        pins.append(
            BuildPinSource(
                name=p.name,
                version=p.version,
                wheel=wheel.filename if wheel else None,
                sha256=wheel.sha256 if wheel else None,
            )
        )
    return BuildStep(
        name=build.package,
        version=build.version,
        sdist=pkg.sdist.filename if pkg.sdist else None,
        sdist_url=pkg.sdist.url if pkg.sdist else None,
        sdist_sha256=pkg.sdist.sha256 if pkg.sdist else None,
        source_url=pkg.source.url if pkg.source else None,
        source_kind=pkg.source.kind if pkg.source else None,
        source_commit=pkg.source.commit if pkg.source else None,
        source_subdirectory=pkg.source.subdirectory if pkg.source else None,
        pins=tuple(pins),
        config_settings=build.config_settings,
        fingerprint=fingerprints.of(build),
        substituted=tuple(sorted(s.package for s in build.substitutions)),
        editable=bool(pkg.source and pkg.source.editable and pkg.source.kind == "directory"),
    )


class _Fingerprints:
    """Fingerprints and stage levels of builds, memoised; finds build cycles."""

    def __init__(
        self, lock: Lock, source_digests: Mapping[str, str], tags: tuple[Tag, ...]
    ) -> None:
        self.lock = lock
        self.tags = tags
        self.source_digests = source_digests
        self.target_key = target_key(lock.target)
        self._fingerprints: dict[str, str] = {}
        self._levels: dict[str, int] = {}
        self._visiting: list[str] = []

    def package_of(self, build: BuildEnvironment) -> LockedPackage:
        pkg = self.lock.package(build.package, build.version)
        if pkg is None:
            raise LockfileError(
                f"The lock has a build environment for {build.key} but no [[package]] entry.",
                hint="The lock is corrupt; regenerate it with lock-build compile.",
            )
        return pkg

    def build_of(self, pkg: LockedPackage) -> BuildEnvironment:
        build = self.lock.build_for(pkg.name, pkg.version)
        if build is None and pkg.sdist is None and pkg.source is None:
            raise LockfileError(
                f"{pkg.key} has no wheel for this environment "
                f"({self.tags[0] if self.tags else 'no wheel tags'}) and no sdist to build.",
                hint="Sync on an environment the lock was made for, or re-lock for this one.",
            )
        if build is None:
            raise LockfileError(
                f"{pkg.key} must be built from source, but the lock has no [[build]] "
                "environment for it.",
                hint="Regenerate the lock with lock-build compile.",
            )
        return build

    def _deps(self, build: BuildEnvironment) -> list[BuildEnvironment]:
        return [
            self.build_of(p)
            for p in self.lock.build_packages(build)
            if p.needs_build_for(self.tags)
        ]

    def _enter(self, build: BuildEnvironment) -> None:
        if build.key in self._visiting:
            chain = self._visiting[self._visiting.index(build.key) :] + [build.key]
            raise LockfileError(
                "The build graph has a cycle: "
                + " needs ".join(f"{k} (to build)" if i else k for i, k in enumerate(chain))
                + ".",
                hint="One of these packages must be available as a wheel; "
                "allow a wheel for it (e.g. drop it from --no-binary) and re-lock.",
            )
        self._visiting.append(build.key)

    def level(self, build: BuildEnvironment) -> int:
        if build.key in self._levels:
            return self._levels[build.key]
        self._enter(build)
        try:
            deps = self._deps(build)
            value = 1 + max((self.level(d) for d in deps), default=-1)
        finally:
            self._visiting.pop()
        self._levels[build.key] = value
        return value

    def of(self, build: BuildEnvironment) -> str:
        if build.key in self._fingerprints:
            return self._fingerprints[build.key]
        self._enter(build)
        try:
            pins = [
                BuildPin(name=p.name, version=str(p.version), sha256=self._identity(p))
                for p in self.lock.build_packages(build)
            ]
        finally:
            self._visiting.pop()
        digest = fp.build_fingerprint(
            pins,
            dict(build.config_settings),
            target_key=self.target_key,
            source_digest=self.source_digests.get(build.key),
        )
        self._fingerprints[build.key] = digest
        return digest

    def _identity(self, pkg: LockedPackage) -> str:
        """A pin's identity: its wheel's hash, or for a built pin its sdist + fingerprint."""
        wheel = pkg.wheel_for(self.tags)
        if wheel is not None:
            return wheel.sha256
        inner = self.of(self.build_of(pkg))
        return fp.built_identity(pkg.sdist.sha256 if pkg.sdist else None, inner)


__all__ = [
    "BuildPinSource",
    "BuildStep",
    "FetchStep",
    "InstallAction",
    "InstallStep",
    "InstalledDist",
    "Plan",
    "RemoveStep",
    "make_plan",
    "target_key",
]
