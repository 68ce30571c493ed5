"""Lock the build environment of every sdist, together with the runtime tree.

The policy, in the order it is tried for each sdist S (see README, "Build policy"):

1. Resolve S's build requirements (static ``[build-system].requires``, then what its
   backend's ``get_requires_for_build_wheel`` returns in the pinned environment, to a
   fixed point), *preferring* the runtime versions, then versions other build
   environments already use: a package in both places gets one version wherever the
   declared requirements allow it.
2. For ABI packages (numpy, torch, ...: their version is compiled into the wheels built
   against them) that still differ from the runtime pin, look for a joint solution
   that honours the declared requirements with the runtime version as a hard
   constraint (an older ``oldest-supported-numpy`` that leaves numpy free, say).
3. Failing that, one with any version whose wheels run with the runtime version by the
   package's ABI rule (``lock_build.abi``: a numpy 2.x build runs on numpy 1.26), the
   newest the declared requirements allow.
4. If there is none: by default build against the runtime version anyway and record a
   :class:`Substitution`; with ``--build-match declared`` raise
   :class:`BuildMismatchError`, which the caller answers by trying an older S.

Every ABI package a build environment shares with the runtime gets an
:class:`~lock_build.abi.AbiRecord`: built against, runtime, and the range the rule
gives, which sync checks before it changes anything.

Build-only packages (setuptools, Cython, backends) whose declared requirements exclude
the runtime version simply get their own version: preferences are soft. ``-b`` build
constraints are constraints, never overridden: a substitution they forbid is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Literal, Protocol

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from lock_build.abi import AbiRecord, AbiRule, AbiRules, builtin_rules
from lock_build.building.build_system import BuildSystem
from lock_build.errors import BuildError, ResolutionError
from lock_build.lockfile import Substitution
from lock_build.models import CoreMetadata, Release
from lock_build.reporting import NULL_REPORTER, Building, Reporter
from lock_build.resolution.model import PackageSource, Resolution, ResolveRequest, Wanted
from lock_build.resolution.resolver import resolve
from lock_build.target import Target


@cache
def default_abi_rules() -> AbiRules:
    """The shipped rules (read once): numpy's ranges, torch's same artifact, equality."""
    return builtin_rules()


BuildMatch = Literal["runtime", "declared"]
_MAX_DYNAMIC_ROUNDS = 4


class BuildMismatchError(ResolutionError):
    """--build-match declared: an sdist's declared build requirements exclude a runtime ABI pin."""

    def __init__(
        self,
        sdist: Release,
        package: NormalizedName,
        declared: str,
        runtime: Version,
        rule: AbiRule | None = None,
    ) -> None:
        compatible = (
            f"no {package} version its build may use runs with it (rule {rule.name!r}"
            + (f", {rule.source}" if rule.source else "")
            + ")"
            if rule is not None and rule.kind == "ranges"
            else f"a wheel built against another {package} than the one it runs with can "
            "break at import"
        )
        super().__init__(
            f"{sdist.name} {sdist.version} needs {declared} to build; the runtime pins "
            f"{package}=={runtime}, and {compatible}.",
            hint=(
                "Drop --build-match declared to build against the runtime version (recorded "
                f"as a substitution in the lock), or change the runtime pin of {package}."
            ),
        )
        self.sdist = sdist
        self.package = package


@dataclass(frozen=True, kw_only=True, slots=True)
class EnvironmentSpec:
    """What a hook runs in: the pins of a build environment and, for every pin that has
    no wheel, the environment that pin is itself built in. Self-contained, so whoever
    builds or fingerprints an environment never has to ask where a pin's wheel comes from.
    """

    pins: Mapping[NormalizedName, Release]
    built: Mapping[NormalizedName, EnvironmentSpec] = field(default_factory=dict)
    substituted: frozenset[NormalizedName] = frozenset()  # built against the runtime pin


