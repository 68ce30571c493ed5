"""``lock-build compile`` for one target: a pipeline of stages, run to a fixed point.

Each round is one pass of values through the stages:

1. :meth:`Compiler.resolve_runtime` — the inputs (and what earlier rounds added) →
   the runtime :class:`~lock_build.resolution.model.Resolution`;
2. :meth:`Compiler.lock_builds` — that runtime → a
   :class:`~lock_build.locking.builds.BuildRound`: every sdist's locked build
   environment, or why the runtime must change first (a ``--no-build-isolation-package``
   sdist needs its build requirements in the runtime; ``--build-match declared``
   rejected an sdist version);
3. :meth:`Compiler.refresh_metadata` — metadata that came from a backend, recomputed in
   its *locked* environment (old setup.py files write the build numpy into their
   requirements): a :class:`MetadataRefresh` naming what changed.

Builds feed back into the runtime resolution, and :class:`Round` says how: the next
round's inputs and the reasons it runs. When a round changes nothing, the facts the
lock records are gathered (:mod:`lock_build.locking.facts`) and a pure
:func:`~lock_build.locking.assemble.assemble_lock` makes the lock.

:func:`compile_lock` is the composition root: it makes the HTTP client, finder,
workshop and sources for a request and hands them to a :class:`Compiler`, which takes
every collaborator in its constructor (tests can give it others).

Why one module (~500 lines): the stages, the values that pass between them and the loop
that runs them read best side by side; every collaborator they use lives elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from lock_build.errors import InputError, ResolutionError
from lock_build.index.finder import PackageFinder
from lock_build.index.http import HttpClient, redact
from lock_build.index.prefetch import prefetch_enabled
from lock_build.inputs import DynamicProject, InputRequirement, UnnamedLink
from lock_build.locking.assemble import assemble_lock
from lock_build.locking.builds import (
    BuildInspector,
    BuildLocker,
    BuildMismatchError,
    BuildOptions,
    BuildRound,
    LockedBuild,
)
from lock_build.locking.compile_source import (
    CompileSource,
    ReleaseKey,
    refuse_foreign_builds,
)
from lock_build.locking.direct import DirectSources, VcsCheckout, static_name
from lock_build.locking.facts import FileFacts, gather_facts
from lock_build.locking.request import CompileRequest, CompileResult
from lock_build.locking.source import IndexSource
from lock_build.locking.speculation import HookSpeculator
from lock_build.locking.workshop import Workshop
from lock_build.models import CoreMetadata, artifact_from_filename
from lock_build.reporting import NULL_REPORTER, Reporter
from lock_build.resolution.explain import yanked_warning
from lock_build.resolution.model import (
    DirectReference,
    PackageSource,
    Resolution,
    ResolveRequest,
    Wanted,
)
from lock_build.resolution.resolver import resolve
from lock_build.target import Target

_MAX_ROUNDS = 6


class LockingSource(PackageSource, Protocol):
    """The compile loop's package source (:class:`CompileSource`): the resolver's seam,
    plus the hand-over of each round's locked build environments."""

    def expect(self, requirements: Iterable[Requirement]) -> None: ...

    def use_round(
        self, builds: Sequence[LockedBuild], metadata: Mapping[ReleaseKey, CoreMetadata]
    ) -> None: ...

    @property
    def hooked(self) -> frozenset[ReleaseKey]: ...

    @property
    def editable(self) -> frozenset[ReleaseKey]: ...

    def vcs_checkouts(self) -> dict[ReleaseKey, VcsCheckout]: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Round:
    """What one runtime resolution is asked, and why it runs: the fixed point as data."""

    number: int = 1
    extra_runtime: tuple[Wanted, ...] = ()  # build requirements the runtime must hold
    excluded: tuple[ReleaseKey, ...] = ()  # sdist versions that cannot be built as asked
    first_rejection: BuildMismatchError | None = None  # shown if nothing else resolves
    reasons: tuple[str, ...] = ()  # why this round runs (empty for the first)

    def after_builds(self, builds: BuildRound) -> Round:
        """The next round, for a build round that did not settle."""
        if builds.needs_runtime:
            return replace(
                self,
                number=self.number + 1,
                extra_runtime=(*self.extra_runtime, *builds.needs_runtime),
                reasons=tuple(
                    f"a build without isolation needs {w} in the runtime"
                    for w in builds.needs_runtime
                ),
            )
        rejected = builds.rejected
        assert rejected is not None, "a settled round has no next round"
        return replace(
            self,
            number=self.number + 1,
            excluded=(*self.excluded, (rejected.sdist.name, rejected.sdist.version)),
            first_rejection=self.first_rejection or rejected,
            reasons=(f"{rejected.sdist.name} {rejected.sdist.version}: {rejected.message}",),
        )

    def after_refresh(self, refresh: MetadataRefresh) -> Round:
        return replace(self, number=self.number + 1, reasons=refresh.changed)


