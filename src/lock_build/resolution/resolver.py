"""Run one resolution and turn resolvelib's result (or failure) into our values."""

from __future__ import annotations

from collections import defaultdict

from packaging.utils import NormalizedName
from resolvelib import BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from lock_build.errors import ResolutionError
from lock_build.reporting import NULL_REPORTER, Reporter, Resolving
from lock_build.resolution.explain import Derivations, conflicts, unknown_extras_warning
from lock_build.resolution.model import (
    Candidate,
    PackageSource,
    Resolution,
    ResolvedPackage,
    ResolveRequest,
    Wanted,
)
from lock_build.resolution.provider import Provider, split_identifier
from lock_build.target import Target

# resolvelib counts rounds, not seconds; pip uses 200k. A real stack needs a few hundred.
MAX_ROUNDS = 200_000


class ProgressReporter(BaseReporter):  # type: ignore[type-arg]
    """Forwards resolvelib's hooks to our reporter's status line, and keeps who asked
    for what (``derivations``) to explain a conflict from the inputs down."""

    def __init__(self, reporter: Reporter, context: str) -> None:
        self._reporter = reporter
        self._context = context
        self._pinned = 0
        self.derivations = Derivations()

    def adding_requirement(self, requirement: Wanted, parent: Candidate | None) -> None:
        self.derivations.record(requirement, parent)

    def pinning(self, candidate: Candidate) -> None:
        self._pinned += 1
        self._reporter.resolving(
            Resolving(context=self._context, pinned=self._pinned, candidate=str(candidate))
        )


def resolve(
    source: PackageSource,
    target: Target,
    request: ResolveRequest,
    reporter: Reporter = NULL_REPORTER,
) -> tuple[Resolution, Provider]:
    """Resolve ``request``; the provider is returned for what it observed (overrides used)."""
    provider = Provider(source, target, request)
    progress = ProgressReporter(reporter, request.context)
    resolver = Resolver(provider, progress)
    roots = [w for w in request.requirements if target.evaluate(w.requirement.marker)]
    try:
        result = resolver.resolve(roots, max_rounds=MAX_ROUNDS)
    except ResolutionImpossible as exc:
        found = conflicts(
            exc.causes,
            source,
            derivations=progress.derivations,
            satisfies=provider.is_satisfied_by,
            rejected=provider.rejected,
        )
        raise ResolutionError(
            conflicts=found,
            context=request.context,
            constraints=tuple(c.requirement for c in request.constraints),
        ) from None
    except ResolutionTooDeep:
        raise ResolutionError(
            f"Resolution{' of ' + request.context if request.context else ''} gave up after "
            f"{MAX_ROUNDS} rounds of backtracking.",
            context=request.context,
            hint="Narrow the requirements (add lower bounds to the packages that backtrack).",
        ) from None
    return _collect(result, provider), provider


def _collect(result: object, provider: Provider) -> Resolution:
    mapping = result.mapping  # type: ignore[attr-defined]
    graph = result.graph  # type: ignore[attr-defined]
    criteria = result.criteria  # type: ignore[attr-defined]
    via: dict[NormalizedName, set[str]] = defaultdict(set)
    deps: dict[NormalizedName, set[NormalizedName]] = defaultdict(set)
    for identifier, criterion in criteria.items():
        name, _ = split_identifier(identifier)
        for info in criterion.information:
            if info.parent is None:
                if info.requirement.origin:
                    via[name].add(info.requirement.origin)
            elif info.parent.name != name:
                via[name].add(info.parent.name)
    for identifier in mapping:
        name, _ = split_identifier(identifier)
        for child in graph.iter_children(identifier):
            child_name, _ = split_identifier(child)
            if child_name != name:
                deps[name].add(child_name)
    packages: dict[NormalizedName, ResolvedPackage] = {}
    for identifier, candidate in sorted(mapping.items()):
        name, _ = split_identifier(identifier)
        if name in packages:
            continue
        base = mapping.get(name, candidate)
        assert base.release is not None
        packages[name] = ResolvedPackage(
            candidate=base.without_extras(),
            metadata=provider.source.metadata(base.release),
            dependencies=tuple(sorted(deps[name])),
            via=tuple(sorted(via[name])),
        )
    warnings = [
        unknown_extras_warning(candidate, provider.source.metadata(candidate.release))
        for _, candidate in sorted(mapping.items())
        if candidate.extras and candidate.release is not None
    ]
    return Resolution(
        packages=tuple(packages[n] for n in sorted(packages)),
        warnings=tuple(w for w in warnings if w is not None),
    )


__all__ = [
    "MAX_ROUNDS",
    "ProgressReporter",
    "resolve",
]