class BuildInspector(Protocol):
    """The I/O half: reading sdists and running hooks in pinned environments."""

    def build_system(self, sdist: Release) -> BuildSystem: ...

    def dynamic_requires(
        self,
        sdist: Release,
        environment: EnvironmentSpec,
        config: Mapping[str, str],
        editable: bool = False,
    ) -> tuple[Requirement, ...]: ...

    def metadata(
        self, sdist: Release, environment: EnvironmentSpec, config: Mapping[str, str]
    ) -> CoreMetadata: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildOptions:
    match: BuildMatch = "runtime"
    abi: AbiRules = field(default_factory=default_abi_rules)
    constraints: tuple[Wanted, ...] = ()  # -b / --build-constraint, and pip's build-constraint
    extra_requires: Mapping[NormalizedName, tuple[Requirement, ...]] = field(default_factory=dict)
    config_settings: Mapping[NormalizedName, Mapping[str, str]] = field(default_factory=dict)
    no_isolation: frozenset[NormalizedName] = frozenset()
    # Pins of the existing lock's build environments, kept unless upgraded: sdist -> pins.
    previous: Mapping[NormalizedName, Mapping[NormalizedName, Version]] = field(
        default_factory=dict
    )
    pre: bool = False
    prefer_binary: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class LockedBuild:
    """One sdist's locked build environment (before it becomes lockfile text)."""

    sdist: Release
    build_system: BuildSystem
    dynamic: tuple[Requirement, ...]
    extra: tuple[Requirement, ...]
    pins: Mapping[NormalizedName, Release]
    via: Mapping[NormalizedName, tuple[str, ...]]  # why each pin is in this environment
    dependencies: Mapping[NormalizedName, tuple[NormalizedName, ...]]
    shared: frozenset[NormalizedName]
    substitutions: tuple[Substitution, ...]
    config_settings: tuple[tuple[str, str], ...]
    isolated: bool = True
    # What each ABI package shared with the runtime was built against, and runs with.
    abi: tuple[AbiRecord, ...] = ()
    # The environments of the pins that have no wheel (locked before this one).
    built_pins: Mapping[NormalizedName, EnvironmentSpec] = field(default_factory=dict)

    @property
    def key(self) -> tuple[NormalizedName, Version]:
        return (self.sdist.name, self.sdist.version)

    @property
    def environment(self) -> EnvironmentSpec:
        return EnvironmentSpec(
            pins=self.pins,
            built=self.built_pins,
            substituted=frozenset(s.package for s in self.substitutions),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildRound:
    """One pass of build locking against a runtime resolution: every build environment,
    or why the runtime must be resolved again before they can be locked."""

    builds: tuple[LockedBuild, ...] = ()
    # --no-build-isolation-package: build requirements the runtime must hold too.
    needs_runtime: tuple[Wanted, ...] = ()
    # --build-match declared: an sdist version that cannot be built against the runtime.
    rejected: BuildMismatchError | None = None

    @property
    def settled(self) -> bool:
        return not self.needs_runtime and self.rejected is None


class _NeedsRuntimeRequirements(Exception):
    """A --no-build-isolation-package sdist needs build requirements the runtime lacks
    (raised from deep in the recursion, returned by :meth:`BuildLocker.lock_all` as data)."""

    def __init__(self, requirements: Sequence[Wanted]) -> None:
        super().__init__(", ".join(str(r) for r in requirements))
        self.requirements = tuple(requirements)


class BuildLocker:
    """Locks build environments against one runtime resolution.

    ``runtime`` may be empty: that is the provisional pass used to compute an sdist's
    metadata while the runtime tree is still being resolved.
    """

    def __init__(
        self,
        *,
        source: PackageSource,
        target: Target,
        inspector: BuildInspector,
        options: BuildOptions,
        runtime: Resolution | None = None,
        hints: Mapping[NormalizedName, Version] | None = None,
        editable: frozenset[tuple[NormalizedName, Version]] = frozenset(),
        reporter: Reporter = NULL_REPORTER,
    ) -> None:
        self.source = source
        # Local projects installed with -e: their builds need the editable hook's
        # requirements too.
        self.editable = editable
        # Soft preferences below the runtime pins: the user's exact pins and the previous
        # lock. They matter in the provisional pass, where the runtime is still unknown.
        self.hints = dict(hints or {})
        self.target = target
        self.inspector = inspector
        self.options = options
        self.runtime = runtime
        self.runtime_versions = runtime.versions() if runtime else {}
        self.reporter = reporter
        self.locked: dict[tuple[NormalizedName, Version], LockedBuild] = {}
        self._in_progress: list[Release] = []

    # -- public ---------------------------------------------------------------

    def lock_all(self, sdists: Sequence[Release]) -> BuildRound:
        """Lock every sdist in ``sdists`` and, recursively, the sdists their builds need;
        or say what the runtime resolution must change first (the first sdist, in name
        order, that needs it)."""
        try:
            for sdist in sorted(sdists, key=lambda r: (r.name, r.version)):
                self.lock(sdist)
        except _NeedsRuntimeRequirements as needs:
            return BuildRound(needs_runtime=needs.requirements)
        except BuildMismatchError as mismatch:
            return BuildRound(rejected=mismatch)
        return BuildRound(builds=tuple(self.locked[k] for k in sorted(self.locked)))

    def lock(self, sdist: Release) -> LockedBuild:
        key = (sdist.name, sdist.version)
        if key in self.locked:
            return self.locked[key]
        if any((r.name, r.version) == key for r in self._in_progress):
            chain = [
                *self._in_progress[[(r.name, r.version) for r in self._in_progress].index(key) :],
                sdist,
            ]
            raise BuildError(
                "Build dependency cycle: "
                + " → ".join(f"{r.name} {r.version}" for r in chain)
                + " (each needs the next to build, and none has a wheel for this target).",
                hint="Allow a wheel for one of them (drop --no-binary for it) or pre-build it.",
            )
        self._in_progress.append(sdist)
        try:
            locked = self._lock_new(sdist)
        finally:
            self._in_progress.pop()
        self.locked[key] = locked
        return locked

    # -- the policy -----------------------------------------------------------

    def _lock_new(self, sdist: Release) -> LockedBuild:
        self.reporter.building(
            Building(package=sdist.name, version=str(sdist.version), step="environment")
        )
        build_system = self.inspector.build_system(sdist)
        extra = self.options.extra_requires.get(sdist.name, ())
        config = dict(self.options.config_settings.get(sdist.name, {}))
        isolated = sdist.name not in self.options.no_isolation
        static = (*build_system.requires, *extra)
        dynamic: tuple[Requirement, ...] = ()
        for _round in range(_MAX_DYNAMIC_ROUNDS):
            resolution, substitutions = self._resolve_env(sdist, (*static, *dynamic), isolated)
            pins = _pins(resolution)
            # Recursion: a pin's wheel must exist before ours can be built.
            built = {
                name: self.lock(pin).environment for name, pin in pins.items() if pin.needs_build
            }
            environment = EnvironmentSpec(
                pins=pins, built=built, substituted=frozenset(s.package for s in substitutions)
            )
            found = self.inspector.dynamic_requires(
                sdist, environment, config, editable=(sdist.name, sdist.version) in self.editable
            )
            if {str(r) for r in found} <= {str(r) for r in dynamic} | {str(r) for r in static}:
                break
            dynamic = tuple(sorted({*dynamic, *found}, key=str))
        else:
            raise BuildError(
                f"{sdist.name} {sdist.version}: its backend's build requirements did not settle "
                f"after {_MAX_DYNAMIC_ROUNDS} rounds (each environment asked for more).",
            )
        shared = frozenset(
            name
            for name, version in resolution.versions().items()
            if self.runtime_versions.get(name) == version
        )
        return LockedBuild(
            sdist=sdist,
            build_system=build_system,
            dynamic=tuple(r for r in dynamic if str(r) not in {str(s) for s in static}),
            extra=tuple(extra),
            pins=pins,
            built_pins=built,
            via={p.candidate.name: p.via for p in resolution.packages},
            dependencies={p.candidate.name: p.dependencies for p in resolution.packages},
            shared=shared,
            substitutions=substitutions,
            config_settings=tuple(sorted(config.items())),
            isolated=isolated,
            abi=self._records(sdist, resolution),
        )

    def _resolve_env(
        self, sdist: Release, requirements: Sequence[Requirement], isolated: bool
    ) -> tuple[Resolution, tuple[Substitution, ...]]:
        context = f"{sdist.name} {sdist.version} (build)"
        wanted = tuple(Wanted(requirement=r, origin=context) for r in requirements)
        if not isolated:
            return self._runtime_closure(sdist, wanted), ()
        base = ResolveRequest(
            requirements=wanted,
            constraints=self.options.constraints,
            preferred=self._preferences(sdist),
            pre=self.options.pre,
            prefer_binary=self.options.prefer_binary,
            context=context,
        )
        first, _ = resolve(self.source, self.target, base, self.reporter)
        mismatched = {
            name: self.runtime_versions[name]
            for name, version in first.versions().items()
            if self._rule(sdist, name) is not None
            and name in self.runtime_versions
            and version != self.runtime_versions[name]
        }
        if not mismatched:
            return first, ()

        pins = tuple(
            Wanted(requirement=Requirement(f"{name}=={version}"), origin="the runtime pin")
            for name, version in sorted(mismatched.items())
        )
        # The runtime version itself, then any version whose builds run with it.
        attempts = [replace(base, constraints=(*base.constraints, *pins))]
        compatible = self._compatible_constraints(sdist, first, mismatched)
        if compatible:
            attempts.append(replace(base, constraints=(*base.constraints, *compatible)))
        for attempt in attempts:
            try:
                resolution, _ = resolve(self.source, self.target, attempt, self.reporter)
            except ResolutionError:
                continue  # the declared requirements exclude every such version
            if self._runs_with_runtime(sdist, resolution):
                for record in self._records(sdist, resolution):
                    if record.built != record.runtime:
                        self.reporter.debug(
                            f"{sdist.name} {sdist.version} builds against {record.package} "
                            f"{record.built}, whose builds run with {record.package}"
                            f"{record.runs_with} (rule {record.rule!r}): the runtime "
                            f"{record.runtime} is inside, no substitution"
                        )
                return resolution, ()

        declared = {name: self._declared(first, sdist, name, requirements) for name in mismatched}
        if self.options.match == "declared":
            name = sorted(mismatched)[0]
            raise BuildMismatchError(
                sdist, name, declared[name], mismatched[name], self._rule(sdist, name)
            )
        forced = replace(base, overrides=pins)
        try:
            resolution, _ = resolve(self.source, self.target, forced, self.reporter)
        except ResolutionError as exc:
            wanted_pins = ", ".join(f"{n}=={v}" for n, v in sorted(mismatched.items()))
            raise ResolutionError(
                f"{sdist.name} {sdist.version} must be built against the runtime {wanted_pins} "
                f"(it declares {'; '.join(declared.values())}), but its build environment cannot "
                f"hold that: {exc.message}",
                conflicts=exc.conflicts,
                context=exc.context,
                hint="Build constraints (-b, pip's build-constraint) are never overridden: relax "
                "them, or change the runtime pin.",
            ) from None
        substitutions = tuple(
            Substitution(package=name, declared=declared[name], used=version)
            for name, version in sorted(mismatched.items())
        )
        self.reporter.status(
            f"{sdist.name} {sdist.version}: building against the runtime "
            + ", ".join(f"{s.package}=={s.used} (declared: {s.declared})" for s in substitutions)
        )
        return resolution, substitutions

    # -- ABI rules ------------------------------------------------------------

    def _rule(self, sdist: Release, name: NormalizedName) -> AbiRule | None:
        return self.options.abi.rule_for(name, sdist.name)

    def _runs_with_runtime(self, sdist: Release, resolution: Resolution) -> bool:
        """Every ABI package of ``resolution`` runs with its runtime version, by its rule."""
        for name, version in resolution.versions().items():
            rule = self._rule(sdist, name)
            runtime = self.runtime_versions.get(name)
            if rule is not None and runtime is not None and not rule.accepts(version, runtime):
                return False
        return True

    def _compatible_constraints(
        self,
        sdist: Release,
        first: Resolution,
        mismatched: Mapping[NormalizedName, Version],
    ) -> tuple[Wanted, ...]:
        """One constraint per ABI package of the environment: the versions whose builds run
        with the runtime version (a range, minus the versions in it that do not), or ``()``
        when some package has none (then only a substitution can build it)."""
        constraints = []
        for name in sorted({*mismatched, *first.versions()}):
            rule = self._rule(sdist, name)
            runtime = self.runtime_versions.get(name)
            if rule is None or runtime is None:
                continue
            available = [
                r.version
                for r in self.source.releases(name)
                if self.options.pre or not r.version.is_prerelease
            ]
            compatible = rule.compatible(runtime, available)
            if not compatible:
                return ()
            constraints.append(
                Wanted(
                    requirement=Requirement(f"{name}{_only(compatible, available, runtime)}"),
                    origin=f"the ABI rule {rule.name!r} for the runtime {name}=={runtime}",
                )
            )
        return tuple(constraints)

    def _records(self, sdist: Release, resolution: Resolution) -> tuple[AbiRecord, ...]:
        records = []
        for name, version in sorted(resolution.versions().items()):
            rule = self._rule(sdist, name)
            runtime = self.runtime_versions.get(name)
            if rule is None or runtime is None:
                continue
            records.append(
                AbiRecord(
                    package=name,
                    built=version,
                    runtime=runtime,
                    runs_with=rule.runs_with(version),
                    rule=rule.name,
                )
            )
        return tuple(records)

    def _declared(
        self,
        resolution: Resolution,
        sdist: Release,
        name: NormalizedName,
        requirements: Sequence[Requirement],
    ) -> str:
        """'numpy==1.23.2 via oldest-supported-numpy 2023.10.25', for messages and the lock."""
        parts = [_plain(r) for r in requirements if canonicalize_name(r.name) == name]
        for package in resolution.packages:
            for requirement in package.metadata.requires_dist:
                if canonicalize_name(requirement.name) != name:
                    continue
                if requirement.marker is not None and not self.target.evaluate(requirement.marker):
                    continue
                via = f"{package.candidate.name} {package.candidate.version}"
                parts.append(f"{_plain(requirement)} via {via}")
        chosen = resolution.versions().get(name)
        if not parts:
            parts.append(f"{name}=={chosen}")
        return "; ".join(parts)

    def _runtime_closure(self, sdist: Release, wanted: Sequence[Wanted]) -> Resolution:
        """--no-build-isolation-package: the build uses the runtime versions themselves."""
        if self.runtime is None:
            # Provisional pass (metadata): resolve as if isolated.
            request = ResolveRequest(requirements=tuple(wanted), context=f"{sdist.name} (build)")
            return resolve(self.source, self.target, request, self.reporter)[0]
        missing = [
            w
            for w in wanted
            if self.target.evaluate(w.requirement.marker)
            and (
                w.name not in self.runtime_versions
                or not w.specifier.contains(self.runtime_versions[w.name], prereleases=True)
            )
        ]
        if missing:
            raise _NeedsRuntimeRequirements(missing)
        closure: dict[NormalizedName, object] = {}
        todo = [w.name for w in wanted if self.target.evaluate(w.requirement.marker)]
        while todo:
            name = todo.pop()
            package = self.runtime.get(name)
            if package is None or name in closure:
                continue
            closure[name] = package
            todo.extend(package.dependencies)
        return Resolution(packages=tuple(closure[n] for n in sorted(closure)))  # type: ignore[misc]

    def _preferences(self, sdist: Release) -> tuple[tuple[NormalizedName, Version], ...]:
        """Runtime versions first, then this sdist's previous lock, then other envs' pins."""
        preferred: dict[NormalizedName, Version] = {}
        for locked in self.locked.values():
            for name, release in locked.pins.items():
                preferred.setdefault(name, release.version)
        preferred.update(self.hints)
        preferred.update(self.options.previous.get(sdist.name, {}))
        preferred.update(self.runtime_versions)
        return tuple(sorted(preferred.items()))


def _pins(resolution: Resolution) -> dict[NormalizedName, Release]:
    pins = {}
    for package in resolution.packages:
        assert package.candidate.release is not None, "build environments hold no direct URL"
        pins[package.candidate.name] = package.candidate.release
    return pins


def _only(
    wanted: Sequence[Version], available: Sequence[Version], runtime: Version
) -> SpecifierSet:
    """A specifier set that, among ``available``, admits exactly ``wanted``."""
    if any(v.local for v in wanted):
        return SpecifierSet(f"=={runtime}")  # ordered comparisons cannot hold a local label
    low, high = min(wanted), max(wanted)
    chosen = set(wanted)
    gaps = sorted({v for v in available if low < v < high and v not in chosen})
    specs = [f">={low}", f"<={high}", *(f"!={v}" for v in gaps)]
    return SpecifierSet(",".join(specs))


def _plain(requirement: Requirement) -> str:
    """The requirement without its marker (it was true here; showing it is noise)."""
    plain = Requirement(str(requirement))
    plain.marker = None
    return str(plain)


__all__ = [
    "BuildInspector",
    "BuildLocker",
    "BuildMatch",
    "BuildMismatchError",
    "BuildOptions",
    "BuildRound",
    "EnvironmentSpec",
    "LockedBuild",
    "default_abi_rules",
]
