"""Lock → ordered install plan: fetch, build stages, install, remove.

The plan is derived, never stored: the same lock (and the same installed set) always
gives the same plan. Build stages follow the build graph: an sdist whose build
environment pins another package that must itself be built comes after it; builds
that do not depend on each other share a stage (and may run in parallel).

Every build gets a *fingerprint* (`BuildFingerprint` over its pins' identities, its
config settings and the target). It is stamped into the wheel sync builds and so
into the installed ``.dist-info``; an installed distribution built from source
matches the lock only when that stamp equals the fingerprint computed here.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from lock_build.building.wheel_stamp import BuildFingerprint, BuildPin
from lock_build.errors import LockfileError
from lock_build.lockfile import (
    BuildEnvironment,
    Lock,
    LockedFile,
    LockedPackage,
    write_text_atomic,
)

InstallAction = Literal["install", "upgrade", "downgrade", "reinstall"]


@dataclass(frozen=True, kw_only=True, slots=True)
class InstalledDist:
    """What an environment holds for one name (read by ``sync.inspect``)."""

    name: NormalizedName
    version: str
    # The fingerprint from lock_build_build.json, when lock-build built it.
    fingerprint: str | None = None
    # The Requires-Dist names, to spare what lock-build itself needs.
    requires: tuple[NormalizedName, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchStep:
    """One artifact to download and verify."""

    name: NormalizedName
    version: Version
    kind: Literal["wheel", "sdist"]
    filename: str
    url: str
    sha256: str | None


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

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    def to_dict(self) -> dict[str, Any]:
        stages: list[dict[str, Any]] = [
            {"stage": "fetch", "artifacts": [_fetch_dict(f) for f in self.fetch]}
        ]
        for i, stage in enumerate(self.build_stages, 1):
            stages.append({"stage": "build", "index": i, "builds": [_build_dict(b) for b in stage]})
        stages.append({"stage": "install", "packages": [_install_dict(s) for s in self.install]})
        if self.against_environment:
            stages.append(
                {
                    "stage": "remove",
                    "packages": [{"name": r.name, "version": r.version} for r in self.remove],
                }
            )
        return {"plan-version": 1, "target": dict(self.target), "stages": stages}

    def render_text(self) -> str:
        lines = [f"Plan for {_describe_target(self.target)}"]
        lines.append(f"1. fetch and verify {len(self.fetch)} artifact(s)")
        for f in self.fetch:
            lines.append(f"     {f.filename}" + ("" if f.sha256 else "  (unhashed)"))
        n = 2
        for i, stage in enumerate(self.build_stages, 1):
            lines.append(f"{n}. build stage {i} ({len(stage)} build(s), may run in parallel)")
            for step in stage:
                source = step.sdist or f"{step.source_url} (unhashed {step.source_kind})"
                lines.append(f"     {step.key} from {source}")
                pins = ", ".join(
                    f"{p.name}=={p.version}" + (" [built]" if p.built else "") for p in step.pins
                )
                lines.append(f"       in a fresh environment with: {pins or '(nothing)'}")
                lines.append(f"       fingerprint {step.fingerprint[:16]}")
            n += 1
        lines.append(f"{n}. install {len(self.install)} package(s)")
        for s in self.install:
            what = "built wheel" if s.built else s.wheel
            was = f" (was {s.installed_version})" if s.installed_version else ""
            why = f": {s.reason}" if s.reason else ""
            lines.append(f"     {s.action} {s.name}=={s.version}{was} from {what}{why}")
        if self.against_environment:
            lines.append(f"{n + 1}. remove {len(self.remove)} package(s)")
            for r in self.remove:
                lines.append(f"     {r.name}=={r.version}")
            if self.unchanged:
                lines.append(f"   ({len(self.unchanged)} package(s) already match the lock)")
        return "\n".join(lines) + "\n"

    def render_sh(self, out_dir: Path) -> Path:
        """Write ``plan.sh`` and its requirement files into ``out_dir``; return the script."""
        out_dir.mkdir(parents=True, exist_ok=True)
        files = _sh_files(self)
        for name, text in files.items():
            write_text_atomic(out_dir / name, text)
        script = out_dir / "plan.sh"
        script.chmod(0o755)
        return script


# --- building the plan ------------------------------------------------------------------


def target_key(target: Mapping[str, Any]) -> str:
    """The target part of fingerprints and of the wheel-cache key."""
    return "-".join(
        str(target.get(k, "")) for k in ("implementation", "python-version", "platform")
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
    wheel = chosen.filename if chosen else None
    sha = chosen.sha256 if chosen else None
    common = dict(name=pkg.name, version=pkg.version, built=chosen is None, wheel=wheel, sha256=sha)
    have = installed.get(pkg.name) if installed is not None else None
    if have is None:
        return InstallStep(action="install", **common)  # type: ignore[arg-type]
    try:
        have_version = Version(have.version)
    except InvalidVersion:
        have_version = None
    if have_version != pkg.version:
        action: InstallAction = (
            "upgrade" if have_version is None or have_version < pkg.version else "downgrade"
        )
        return InstallStep(action=action, installed_version=have.version, **common)  # type: ignore[arg-type]
    if chosen is None:
        wanted = fingerprints.of(fingerprints.build_of(pkg))
        if have.fingerprint != wanted:
            reason = (
                "installed build was not made by lock-build (unknown build environment)"
                if have.fingerprint is None
                else "installed build was made against other build pins"
            )
            return InstallStep(
                action="reinstall",
                installed_version=have.version,
                reason=reason,
                **common,  # type: ignore[arg-type]
            )
    return None


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
        settings: dict[str, str] = dict(build.config_settings)
        if build.key in self.source_digests:
            settings["lock-build:source-tree"] = self.source_digests[build.key]
        digest = BuildFingerprint.of(pins, settings, target_tag=self.target_key).digest
        self._fingerprints[build.key] = digest
        return digest

    def _identity(self, pkg: LockedPackage) -> str:
        """A pin's identity: its wheel's hash, or for a built pin its sdist + fingerprint."""
        wheel = pkg.wheel_for(self.tags)
        if wheel is not None:
            return wheel.sha256
        inner = self.of(self.build_of(pkg))
        base = pkg.sdist.sha256 if pkg.sdist and pkg.sdist.sha256 else ""
        return hashlib.sha256(f"{base}:{inner}".encode()).hexdigest()


# --- rendering helpers ------------------------------------------------------------------


def _describe_target(target: Mapping[str, Any]) -> str:
    return (
        f"{target.get('implementation', '?')} "
        f"{target.get('python-full-version') or target.get('python-version', '?')}"
        f" on {target.get('platform', '?')}"
    )


def _fetch_dict(f: FetchStep) -> dict[str, Any]:
    return {
        "name": f.name,
        "version": str(f.version),
        "kind": f.kind,
        "filename": f.filename,
        "url": f.url,
        "sha256": f.sha256,
    }


def _build_dict(b: BuildStep) -> dict[str, Any]:
    return {
        "name": b.name,
        "version": str(b.version),
        "sdist": b.sdist,
        "sha256": b.sdist_sha256,
        "source": {"kind": b.source_kind, "url": b.source_url} if b.source_url else None,
        "pins": [
            {
                "name": p.name,
                "version": str(p.version),
                "wheel": p.wheel,
                "sha256": p.sha256,
                "built": p.built,
            }
            for p in b.pins
        ],
        "config-settings": dict(b.config_settings),
        "fingerprint": b.fingerprint,
    }


def _install_dict(s: InstallStep) -> dict[str, Any]:
    return {
        "name": s.name,
        "version": str(s.version),
        "action": s.action,
        "built": s.built,
        "wheel": s.wheel,
        "sha256": s.sha256,
        "installed-version": s.installed_version,
        "reason": s.reason or None,
    }


def _wheel_glob(name: str, version: Version) -> str:
    return f"{name.replace('-', '_')}-{version}-*.whl"


def _hashed_line(name: str, version: Version, sha256: str | None) -> str:
    line = f"{name}=={version}"
    return f"{line} --hash=sha256:{sha256}" if sha256 else line


_SH_HEADER = """\
#!/bin/sh
# Generated by lock-build plan --format sh: reproduces the lock's install plan with
# plain pip where lock-build is not installed (a Dockerfile, CI).
#
#   PYTHON=/path/to/target/python sh plan.sh
#
# pip's build isolation cannot install per-sdist pinned build environments and does not
# hash-check build dependencies, so every build gets its own venv holding exactly the
# locked build pins (installed with --require-hashes --no-deps) and runs
# `pip wheel --no-build-isolation`. Wheels built here have no hash known in advance:
# the script hashes each one right after building it and installs it with that hash,
# which proves only that what is installed is what was built here.
#
# pip runs from outside each build venv (`pip --python`, pip >= 22.3), so build venvs
# need no pip of their own. PIP may name another pip command (default: the target's).
set -eu

HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
PYTHON=${PYTHON:-python3}
PIP=${PIP:-"$PYTHON -m pip"}
WORK=${WORK:-"$HERE/work"}
DISTS="$WORK/dists"
WHEELS="$WORK/wheels"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
mkdir -p "$DISTS" "$WHEELS"

pip_in() {  # pip_in PYTHON ARGS...: run pip against another interpreter
    _py=$1; shift
    $PIP --python "$_py" "$@"
}

built_req() {  # built_req NAME VERSION GLOB: a hashed requirement for a wheel built here
    _whl=$(ls "$WHEELS"/$3 2>/dev/null | head -n 1)
    if [ -z "$_whl" ]; then echo "plan.sh: no built wheel for $1==$2" >&2; exit 1; fi
    _sha=$("$PYTHON" -c 'import hashlib, sys
print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$_whl")
    echo "$1==$2 --hash=sha256:$_sha"
}
"""


def _sh_files(plan: Plan) -> dict[str, str]:
    files: dict[str, str] = {}
    body = [_SH_HEADER]
    wheels = [f for f in plan.fetch if f.kind == "wheel"]
    files["fetch.txt"] = "".join(
        f"{f.name} @ {f.url}" + (f" --hash=sha256:{f.sha256}" if f.sha256 else "") + "\n"
        for f in wheels
    )
    body.append(
        "\n# Stage 1: fetch and verify every locked wheel (sdists are fetched, by hash,\n"
        "# in their build stage: `pip download` of an sdist would build it).\n"
    )
    if wheels:
        body.append(
            'pip_in "$PYTHON" download --no-deps --require-hashes --only-binary :all: '
            '-d "$DISTS" -r "$HERE/fetch.txt"\n'
        )
    for i, stage in enumerate(plan.build_stages, 1):
        body.append(f"\n# Build stage {i}: {', '.join(s.key for s in stage)}\n")
        for step in stage:
            slug = f"{step.name}-{step.version}"
            hashed = [p for p in step.pins if not p.built]
            built = [p for p in step.pins if p.built]
            files[f"build-{slug}.txt"] = "".join(
                _hashed_line(p.name, p.version, p.sha256) + "\n" for p in hashed
            )
            env = f'"$WORK/env-{slug}"'
            body.append(f"# {step.key}: fingerprint {step.fingerprint}\n")
            body.append(f'rm -rf {env}\n"$PYTHON" -m venv --without-pip {env}\n')
            reqs = f'-r "$HERE/build-{slug}.txt"'
            if built:
                body.append(f': > "$WORK/built-for-{slug}.txt"\n')
                for p in built:
                    body.append(
                        f"built_req {p.name} {p.version} '{_wheel_glob(p.name, p.version)}'"
                        f' >> "$WORK/built-for-{slug}.txt"\n'
                    )
                reqs += f' -r "$WORK/built-for-{slug}.txt"'
            if step.pins:
                body.append(
                    f"pip_in {env}/bin/python install --no-index --no-deps --require-hashes "
                    f'--find-links "$DISTS" --find-links "$WHEELS" {reqs}\n'
                )
            if step.sdist:
                files[f"sdist-{slug}.txt"] = (
                    f"{step.name} @ {step.sdist_url}"
                    + (f" --hash=sha256:{step.sdist_sha256}" if step.sdist_sha256 else "")
                    + "\n"
                )
                source = f'--require-hashes -r "$HERE/sdist-{slug}.txt"'
            else:
                body.append(f"# {step.key} is a local {step.source_kind}: built unhashed.\n")
                source = shlex.quote(step.source_url or ".")
            settings = "".join(
                f" --config-settings {shlex.quote(f'{k}={v}')}" for k, v in step.config_settings
            )
            body.append(
                f"pip_in {env}/bin/python wheel --no-build-isolation --no-deps "
                f'--no-cache-dir{settings} -w "$WHEELS" {source}\n'
            )
            body.append(f"rm -rf {env}\n")
    hashed = [s for s in plan.install if not s.built]
    built_install = [s for s in plan.install if s.built]
    files["install.txt"] = "".join(_hashed_line(s.name, s.version, s.sha256) + "\n" for s in hashed)
    body.append("\n# Install: locked wheels by hash, wheels built above by the hash taken here.\n")
    body.append(': > "$WORK/built-install.txt"\n')
    for s in built_install:
        body.append(
            f"built_req {s.name} {s.version} '{_wheel_glob(s.name, s.version)}'"
            ' >> "$WORK/built-install.txt"\n'
        )
    if plan.install:
        # --force-reinstall: a same-version build made against other pins must be replaced.
        body.append(
            'pip_in "$PYTHON" install --no-index --no-deps --require-hashes --force-reinstall '
            '--find-links "$DISTS" --find-links "$WHEELS" '
            '-r "$HERE/install.txt" -r "$WORK/built-install.txt"\n'
        )
    if plan.remove:
        names = " ".join(shlex.quote(r.name) for r in plan.remove)
        body.append(
            f'\n# Remove what the lock does not list.\npip_in "$PYTHON" uninstall -y {names}\n'
        )
    files["plan.sh"] = "".join(body)
    return files