@dataclass(frozen=True, kw_only=True, slots=True)
class MetadataRefresh:
    """Backend-made metadata recomputed in the locked build environments."""

    metadata: Mapping[ReleaseKey, CoreMetadata]
    changed: tuple[str, ...]  # "cftime 1.6.1: metadata changed in its locked build environment"


def compile_lock(
    request: CompileRequest,
    reporter: Reporter = NULL_REPORTER,
    *,
    client: HttpClient | None = None,
) -> CompileResult:
    """Lock ``request.target``: make the collaborators, run the compiler, close them.

    ``client``, when given, is the caller's (open, maybe with pages already on the way:
    see :mod:`lock_build.index.early`) and stays open."""
    own_client = client is None
    if client is None:
        client = HttpClient(request.settings, request.cache_dir, reporter=reporter)
    finder = PackageFinder(
        request.settings,
        request.target,
        client,
        reporter,
        required_hashes=request.inputs.required_hashes(),
    )
    workshop = Workshop(
        finder=finder, target=request.target, cache_dir=request.cache_dir, reporter=reporter
    )
    options = build_options(request)
    prefetch = prefetch_enabled(os.environ)
    speculator = None
    if request.jobs > 1 and prefetch:
        speculator = HookSpeculator(
            finder=finder,
            inspector=workshop,
            target=request.target,
            options=options,
            hints=build_hints(request),
            jobs=request.jobs,
            reporter=reporter,
        )
    index = IndexSource(
        finder,
        request.target,
        prefetch=prefetch,
        needs_backend=speculator.needs_backend if speculator else None,
    )
    source = CompileSource(
        index=index,
        direct=DirectSources(finder, request.cache_dir),
        inspector=workshop,
        target=request.target,
        options=options,
        hints=build_hints(request),
        reporter=reporter,
        backend_asked=speculator.backend_asked if speculator else None,
    )
    compiler = Compiler(
        source=source,
        inspector=workshop,
        files=finder,
        options=options,
        jobs=request.jobs,
        reporter=reporter,
    )
    try:
        return compiler.run(request)
    finally:
        index.close()
        if speculator is not None:
            speculator.close()
        workshop.close()
        finder.close()
        if own_client:
            client.close()


