"""``pyproject.toml`` as an input: dependencies, extras and PEP 735 dependency groups.

:func:`parse_pyproject` reads ``[project].dependencies``, the optional dependencies
asked for (``--extra``, ``--all-extras``; ``mypkg[a]`` inside mypkg's own extras means
"also extra a") and the ``--group`` dependency groups, walked through the PyPA
``dependency-groups`` package so each requirement keeps the group that lists it as
its origin. Dependencies declared ``dynamic`` become a :class:`DynamicProject` for
compile to read through the build backend. Entries are PEP 508 only (no pip paths);
errors name the line.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from dependency_groups import DependencyGroupInclude, DependencyGroupResolver
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from lock_build.errors import InputError
from lock_build.inputs._helpers import absolute_path, display_path, names_list, unique
from lock_build.inputs.model import DynamicProject, InputRequirement, InputSet, UnnamedLink
from lock_build.inputs.requirement_lines import parse_requirement, pep508

__all__ = ["parse_pyproject"]


def parse_pyproject(
    path: Path,
    *,
    extras: Sequence[str] = (),
    all_extras: bool = False,
    groups: Sequence[str] = (),
    cwd: Path | None = None,
) -> InputSet:
    """``[project].dependencies``, chosen optional dependencies and dependency groups."""
    display = display_path(path, cwd) if cwd is not None else str(path)
    absolute = absolute_path(path, cwd or Path.cwd())
    try:
        text = absolute.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{display} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read {display}: {exc}.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{display} is not valid TOML: {exc}.") from None

    base = absolute.parent
    lines = text.splitlines()
    project = data.get("project")
    groups_table = data.get("dependency-groups")
    if project is None and not (groups and groups_table is not None):
        raise InputError(
            f"{display} has no [project] table, so lock-build cannot tell its dependencies.",
            hint="Add a [project] table (PEP 621) or list the requirements in a requirements.in.",
        )
    project = project if isinstance(project, dict) else {}
    project_name = canonicalize_name(str(project.get("name", ""))) if project.get("name") else None
    dynamic = {str(d) for d in project.get("dynamic", ())}
    items: list[InputRequirement | UnnamedLink] = []

    def convert(raw: object, key: str, source: str) -> InputRequirement | UnnamedLink:
        if not isinstance(raw, str):
            raise InputError(f"{display}: {key} must be a string, not {raw!r}.")
        where = _toml_location(display, lines, raw, key)
        pep508(raw, where, raw)  # pyproject.toml allows PEP 508 only, not pip's bare paths
        return parse_requirement(raw, base=base, source=source, where=where)

    dynamic_deps = bool(project) and "dependencies" in dynamic
    dynamic_extras = bool(extras or all_extras) and "optional-dependencies" in dynamic
    if (dynamic_deps or dynamic_extras) and project_name is None:
        raise InputError(
            f"{display} declares dynamic dependencies but no [project].name.",
            hint="Name the project: the name is needed to read its metadata.",
        )
    if project and not dynamic_deps:
        dependencies = project.get("dependencies", [])
        if not isinstance(dependencies, list):
            raise InputError(f"{display}: [project].dependencies must be an array of strings.")
        for index, raw in enumerate(dependencies):
            items.append(convert(raw, f"project.dependencies[{index}]", display))

    optional = project.get("optional-dependencies", {}) if project else {}
    if not isinstance(optional, dict):
        raise InputError(f"{display}: [project.optional-dependencies] must be a table.")
    available = {canonicalize_name(k): k for k in optional}
    wanted_extras = list(available) if all_extras else [canonicalize_name(e) for e in extras]
    missing = [e for e, n in zip(extras, wanted_extras, strict=False) if n not in available]
    if missing and not all_extras and not dynamic_extras:
        raise InputError(
            f"{display} has no extra {', '.join(repr(m) for m in missing)}; "
            f"it defines {names_list(available.values())}."
        )
    for extra in [] if dynamic_extras else unique(wanted_extras):
        key = available[extra]
        values = optional[key]
        if not isinstance(values, list):
            raise InputError(f"{display}: optional-dependencies.{key} must be an array.")
        for index, raw in enumerate(values):
            items.append(
                convert(
                    raw,
                    f"project.optional-dependencies.{key}[{index}]",
                    f"{display} (extra: {extra})",
                )
            )

    if groups:
        items.extend(_dependency_groups(groups_table, groups, display, convert))

    if project_name is not None:
        items = _expand_self_references(items, project_name, optional, display, convert)
    dynamic_projects: tuple[DynamicProject, ...] = ()
    if (dynamic_deps or dynamic_extras) and project_name is not None:
        dynamic_projects = (
            DynamicProject(
                directory=base,
                name=project_name,
                source=display,
                dependencies=dynamic_deps,
                extras=tuple(unique(canonicalize_name(e) for e in extras))
                if dynamic_extras
                else (),
                all_extras=all_extras and dynamic_extras,
            ),
        )
    return InputSet(
        requirements=tuple(i for i in items if isinstance(i, InputRequirement)),
        unnamed=tuple(i for i in items if isinstance(i, UnnamedLink)),
        files=(absolute,),
        cwd=cwd,
        dynamic=dynamic_projects,
    )


# Turns one raw TOML entry into a requirement: (entry, its key path, where it came from).
_Converter = Callable[[object, str, str], "InputRequirement | UnnamedLink"]


def _dependency_groups(
    table: object,
    wanted: Sequence[str],
    display: str,
    convert: _Converter,
) -> list[InputRequirement | UnnamedLink]:
    """PEP 735 groups, read by the PyPA ``dependency-groups`` package.

    Each requirement keeps the group that lists it as its origin, so includes are walked
    here group by group (``lookup``), each group once; the package validates the table,
    normalizes the names and parses the entries."""
    if table is None:
        raise InputError(
            f"{display} has no [dependency-groups] table, so there is no group "
            f"{', '.join(repr(g) for g in wanted)}."
        )
    if not isinstance(table, dict):
        raise InputError(f"{display}: [dependency-groups] must be a table.")
    try:
        resolver = DependencyGroupResolver(table)
    except ValueError as exc:  # two keys, one normalized name
        raise InputError(
            f"{display}: [dependency-groups] has groups with the same normalized name "
            f"({str(exc).rstrip('.')})."
        ) from None
    names = {canonicalize_name(key): key for key in table}
    result: list[InputRequirement | UnnamedLink] = []
    done: set[NormalizedName] = set()

    def visit(group: str, chain: list[NormalizedName]) -> None:
        normalized = canonicalize_name(group)
        if normalized in chain:
            cycle = " -> ".join([*chain[chain.index(normalized) :], normalized])
            raise InputError(f"{display}: dependency groups include each other: {cycle}.")
        if normalized not in names:
            raise InputError(
                f"{display} has no dependency group {group!r}"
                + (f" (included by {chain[-1]!r})" if chain else "")
                + f"; it defines {names_list(names.values())}."
            )
        if normalized in done:
            return
        key = names[normalized]
        entries = table[key]
        try:
            elements = resolver.lookup(key)
        except (TypeError, ValueError, InvalidRequirement) as exc:
            if isinstance(entries, list):  # an entry that is no requirement: say where
                for index, entry in enumerate(entries):
                    if isinstance(entry, str):
                        convert(entry, f"dependency-groups.{key}[{index}]", display)
            raise InputError(
                f"{display}: each entry of dependency-groups.{key} must be a string or "
                f'{{include-group = "..."}} ({str(exc).rstrip(".")}).'
            ) from None
        for index, element in enumerate(elements):
            if isinstance(element, DependencyGroupInclude):
                visit(element.include_group, [*chain, normalized])
            else:
                result.append(
                    convert(
                        entries[index],
                        f"dependency-groups.{key}[{index}]",
                        f"{display} (group: {normalized})",
                    )
                )
        done.add(normalized)

    for group in wanted:
        visit(group, [])
    return result


def _expand_self_references(
    items: list[InputRequirement | UnnamedLink],
    project: NormalizedName,
    optional: Mapping[str, object],
    display: str,
    convert: _Converter,
) -> list[InputRequirement | UnnamedLink]:
    """``mypkg[a,b]`` inside mypkg's own extras/groups means "also extras a and b"."""
    available = {canonicalize_name(k): k for k in optional}
    result: list[InputRequirement | UnnamedLink] = []
    pending = list(items)
    seen: set[tuple[str, str | None]] = set()
    while pending:
        item = pending.pop(0)
        if not (
            isinstance(item, InputRequirement)
            and item.name == project
            and item.requirement.url is None
        ):
            result.append(item)
            continue
        marker = item.requirement.marker
        for extra in sorted(canonicalize_name(e) for e in item.requirement.extras):
            key = (extra, str(marker) if marker else None)
            if key in seen:
                continue
            seen.add(key)
            if extra not in available:
                raise InputError(
                    f"{item.location}: {project}[{extra}] names an extra that "
                    f"{display} does not define."
                )
            entries = optional[available[extra]]
            for index, raw in enumerate(entries if isinstance(entries, list) else ()):
                new = convert(
                    raw, f"project.optional-dependencies.{available[extra]}[{index}]", item.source
                )
                if marker is not None and isinstance(new, InputRequirement):
                    new = _and_marker(new, marker)
                pending.append(new)
    return result


def _and_marker(item: InputRequirement, marker: Marker) -> InputRequirement:
    req = Requirement(str(item.requirement))
    req.marker = Marker(f"({req.marker}) and ({marker})") if req.marker else marker
    return replace(item, requirement=req)


def _toml_location(display: str, lines: list[str], raw: str, key: str) -> str:
    for number, text in enumerate(lines, start=1):
        if f'"{raw}"' in text or f"'{raw}'" in text:
            return f"{display}:{number}"
    return f"{display} ({key})"
