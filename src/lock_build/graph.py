"""The runtime + build dependency graph of a lock, as a text tree, DOT or Mermaid.

A build-only package's dependencies mean the versions pinned in *its* build
environment, so edges are resolved in a context: the runtime set, or one build
environment. Everything is sorted so the same lock always draws the same graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from lock_build.errors import LockfileError
from lock_build.lockfile import BuildEnvironment, Lock, LockedPackage

FORMATS = ("text", "dot", "mermaid")


@dataclass(frozen=True, kw_only=True, slots=True)
class Edge:
    """``source`` needs ``target`` ("name==version" each), at runtime or to build."""

    source: str
    target: str
    build: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class DependencyGraph:
    nodes: tuple[str, ...]  # every package in the lock, sorted by (name, version)
    edges: tuple[Edge, ...]  # sorted, no duplicates
    roots: tuple[str, ...]  # the top-level requirements (then any runtime package left over)


def build_graph(lock: Lock) -> DependencyGraph:
    """Every package, runtime edges, and build edges from each sdist to its build requirements."""
    walker = _Walker(lock)
    edges: set[Edge] = set()
    for pkg in lock.packages:
        if pkg.runtime:
            for child in walker.dependencies(pkg, None):
                edges.add(Edge(source=pkg.key, target=child.key))
    for build in lock.builds:
        for pin in _build_members(lock, build):
            for child in walker.dependencies(pin, build):
                edges.add(Edge(source=pin.key, target=child.key))
        owner = lock.package(build.package, build.version)
        if owner is None:
            continue
        for child in walker.build_requirements(build):
            edges.add(Edge(source=owner.key, target=child.key, build=True))
    nodes = tuple(p.key for p in sorted(lock.packages, key=lambda p: (p.name, p.version)))
    return DependencyGraph(
        nodes=nodes,
        edges=tuple(sorted(edges, key=_edge_key)),
        roots=tuple(p.key for p in walker.roots()),
    )


def render_text(lock: Lock) -> str:
    """A tree from the top-level requirements, pipdeptree style; a subtree already shown
    is marked ``(*)`` instead of repeated."""
    walker = _Walker(lock)
    lines: list[str] = []
    expanded: set[tuple[str, str | None]] = set()

    def visit(pkg: LockedPackage, ctx: BuildEnvironment | None, prefix: str) -> None:
        children = list(walker.children(pkg, ctx))
        for i, (child, child_ctx, build) in enumerate(children):
            last = i == len(children) - 1
            label = ("[build] " if build else "") + child.key + _note(child, child_ctx)
            node = (child.key, child_ctx.key if child_ctx else None)
            has_children = bool(list(walker.children(child, child_ctx)))
            repeated = has_children and node in expanded
            branch = "└── " if last else "├── "
            lines.append(prefix + branch + label + (" (*)" if repeated else ""))
            if has_children and not repeated:
                expanded.add(node)
                visit(child, child_ctx, prefix + ("    " if last else "│   "))

    for root in walker.roots():
        node = (root.key, None)
        repeated = node in expanded and bool(list(walker.children(root, None)))
        lines.append(root.key + (" (*)" if repeated else ""))
        if not repeated:
            expanded.add(node)
            visit(root, None, "")
    return "\n".join(lines) + "\n" if lines else ""


def render_dot(lock: Lock) -> str:
    """Graphviz: runtime edges solid, build edges dashed and labelled ``build``."""
    return _render_dot(build_graph(lock), {p.key for p in lock.packages if not p.runtime})


def render_mermaid(lock: Lock) -> str:
    """A Mermaid flowchart: runtime edges ``-->``, build edges dotted and labelled."""
    return _render_mermaid(build_graph(lock))


@dataclass(frozen=True, kw_only=True, slots=True)
class GraphQuery:
    """``--why P`` (every chain from an input to P), ``--package P`` (P's subtree),
    ``--invert`` (dependents instead of dependencies)."""

    why: NormalizedName | None = None
    package: NormalizedName | None = None
    invert: bool = False

    @property
    def empty(self) -> bool:
        return self.why is None and self.package is None and not self.invert


class GraphQueryError(LockfileError):
    """A ``--why`` or ``--package`` name the lock does not hold."""

    def __init__(self, message: str, *, package: NormalizedName, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.package = package


_MAX_CHAINS = 200  # --why on a dense graph: enough to answer, few enough to read


def render_graph(lock: Lock, fmt: str, query: GraphQuery = GraphQuery()) -> str:
    """Dispatch on a format name from ``FORMATS``; every format honours ``query``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown graph format {fmt!r}")
    if query.empty:
        renderers = {"text": render_text, "dot": render_dot, "mermaid": render_mermaid}
        return renderers[fmt](lock)
    if fmt == "text" and query.why is not None:
        forward = select(build_graph(lock), GraphQuery(why=query.why), lock)
        return _render_chains(forward, query.why, inverted=query.invert)
    graph = select(build_graph(lock), query, lock)
    if fmt == "text":
        return _render_tree(graph)
    build_only = {p.key for p in lock.packages if not p.runtime}
    return _render_dot(graph, build_only) if fmt == "dot" else _render_mermaid(graph)


def select(graph: DependencyGraph, query: GraphQuery, lock: Lock) -> DependencyGraph:
    """The part of ``graph`` a query asks for, as a graph of its own (edges reversed
    under ``invert``; roots are where the text tree starts)."""
    edges = graph.edges
    roots = graph.roots
    if query.why is not None:
        targets = _nodes_named(graph, query.why, lock)
        keep = _reachable(roots, edges) & _reachable(targets, edges, backwards=True)
        edges = tuple(e for e in edges if e.source in keep and e.target in keep)
        roots = tuple(r for r in roots if r in keep)
        if query.invert:
            edges, roots = _reversed(edges), targets
        return DependencyGraph(nodes=_in(graph.nodes, keep), edges=edges, roots=roots)
    return _select_subtree(graph, query, lock)


def _select_subtree(graph: DependencyGraph, query: GraphQuery, lock: Lock) -> DependencyGraph:
    edges, roots = graph.edges, graph.roots
    if query.invert:
        edges = _reversed(edges)
        sources = {e.source for e in graph.edges}
        roots = tuple(n for n in graph.nodes if n not in sources)  # depend on nothing
    if query.package is not None:
        roots = _nodes_named(graph, query.package, lock)
        keep = _reachable(roots, edges)
        edges = tuple(e for e in edges if e.source in keep and e.target in keep)
        return DependencyGraph(nodes=_in(graph.nodes, keep), edges=edges, roots=roots)
    return DependencyGraph(nodes=graph.nodes, edges=edges, roots=roots)


def chains(graph: DependencyGraph, target: NormalizedName) -> list[tuple[Edge, ...]]:
    """Every path of edges from a root to a node named ``target``, shortest first."""
    children: dict[str, list[Edge]] = {}
    for edge in graph.edges:
        children.setdefault(edge.source, []).append(edge)
    found: list[tuple[Edge, ...]] = []

    def walk(node: str, path: tuple[Edge, ...], seen: frozenset[str]) -> None:
        if len(found) >= _MAX_CHAINS:
            return
        if _sort_key(node)[0] == target and path:
            found.append(path)
            return
        for edge in children.get(node, ()):
            if edge.target not in seen:
                walk(edge.target, (*path, edge), seen | {edge.target})

    for root in graph.roots:
        if _sort_key(root)[0] == target:
            found.append(())  # the input asks for it directly
        walk(root, (), frozenset({root}))
    return sorted(found, key=lambda chain: (len(chain), [_edge_key(e) for e in chain]))


def _render_chains(graph: DependencyGraph, why: NormalizedName, *, inverted: bool) -> str:
    """One line per chain: ``app==1 -> pyworld==0.3.5 -[build]-> numpy==2.2.6``; inverted,
    from the package back to the input: ``numpy==2.2.6 <-[build]- pyworld==0.3.5 <- app==1``."""
    lines = []
    for chain in chains(graph, why):
        if not chain:
            root = next((r for r in graph.roots if _sort_key(r)[0] == why), str(why))
            lines.append(f"{root} (an input requirement)")
            continue
        if inverted:
            words = [chain[-1].target]
            for edge in reversed(chain):
                words.append(("<-[build]- " if edge.build else "<- ") + edge.source)
        else:
            words = [chain[0].source]
            for edge in chain:
                words.append(("-[build]-> " if edge.build else "-> ") + edge.target)
        lines.append(" ".join(words))
    if len(lines) >= _MAX_CHAINS:
        lines.append(f"... (the first {_MAX_CHAINS} chains)")
    return "\n".join(lines) + "\n" if lines else ""


def _render_tree(graph: DependencyGraph) -> str:
    children: dict[str, list[Edge]] = {}
    for edge in graph.edges:
        children.setdefault(edge.source, []).append(edge)
    lines: list[str] = []
    expanded: set[str] = set()

    def visit(node: str, prefix: str) -> None:
        edges = children.get(node, [])
        for i, edge in enumerate(edges):
            last = i == len(edges) - 1
            repeated = edge.target in expanded and bool(children.get(edge.target))
            label = ("[build] " if edge.build else "") + edge.target
            lines.append(
                prefix + ("└── " if last else "├── ") + label + (" (*)" if repeated else "")
            )
            if not repeated:
                expanded.add(edge.target)
                visit(edge.target, prefix + ("    " if last else "│   "))

    for root in graph.roots:
        repeated = root in expanded and bool(children.get(root))
        lines.append(root + (" (*)" if repeated else ""))
        if not repeated:
            expanded.add(root)
            visit(root, "")
    return "\n".join(lines) + "\n" if lines else ""


def _render_dot(graph: DependencyGraph, build_only: set[str]) -> str:
    # Build-only packages dashed, as their build edges are.
    lines = ["digraph dependencies {", "    node [shape=box];"]
    for node in graph.nodes:
        style = " [style=dashed]" if node in build_only else ""
        lines.append(f"    {_dot_id(node)}{style};")
    for edge in graph.edges:
        attrs = ' [style=dashed, label="build"]' if edge.build else ""
        lines.append(f"    {_dot_id(edge.source)} -> {_dot_id(edge.target)}{attrs};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _render_mermaid(graph: DependencyGraph) -> str:
    ids = {node: f"n{i}" for i, node in enumerate(graph.nodes)}
    lines = ["flowchart TD"]
    for node in graph.nodes:
        lines.append(f'    {ids[node]}["{node}"]')
    for edge in graph.edges:
        arrow = " -. build .-> " if edge.build else " --> "
        lines.append(f"    {ids[edge.source]}{arrow}{ids[edge.target]}")
    return "\n".join(lines) + "\n"


def _nodes_named(graph: DependencyGraph, name: NormalizedName, lock: Lock) -> tuple[str, ...]:
    nodes = tuple(n for n in graph.nodes if _sort_key(n)[0] == name)
    if not nodes:
        raise GraphQueryError(
            f"{name} is not in the lock.",
            package=name,
            hint="lock-build graph lists every package it holds.",
        )
    return nodes


def _reachable(
    starts: Iterable[str], edges: Iterable[Edge], *, backwards: bool = False
) -> set[str]:
    step: dict[str, list[str]] = {}
    for edge in edges:
        a, b = (edge.target, edge.source) if backwards else (edge.source, edge.target)
        step.setdefault(a, []).append(b)
    seen = set(starts)
    stack = list(seen)
    while stack:
        for nxt in step.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _reversed(edges: Iterable[Edge]) -> tuple[Edge, ...]:
    flipped = {Edge(source=e.target, target=e.source, build=e.build) for e in edges}
    return tuple(sorted(flipped, key=_edge_key))


def _in(nodes: tuple[str, ...], keep: set[str]) -> tuple[str, ...]:
    return tuple(n for n in nodes if n in keep)


class _Walker:
    """Resolves dependency names to lock entries, in the runtime set or a build environment."""

    def __init__(self, lock: Lock) -> None:
        self.lock = lock
        self.runtime = {p.name: p for p in lock.packages if p.runtime}
        self.names = {p.name for p in lock.packages}

    def resolve(self, name: NormalizedName, ctx: BuildEnvironment | None) -> LockedPackage | None:
        if ctx is not None:
            version = ctx.pin_versions().get(name)
            if version is not None:
                found = self.lock.package(name, version)
                if found is not None:
                    return found
        # A non-isolated build (or an incomplete pin list) uses the runtime version.
        return self.runtime.get(name)

    def dependencies(
        self, pkg: LockedPackage, ctx: BuildEnvironment | None
    ) -> Iterator[LockedPackage]:
        for name in sorted(set(pkg.dependencies)):
            found = self.resolve(name, ctx)
            if found is not None and found.key != pkg.key:
                yield found

    def build_requirements(self, build: BuildEnvironment) -> list[LockedPackage]:
        """The build environment's direct requirements, then any pin nothing else explains
        (so the tree never hides a package the build installs)."""
        direct: dict[str, LockedPackage] = {}
        for text in (*build.requires, *build.dynamic_requires, *build.extra_requires):
            try:
                name = canonicalize_name(Requirement(text).name)
            except InvalidRequirement:
                continue
            found = self.resolve(name, build)
            if found is not None:
                direct[found.key] = found
        reached = set(direct)
        stack = list(direct.values())
        while stack:
            for child in self.dependencies(stack.pop(), build):
                if child.key not in reached:
                    reached.add(child.key)
                    stack.append(child)
        for pin in _build_members(self.lock, build):
            if pin.key not in reached:
                direct[pin.key] = pin
        return sorted(direct.values(), key=lambda p: (p.name, p.version))

    def children(
        self, pkg: LockedPackage, ctx: BuildEnvironment | None
    ) -> Iterator[tuple[LockedPackage, BuildEnvironment | None, bool]]:
        """(child, the context its own dependencies resolve in, whether it is a build edge)."""
        for child in self.dependencies(pkg, ctx):
            yield child, ctx, False
        if pkg.needs_build_for(self.lock.tags()):
            build = self.lock.build_for(pkg.name, pkg.version)
            if build is not None:
                for child in self.build_requirements(build):
                    yield child, build, True

    def roots(self) -> list[LockedPackage]:
        """Runtime packages the inputs asked for, then runtime packages nothing reaches."""
        runtime = sorted(self.runtime.values(), key=lambda p: p.name)
        roots = [p for p in runtime if any(o.kind == "input" for o in self.lock.origins(p))]
        reached = {p.key for p in roots}
        stack = list(roots)
        while stack:
            for child in self.dependencies(stack.pop(), None):
                if child.key not in reached:
                    reached.add(child.key)
                    stack.append(child)
        depended_on = {d for p in runtime for d in p.dependencies}
        # Leftovers: first those no runtime package depends on, then (cycles) the rest.
        leftovers = [p for p in runtime if p.key not in reached]
        for pkg in sorted(leftovers, key=lambda p: (p.name in depended_on, p.name)):
            if pkg.key in reached:
                continue
            roots.append(pkg)
            reached.add(pkg.key)
            stack = [pkg]
            while stack:
                for child in self.dependencies(stack.pop(), None):
                    if child.key not in reached:
                        reached.add(child.key)
                        stack.append(child)
        return roots


def _build_members(lock: Lock, build: BuildEnvironment) -> list[LockedPackage]:
    members = []
    for name, version in sorted(build.pin_versions().items()):
        pkg = lock.package(name, version)
        if pkg is not None:
            members.append(pkg)
    return members


def _note(pkg: LockedPackage, ctx: BuildEnvironment | None) -> str:
    if ctx is None:
        return ""
    for sub in ctx.substitutions:
        if sub.package == pkg.name:
            return f" (substitution: declared {sub.declared})"
    return ""


def _edge_key(edge: Edge) -> tuple[tuple[str, Version], tuple[str, Version], bool]:
    return _sort_key(edge.source), _sort_key(edge.target), edge.build


def _sort_key(key: str) -> tuple[str, Version]:
    name, _, version = key.partition("==")
    return name, Version(version)


def _dot_id(node: str) -> str:
    return '"' + node.replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = [
    "DependencyGraph",
    "Edge",
    "FORMATS",
    "GraphQuery",
    "GraphQueryError",
    "build_graph",
    "chains",
    "render_dot",
    "render_graph",
    "render_mermaid",
    "render_text",
    "select",
]