class Compiler:
    """Runs the stages of one target's compile over injected collaborators."""

    def __init__(
        self,
        *,
        source: LockingSource,
        inspector: BuildInspector,
        files: FileFacts,
        options: BuildOptions,
        jobs: int = 1,
        reporter: Reporter = NULL_REPORTER,
    ) -> None:
        self.source = source
        self.inspector = inspector
        self.files = files
        self.options = options
        self.jobs = jobs
        self.reporter = reporter

    def run(self, request: CompileRequest) -> CompileResult:
        state = Round()
        while state.number <= _MAX_ROUNDS:
            for reason in state.reasons:
                self.reporter.debug(f"Resolving again (round {state.number}): {reason}")
            try:
                runtime = self.resolve_runtime(request, state)
            except ResolutionError:
                if state.first_rejection is not None:
                    raise state.first_rejection from None
                raise
            builds = self.lock_builds(request, runtime)
            if not builds.settled:
                state = state.after_builds(builds)
                continue
            refresh = self.refresh_metadata(builds.builds)
            self.source.use_round(builds.builds, refresh.metadata)
            if not refresh.changed:
                return self.result(request, runtime, builds.builds)
            state = state.after_refresh(refresh)
        raise ResolutionError(
            f"Locking did not settle after {_MAX_ROUNDS} rounds: sdist metadata kept changing "
            "with the build environments it was computed in.",
            hint="Run with -v to see which packages changed; pin them in the inputs.",
        )

    # -- the stages -------------------------------------------------------------

    def resolve_runtime(self, request: CompileRequest, state: Round) -> Resolution:
        inputs = request.inputs
        named = tuple(_name_unnamed(u) for u in inputs.unnamed)
        requirements = (
            tuple(_wanted(r) for r in (*inputs.requirements, *named))
            + self._dynamic_requirements(request)
            + state.extra_runtime
        )
        constraints = (
            tuple(_wanted(r) for r in inputs.constraints)
            + request.constraints
            + tuple(
                Wanted(requirement=r, origin="--upgrade-package")
                for r in request.upgrade_packages
                if r.specifier
            )
        )
        options = inputs.index_options
        runtime_request = ResolveRequest(
            requirements=requirements,
            constraints=constraints,
            preferred=previous_runtime_pins(request),
            excluded=state.excluded,
            pre=request.settings.pre or options.pre,
            prefer_binary=request.settings.binary.prefer_binary or options.prefer_binary,
        )
        target = request.target
        self.source.expect(
            w.requirement
            for w in requirements
            if w.direct is None and target.evaluate(w.requirement.marker)
        )
        resolution, _ = resolve(self.source, target, runtime_request, self.reporter)
        return resolution

    def lock_builds(self, request: CompileRequest, runtime: Resolution) -> BuildRound:
        locker = BuildLocker(
            source=self.source,
            target=request.target,
            inspector=self.inspector,
            options=self.options,
            runtime=runtime,
            hints=build_hints(request),
            editable=self.source.editable,
            reporter=self.reporter,
        )
        to_build = [
            p.candidate.release
            for p in runtime.packages
            if p.candidate.release is not None and p.candidate.release.needs_build
        ]
        refuse_foreign_builds(request.target, to_build)
        return locker.lock_all(to_build)

    def refresh_metadata(self, builds: Sequence[LockedBuild]) -> MetadataRefresh:
        """Recompute hook-made metadata in the locked environments; say what changed."""
        hooked = self.source.hooked
        chosen = [b for b in builds if b.key in hooked]

        def recompute(build: LockedBuild) -> CoreMetadata:
            return self.inspector.metadata(
                build.sdist, build.environment, dict(build.config_settings)
            )

        # Independent hook runs: up to -j at once, the results taken in order.
        with ThreadPoolExecutor(max(1, min(self.jobs, len(chosen)))) as pool:
            results = list(pool.map(recompute, chosen))
        recomputed: dict[ReleaseKey, CoreMetadata] = {}
        changed: list[str] = []
        for build, metadata in zip(chosen, results, strict=True):
            if _requirements(metadata) != _requirements(self.source.metadata(build.sdist)):
                change = (
                    f"{build.sdist.name} {build.sdist.version}: metadata changed "
                    "in its locked build environment"
                )
                self.reporter.status(change)
                changed.append(change)
            recomputed[build.key] = metadata
        return MetadataRefresh(metadata=recomputed, changed=tuple(changed))

    def result(
        self, request: CompileRequest, runtime: Resolution, builds: Sequence[LockedBuild]
    ) -> CompileResult:
        facts = gather_facts(
            runtime,
            builds,
            files=self.files,
            source=self.source,
            vcs=self.source.vcs_checkouts(),
            editable=self.source.editable,
        )
        lock = assemble_lock(request, runtime, builds, facts)
        substitutions = tuple(
            f"{b.sdist.name} {b.sdist.version} builds against {s.package}=={s.used} "
            f"(declared: {s.declared})"
            for b in builds
            for s in b.substitutions
        )
        built = tuple(sorted(f"{n} {v}" for n, v in self.source.hooked))
        for warning in _resolution_warnings(runtime, builds):
            self.reporter.warn(warning)
        return CompileResult(lock=lock, substitutions=substitutions, built_metadata=built)

    def _dynamic_requirements(self, request: CompileRequest) -> tuple[Wanted, ...]:
        """What a pyproject.toml with dynamic dependencies needs, from its own metadata:
        prepared by its backend in a locked build environment, as for any sdist."""
        wanted: list[Wanted] = []
        for project in request.inputs.dynamic:
            reference = DirectReference(url=project.directory.as_uri(), kind="directory")
            _release, metadata = self.source.direct_release(project.name, reference)
            wanted.extend(dynamic_requirements(project, metadata, request.target))
        return tuple(wanted)


# -- what the previous lock and the inputs prefer ----------------------------------


def build_hints(request: CompileRequest) -> dict[NormalizedName, Version]:
    """Versions the runtime will most likely have: previous pins, then exact input pins."""
    hints = dict(previous_runtime_pins(request))
    for item in request.inputs.requirements:
        specs = list(item.requirement.specifier)
        if len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version:
            hints[item.name] = Version(specs[0].version)
    return hints


def build_options(request: CompileRequest) -> BuildOptions:
    """The request's build options, with the previous lock's build pins to keep."""
    return replace(request.build, previous=_previous_build_pins(request))


