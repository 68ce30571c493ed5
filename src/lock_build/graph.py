"""The runtime + build dependency graph of a lock, as a text tree, DOT or Mermaid.

A build-only package's dependencies mean the versions pinned in *its* build
environment, so edges are resolved in a context: the runtime set, or one build
environment. Everything is sorted so the same lock always draws the same graph.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

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
    graph = build_graph(lock)
    runtime = {p.key for p in lock.packages if p.runtime}
    lines = ["digraph dependencies {", "    node [shape=box];"]
    for node in graph.nodes:
        style = "" if node in runtime else " [style=dashed]"  # build-only package
        lines.append(f"    {_dot_id(node)}{style};")
    for edge in graph.edges:
        attrs = ' [style=dashed, label="build"]' if edge.build else ""
        lines.append(f"    {_dot_id(edge.source)} -> {_dot_id(edge.target)}{attrs};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_mermaid(lock: Lock) -> str:
    """A Mermaid flowchart: runtime edges ``-->``, build edges dotted and labelled."""
    graph = build_graph(lock)
    ids = {node: f"n{i}" for i, node in enumerate(graph.nodes)}
    lines = ["flowchart TD"]
    for node in graph.nodes:
        lines.append(f'    {ids[node]}["{node}"]')
    for edge in graph.edges:
        arrow = " -. build .-> " if edge.build else " --> "
        lines.append(f"    {ids[edge.source]}{arrow}{ids[edge.target]}")
    return "\n".join(lines) + "\n"


def render_graph(lock: Lock, fmt: str) -> str:
    """Dispatch on a format name from ``FORMATS``."""
    renderers = {"text": render_text, "dot": render_dot, "mermaid": render_mermaid}
    try:
        return renderers[fmt](lock)
    except KeyError:
        raise ValueError(f"unknown graph format {fmt!r}") from None


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
