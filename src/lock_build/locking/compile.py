"""``lock-build compile``: inputs → runtime resolution → locked build environments → Lock.

The loop runs to a fixed point: resolve the runtime tree; lock every sdist's build
environment against it; recompute the runtime metadata of sdists whose metadata came
from their backend in the *locked* environment; if anything changed (or a
``--no-build-isolation-package`` needs build requirements in the runtime set, or
``--build-match declared`` rejected an sdist version), resolve again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from lock_build.errors import ForeignBuildError, InputError, ResolutionError
from lock_build.index.finder import PackageFinder
from lock_build.index.http import HttpClient, redact
from lock_build.index.prefetch import prefetch_enabled
from lock_build.inputs import DynamicProject, InputRequirement, InputSet, UnnamedLink
from lock_build.lockfile import Lock
from lock_build.locking.assemble import assemble_lock
from lock_build.locking.builds import (
    BuildLocker,
    BuildMismatchError,
    BuildOptions,
    LockedBuild,
    NeedsRuntimeRequirements,
)
from lock_build.locking.direct import DirectSources, static_name
from lock_build.locking.source import IndexSource
from lock_build.locking.workshop import Workshop
from lock_build.models import CoreMetadata, Release, artifact_from_filename
from lock_build.reporting import NULL_REPORTER, Reporter
from lock_build.resolution.explain import yanked_warning
from lock_build.resolution.model import DirectReference, Resolution, ResolveRequest, Wanted
from lock_build.resolution.resolver import resolve
from lock_build.settings import IndexSettings
from lock_build.target import Target
from lock_build.targets import id_of

_MAX_ROUNDS = 6


@dataclass(frozen=True, kw_only=True, slots=True)
class CompileRequest:
    inputs: InputSet
    settings: IndexSettings
    target: Target
    cache_dir: Path
    command: str
    input_files: tuple[str, ...]
    build: BuildOptions = BuildOptions()
    constraints: tuple[Wanted, ...] = ()  # from pip's configuration (global constraint files)
    previous: Lock | None = None
    # Runtime pins to keep from another file (``--previous``: a pip-compile or uv output);
    # None: those of ``previous``. Build pins always come from ``previous``.
    previous_pins: tuple[tuple[NormalizedName, Version], ...] | None = None
    upgrade: bool = False
    upgrade_packages: tuple[Requirement, ...] = ()
    options_record: Mapping[str, object] = field(default_factory=dict)
    output_dir: Path = Path(".")  # local paths in the lock are relative to it
    # Versions the lock's other targets chose (runtime pins; build pins per sdist): preferred
    # over the previous lock's, and kept through --upgrade, so targets agree wherever their
    # markers and tags allow (as uv prefers versions across its forks).
    agreed: tuple[tuple[NormalizedName, Version], ...] = ()
    agreed_builds: Mapping[NormalizedName, Mapping[NormalizedName, Version]] = field(
        default_factory=dict
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class CompileResult:
    lock: Lock
    substitutions: tuple[str, ...]  # one line per substitution, for the command's output
    built_metadata: tuple[str, ...]  # sdists whose metadata needed their backend


def compile_lock(request: CompileRequest, reporter: Reporter = NULL_REPORTER) -> CompileResult:
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
    compiler = _Compiler(request, finder, workshop, reporter)
    try:
        return compiler.run()
    finally:
        compiler.source.close()
        workshop.close()
        finder.close()
        client.close()


class _Compiler:
    def __init__(
        self,
        request: CompileRequest,
        finder: PackageFinder,
        workshop: Workshop,
        reporter: Reporter,
    ) -> None:
        self.request = request
        self.finder = finder
        self.workshop = workshop
        self.reporter = reporter
        build_options = replace(request.build, previous=self._previous_build_pins())
        self.build_options = build_options
        self.direct = DirectSources(finder, self._provisional_metadata, request.cache_dir)
        self.source = IndexSource(
            finder,
            self._provisional_metadata,
            self.direct,
            prefetch=prefetch_enabled(os.environ),
            target=request.target,
        )
        # Provisional build environments (declared requirements only) give metadata
        # while the runtime tree is unknown; the final ones replace them.
        self.provisional = BuildLocker(
            source=self.source,
            target=request.target,
            inspector=workshop,
            options=build_options,
            runtime=None,
            hints=self._hints(),
            reporter=reporter,
        )
        self.final: BuildLocker | None = None
        workshop.env_pins = self._env_pins
        workshop.editable = self.direct.editable
        workshop.env_substitutions = self._env_substitutions

    # -- the loop ---------------------------------------------------------------

    def run(self) -> CompileResult:
        extra_runtime: list[Wanted] = []
        excluded: list[tuple[NormalizedName, Version]] = []
        first_mismatch: BuildMismatchError | None = None
        for _round in range(_MAX_ROUNDS):
            try:
                runtime = self._resolve_runtime(extra_runtime, excluded)
            except ResolutionError:
                if first_mismatch is not None:
                    raise first_mismatch from None
                raise
            locker = BuildLocker(
                source=self.source,
                target=self.request.target,
                inspector=self.workshop,
                options=self.build_options,
                runtime=runtime,
                hints=self._hints(),
                reporter=self.reporter,
            )
            self.final = locker
            to_build = [
                p.candidate.release
                for p in runtime.packages
                if p.candidate.release is not None and p.candidate.release.needs_build
            ]
            self._refuse_foreign_builds(to_build)
            try:
                builds = locker.lock_all(to_build)
            except NeedsRuntimeRequirements as needs:
                extra_runtime.extend(needs.requirements)
                continue
            except BuildMismatchError as mismatch:
                first_mismatch = first_mismatch or mismatch
                excluded.append((mismatch.sdist.name, mismatch.sdist.version))
                continue
            if not self._refresh_built_metadata(builds):
                return self._result(runtime, builds)
        raise ResolutionError(
            f"Locking did not settle after {_MAX_ROUNDS} rounds: sdist metadata kept changing "
            "with the build environments it was computed in.",
            hint="Run with -v to see which packages changed; pin them in the inputs.",
        )

    def _resolve_runtime(
        self, extra: Sequence[Wanted], excluded: Sequence[tuple[NormalizedName, Version]]
    ) -> Resolution:
        inputs = self.request.inputs
        named = tuple(_name_unnamed(u) for u in inputs.unnamed)
        requirements = (
            tuple(_wanted(r) for r in (*inputs.requirements, *named))
            + self._dynamic_requirements()
            + tuple(extra)
        )
        constraints = (
            tuple(_wanted(r) for r in inputs.constraints)
            + self.request.constraints
            + tuple(
                Wanted(requirement=r, origin="--upgrade-package")
                for r in self.request.upgrade_packages
                if r.specifier
            )
        )
        options = inputs.index_options
        runtime_request = ResolveRequest(
            requirements=requirements,
            constraints=constraints,
            preferred=self._previous_runtime_pins(),
            excluded=tuple(excluded),
            pre=self.request.settings.pre or options.pre,
            prefer_binary=self.request.settings.binary.prefer_binary or options.prefer_binary,
        )
        target = self.request.target
        self.source.expect(
            w.requirement
            for w in requirements
            if w.direct is None and target.evaluate(w.requirement.marker)
        )
        resolution, _ = resolve(self.source, self.request.target, runtime_request, self.reporter)
        return resolution

    def _dynamic_requirements(self) -> tuple[Wanted, ...]:
        """What a pyproject.toml with dynamic dependencies needs, from its own metadata:
        prepared by its backend in a locked build environment, as for any sdist."""
        wanted: list[Wanted] = []
        for project in self.request.inputs.dynamic:
            reference = DirectReference(url=project.directory.as_uri(), kind="directory")
            _release, metadata = self.direct.release(project.name, reference)
            wanted.extend(dynamic_requirements(project, metadata, self.request.target))
        return tuple(wanted)

    def _refresh_built_metadata(self, builds: Sequence[LockedBuild]) -> bool:
        """Recompute hook-made metadata in the locked environments; True if any changed."""
        changed = False
        for build in builds:
            key = build.key
            if key not in self.source.built:
                continue
            substituted = frozenset(s.package for s in build.substitutions)
            metadata = self.workshop.metadata(
                build.sdist, build.pins, dict(build.config_settings), substituted
            )
            current = self.source.metadata(build.sdist)
            if _requirements(metadata) != _requirements(current):
                self.reporter.status(
                    f"{build.sdist.name} {build.sdist.version}: metadata changed "
                    "in its locked build environment"
                )
                changed = True
            self.source.overrides[key] = metadata
        return changed

    # -- metadata through the backend ---------------------------------------------

    def _refuse_foreign_builds(self, sdists: Sequence[Release]) -> None:
        """Hooks run only in a local interpreter of the target: say so before the first."""
        target = self.request.target
        if target.interpreter is None and sdists:
            names = tuple(sorted(f"{r.name} {r.version}" for r in sdists))
            spec = f"{target.python_version}-{target.platform}"
            raise ForeignBuildError(id_of(target), spec, names)

    def _provisional_metadata(self, release: Release) -> CoreMetadata:
        self._refuse_foreign_builds((release,))
        locked = None
        if self.final is not None:
            locked = self.final.locked.get((release.name, release.version))
        if locked is None:
            locked = self.provisional.lock(release)
        substituted = frozenset(s.package for s in locked.substitutions)
        return self.workshop.metadata(
            release, locked.pins, dict(locked.config_settings), substituted
        )

    def _env_substitutions(self, release: Release) -> frozenset[NormalizedName]:
        key = (release.name, release.version)
        for locker in (self.final, self.provisional):
            if locker is not None and key in locker.locked:
                return frozenset(s.package for s in locker.locked[key].substitutions)
        return frozenset()

    def _env_pins(self, release: Release) -> Mapping[NormalizedName, Release]:
        key = (release.name, release.version)
        for locker in (self.final, self.provisional):
            if locker is not None and key in locker.locked:
                return locker.locked[key].pins
        return self.provisional.lock(release).pins

    # -- previous lock ------------------------------------------------------------

    def _hints(self) -> dict[NormalizedName, Version]:
        """Versions the runtime will most likely have: previous pins, then exact input pins."""
        hints = dict(self._previous_runtime_pins())
        for item in self.request.inputs.requirements:
            specs = list(item.requirement.specifier)
            if len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version:
                hints[item.name] = Version(specs[0].version)
        return hints

    def _kept(self, name: NormalizedName) -> bool:
        if self.request.upgrade:
            return False
        return name not in {canonicalize_name(r.name) for r in self.request.upgrade_packages}

    def _previous_runtime_pins(self) -> tuple[tuple[NormalizedName, Version], ...]:
        previous = self.request.previous
        pins = self.request.previous_pins
        if pins is None:
            pins = (
                tuple((p.name, p.version) for p in previous.runtime_packages()) if previous else ()
            )
        kept = {n: v for n, v in pins if self._kept(n)}
        kept.update(self.request.agreed)
        return tuple(sorted(kept.items()))

    def _previous_build_pins(self) -> dict[NormalizedName, dict[NormalizedName, Version]]:
        previous = self.request.previous
        pins: dict[NormalizedName, dict[NormalizedName, Version]] = {}
        for build in previous.builds if previous is not None else ():
            pins[build.package] = {n: v for n, v in build.pin_versions().items() if self._kept(n)}
        for sdist, agreed in self.request.agreed_builds.items():
            pins.setdefault(sdist, {}).update(agreed)
        return pins

    # -- the result ---------------------------------------------------------------

    def _result(self, runtime: Resolution, builds: Sequence[LockedBuild]) -> CompileResult:
        lock = assemble_lock(
            self.request, runtime, builds, self.finder, self.direct, self.source.metadata
        )
        substitutions = tuple(
            f"{b.sdist.name} {b.sdist.version} builds against {s.package}=={s.used} "
            f"(declared: {s.declared})"
            for b in builds
            for s in b.substitutions
        )
        built = tuple(sorted(f"{n} {v}" for n, v in self.source.built))
        for warning in _resolution_warnings(runtime, builds):
            self.reporter.warn(warning)
        return CompileResult(lock=lock, substitutions=substitutions, built_metadata=built)


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
    return Wanted(requirement=item.requirement, origin=item.source, direct=direct)


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