def previous_runtime_pins(request: CompileRequest) -> tuple[tuple[NormalizedName, Version], ...]:
    previous = request.previous
    pins = request.previous_pins
    if pins is None:
        pins = tuple((p.name, p.version) for p in previous.runtime_packages()) if previous else ()
    kept = {n: v for n, v in pins if _kept(request, n)}
    kept.update(request.agreed)
    return tuple(sorted(kept.items()))


def _previous_build_pins(
    request: CompileRequest,
) -> dict[NormalizedName, dict[NormalizedName, Version]]:
    previous = request.previous
    pins: dict[NormalizedName, dict[NormalizedName, Version]] = {}
    for build in previous.builds if previous is not None else ():
        pins[build.package] = {n: v for n, v in build.pin_versions().items() if _kept(request, n)}
    for sdist, agreed in request.agreed_builds.items():
        pins.setdefault(sdist, {}).update(agreed)
    return pins


def _kept(request: CompileRequest, name: NormalizedName) -> bool:
    if request.upgrade:
        return False
    return name not in {canonicalize_name(r.name) for r in request.upgrade_packages}


def _resolution_warnings(runtime: Resolution, builds: Sequence[LockedBuild]) -> list[str]:
    """What pip would warn about the final result: yanked pins, undefined extras."""
    found = list(runtime.warnings)
    for package in runtime.packages:
        release = package.candidate.release
        warning = yanked_warning(release) if release is not None else None
        if warning is not None:
            found.append(warning)
    shared = runtime.versions()
    for build in builds:
        where = f"{build.sdist.name} {build.sdist.version}"
        for name, pin in sorted(build.pins.items()):
            if shared.get(name) == pin.version:
                continue  # the same release as the runtime's, warned about once
            warning = yanked_warning(pin, where)
            if warning is not None:
                found.append(warning)
    return found


def _requirements(metadata: CoreMetadata) -> list[str]:
    return sorted(str(r) for r in metadata.requires_dist)


def _wanted(item: InputRequirement) -> Wanted:
    direct = None
    if item.link is not None:
        direct = DirectReference(url=item.link.url, kind=item.link.kind, editable=item.editable)
    return Wanted(
        requirement=item.requirement, origin=item.source, location=item.location, direct=direct
    )


def _name_unnamed(link: UnnamedLink) -> InputRequirement:
    """``-e .`` and bare paths name no project: read the name from the project itself."""
    if link.link.kind == "directory" and link.link.path is not None:
        name = static_name(link.link.path)
        if name is not None:
            return link.named(name)
    elif link.link.kind == "archive":
        parsed = artifact_from_filename(
            link.link.url.rsplit("/", 1)[-1].split("#")[0], link.link.url
        )
        if parsed is not None:
            return link.named(parsed.name)
    raise InputError(
        f"{link.location or link.source}: cannot tell the project name of {redact(link.link.url)}.",
        hint="Name it in the requirement: 'name @ <url or path>'.",
    )


def dynamic_requirements(
    project: DynamicProject, metadata: CoreMetadata, target: Target
) -> tuple[Wanted, ...]:
    """The Requires-Dist of a dynamic project that the inputs select: its dependencies
    (when those are the dynamic part) and the requirements of the chosen extras, the
    latter without their ``extra ==`` condition (which only the project itself carries)."""
    chosen = metadata.provides_extra if project.all_extras else frozenset(project.extras)
    unknown = sorted(set(project.extras) - metadata.provides_extra)
    if unknown:
        raise InputError(
            f"{project.source} has no extra {', '.join(repr(e) for e in unknown)}; its "
            f"metadata defines {', '.join(sorted(metadata.provides_extra)) or 'none'}."
        )
    wanted = []
    for requirement in metadata.requires_dist:
        if canonicalize_name(requirement.name) == project.name:
            continue  # ``project[extra]`` in its own metadata: the extras are chosen above
        marker = requirement.marker
        if marker is None or "extra" not in str(marker):
            if project.dependencies:
                wanted.append(Wanted(requirement=requirement, origin=project.source))
            continue
        extras = [e for e in sorted(chosen) if target.evaluate(marker, frozenset({e}))]
        if extras:
            plain = Requirement(str(requirement).split(";", 1)[0])
            origin = f"{project.source} (extra: {extras[0]})"
            wanted.append(Wanted(requirement=plain, origin=origin))
    return tuple(wanted)


__all__ = [
    "CompileRequest",
    "CompileResult",
    "Compiler",
    "LockingSource",
    "MetadataRefresh",
    "Round",
    "compile_lock",
    "dynamic_requirements",
]
