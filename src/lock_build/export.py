"""The lock in other tools' formats: requirements.txt, build-constraints.txt, pylock.toml.

Pure functions: a ``Lock`` in, text plus warnings out. Each format expresses less than
the lock does (none of them can hold per-sdist build environments), so each says what
it dropped, either as a warning or, where the result would be wrong, as an error.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import tomlkit
from packaging.markers import InvalidMarker, Marker
from packaging.pylock import (
    Package,
    PackageDirectory,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    Pylock,
    PylockValidationError,
)
from packaging.utils import NormalizedName
from packaging.version import Version

from lock_build.errors import LockfileError
from lock_build.lockfile import LocalSource, Lock, LockedFile, LockedPackage
from lock_build.redaction import redact
from lock_build.settings import PYPI_SIMPLE
from lock_build.yanks import yanked_notes

FORMATS = ("requirements", "build-constraints", "pylock")

# Markers that describe the target for PEP 751 `environments`. Kernel release/version
# strings and the patch-level Python version would pin the file to one machine build.
_ENVIRONMENT_MARKERS = (
    "implementation_name",
    "os_name",
    "platform_machine",
    "platform_python_implementation",
    "platform_system",
    "python_version",
    "sys_platform",
)
_VCS_SCHEMES = ("git", "hg", "svn", "bzr")


@dataclass(frozen=True, kw_only=True, slots=True)
class ExportResult:
    """An exported file's text, and what the user must know about it."""

    text: str
    warnings: tuple[str, ...] = ()


class BuildConstraintsError(LockfileError):
    """The lock's build environments cannot be reproduced by one global constraints set."""

    def __init__(self, message: str, *, packages: tuple[str, ...], hint: str | None = None):
        super().__init__(message, hint=hint)
        # The packages (or sdists) that make a single set impossible, for callers and tests.
        self.packages = packages


# --- requirements.txt ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class RequirementsStyle:
    """pip-compile's output flags: ``--no-header``, ``--no-annotate``,
    ``--annotation-style``, ``--no-emit-index-url``, ``--no-emit-find-links``,
    ``--no-emit-package`` (``--unsafe-package``). Pins never carry extras, so
    ``--strip-extras`` has nothing to change."""

    header: bool = True
    annotate: bool = True
    annotation_style: str = "split"  # "split" (own lines) | "line" (after the pin)
    emit_index_url: bool = True
    emit_find_links: bool = True
    exclude: frozenset[NormalizedName] = frozenset()


def export_requirements(
    lock: Lock, *, command: str | None = None, style: RequirementsStyle = RequirementsStyle()
) -> ExportResult:
    """A pip-compile style requirements.txt of the runtime packages.

    Accepted by ``pip install --require-hashes --no-deps -r`` as long as every entry has a
    hash; local directories and VCS checkouts cannot, so they are written (pip needs them)
    and named in a warning.
    """
    lines = _header(lock, command, "requirements") if style.header else []
    lines.extend(_index_lines(lock, style))
    packages = sorted(lock.runtime_packages(), key=lambda p: (p.name, p.version))
    body, warnings = requirement_lines(((pkg, "") for pkg in packages), style)
    lines.extend(body)
    return ExportResult(text="\n".join(lines) + "\n", warnings=warnings)


def requirement_lines(
    entries: Iterable[tuple[LockedPackage, str | None]], style: RequirementsStyle
) -> tuple[list[str], tuple[str, ...]]:
    """pip-compile's lines for each (package, PEP 508 marker or None): the pin, every hash,
    ``# via`` as ``style`` asks; and the warning naming the entries that have no hash."""
    lines: list[str] = []
    unhashed: list[str] = []
    for pkg, marker in entries:
        if pkg.name in style.exclude:
            continue
        spec, hashes = _requirement_line(pkg)
        if marker:
            spec += f" ; {marker}"
        inline = ""
        if style.annotate and style.annotation_style == "line" and pkg.via:
            inline = "    # via " + ", ".join(sorted(set(pkg.via)))
        if not hashes:
            unhashed.append(_describe_unhashed(pkg))
            lines.append(spec + inline)
        else:
            lines.append(spec + " \\")
            rows = [f"    --hash=sha256:{h}" for h in hashes]
            lines.extend(row + " \\" for row in rows[:-1])
            lines.append(rows[-1] + inline)
        if style.annotate and style.annotation_style == "split":
            lines.extend(_via_lines(pkg.via))
    if not unhashed:
        return lines, ()
    return lines, (
        f"{len(unhashed)} {'entry has' if len(unhashed) == 1 else 'entries have'} no hash "
        f"({', '.join(unhashed)}): pip install --require-hashes refuses such entries; "
        "install them separately, or drop --require-hashes.",
    )


def _index_lines(lock: Lock, style: RequirementsStyle = RequirementsStyle()) -> list[str]:
    """Where the locked files came from, as pip-compile writes it (credentials were never
    recorded; pip finds them in its own configuration or netrc). PyPI needs no line."""
    indexes = list(lock.options.get("index-urls", ())) if style.emit_index_url else []
    find_links = list(lock.options.get("find-links", ())) if style.emit_find_links else []
    lines = []
    if indexes and indexes[0].rstrip("/") != PYPI_SIMPLE:
        lines.append(f"--index-url {indexes[0]}")
    elif not indexes and lock.options and style.emit_index_url:
        lines.append("--no-index")
    lines.extend(f"--extra-index-url {url}" for url in indexes[1:])
    lines.extend(f"--find-links {link}" for link in find_links)
    return [*lines, ""] if lines else []


def _requirement_line(pkg: LockedPackage) -> tuple[str, list[str]]:
    """The requirement for one package and the hashes that go with it."""
    if pkg.source is not None and not pkg.wheels and pkg.sdist is None:
        return _source_requirement(pkg.name, pkg.source), []
    # Every file of the version, as pip-compile --generate-hashes writes them: the export
    # installs wherever the same versions apply, whichever file pip picks there.
    files = [*pkg.wheels, *([pkg.sdist] if pkg.sdist else [])]
    hashes = sorted({f.sha256 for f in files if f.sha256})
    # A lone file that came from no index was a direct URL in the inputs: point pip at
    # it, since `name==version` would make pip look it up on an index that lacks it.
    direct = files[0] if len(files) == 1 and files[0].index is None else None
    if direct is not None and _is_url(direct.url):
        return f"{pkg.name} @ {direct.url}", hashes
    return f"{pkg.name}=={pkg.version}", hashes


def _source_requirement(name: NormalizedName, source: LocalSource) -> str:
    if source.kind == "vcs":
        url = _vcs_url(source)
        if source.editable:
            return f"-e {url}#egg={name}" + (
                f"&subdirectory={source.subdirectory}" if source.subdirectory else ""
            )
        return f"{name} @ {url}" + (
            f"#subdirectory={source.subdirectory}" if source.subdirectory else ""
        )
    path = _local_path(source.url)
    return f"-e {path}" if source.editable else path


def _vcs_url(source: LocalSource) -> str:
    url = source.url if _vcs_scheme(source.url) else f"git+{source.url}"
    return f"{url}@{source.commit}" if source.commit else url


def _vcs_scheme(url: str) -> str | None:
    match = re.match(r"^([a-z]+)\+", url)
    return match.group(1) if match and match.group(1) in _VCS_SCHEMES else None


def _local_path(path: str) -> str:
    # pip reads a bare word as a project name; a path must look like one.
    if path.startswith(("/", "./", "../", "file:")) or re.match(r"^[A-Za-z]:[\\/]", path):
        return path
    return f"./{path}"


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://", "file://"))


def _describe_unhashed(pkg: LockedPackage) -> str:
    if pkg.source is not None and pkg.source.kind == "vcs":
        return f"{pkg.name} (VCS {pkg.source.url})"
    if pkg.source is not None:
        return f"{pkg.name} (local directory {pkg.source.url})"
    return f"{pkg.name} (no sha256 recorded)"


def _via_lines(via: Iterable[str]) -> list[str]:
    """pip-compile's annotation: one source inline, several one per line, sorted."""
    sources = sorted(set(via))
    if not sources:
        return []
    if len(sources) == 1:
        return [f"    # via {sources[0]}"]
    return ["    # via", *(f"    #   {s}" for s in sources)]


def _header(lock: Lock, command: str | None, what: str) -> list[str]:
    """pip-compile's header, plus the command that made the lock this file comes from."""
    python = lock.target.get("python-version") if isinstance(lock.target, Mapping) else None
    lines = [
        "#",
        "# This file is autogenerated by lock-build" + (f" with Python {python}" if python else ""),
        "# by the following command:",
        "#",
        f"#    {command or f'lock-build export --format {what}'}",
        "#",
    ]
    if lock.command:
        # A lock is untrusted input: never repeat a credential an older writer kept.
        lines += [f"# from a lockfile made by: {redact(lock.command, keep_user=False)}", "#"]
    return lines


# --- build-constraints.txt ----------------------------------------------------------------


def export_build_constraints(lock: Lock, *, command: str | None = None) -> ExportResult:
    """One global set pinning every package of every build environment.

    pip's ``--build-constraint`` and uv's ``--build-constraints`` apply one set to every
    build, so this is exact only when every build environment agrees on each version and
    none was substituted (a constraint narrows a declared requirement, it never overrides
    one) or built without isolation. Otherwise it refuses rather than write a file that
    would build something else than the lock says.
    """
    versions: dict[NormalizedName, dict[Version, set[str]]] = defaultdict(lambda: defaultdict(set))
    used_by: dict[NormalizedName, set[str]] = defaultdict(set)
    problems: list[str] = []
    culprits: set[str] = set()
    for build in sorted(lock.builds, key=lambda b: (b.package, b.version)):
        for name, version in build.pin_versions().items():
            versions[name][version].add(build.key)
            used_by[name].add(f"{build.package} (build)")
        for sub in sorted(build.substitutions, key=lambda s: s.package):
            culprits.add(sub.package)
            problems.append(
                f"{build.key} is built against {sub.package}=={sub.used} instead of "
                f"{sub.declared} (a substitution)"
            )
        if not build.isolated:
            culprits.add(build.package)
            problems.append(
                f"{build.key} is built without isolation, against the runtime environment"
            )
    for name in sorted(versions):
        if len(versions[name]) > 1:
            culprits.add(name)
            detail = "; ".join(
                f"{name}=={v} for {', '.join(sorted(keys))}"
                for v, keys in sorted(versions[name].items())
            )
            problems.append(f"build environments differ on {name} ({detail})")
    if problems:
        raise BuildConstraintsError(
            "One global build-constraints set cannot reproduce this lock's build environments: "
            + "; ".join(problems)
            + ".",
            packages=tuple(sorted(culprits)),
            hint="lock-build plan can express them (lock-build plan --format shell gives plain "
            "pip commands); lock-build sync installs them as locked.",
        )

    lines = _header(lock, command, "build-constraints")
    for name in sorted(versions):
        (version,) = versions[name]
        lines.append(f"{name}=={version}")
        lines.extend(_via_lines(used_by[name]))
    warnings: tuple[str, ...] = ()
    if not lock.builds:
        warnings = (
            "The lock has no build environments (every package has a wheel), "
            "so the build constraints are empty.",
        )
    return ExportResult(text="\n".join(lines) + "\n", warnings=warnings)


# --- pylock.toml --------------------------------------------------------------------------


def export_pylock(lock: Lock, *, command: str | None = None) -> ExportResult:
    """A PEP 751 ``pylock.toml`` of the runtime packages, built with ``packaging.pylock``."""
    packages = [
        _pylock_package(pkg)
        for pkg in sorted(lock.runtime_packages(), key=lambda p: (p.name, p.version))
    ]
    pylock = validated_pylock(packages, _environments(lock.target))
    warnings = pylock_build_warnings(lock)
    unhashed = [_describe_unhashed(p) for p in lock.runtime_packages() if p.source is not None]
    if unhashed:
        warnings.append(f"Entries without a hash: {', '.join(sorted(unhashed))}.")
    header = "\n".join(_header(lock, command, "pylock")) + "\n"
    return ExportResult(text=header + _pylock_toml(pylock.to_dict()), warnings=tuple(warnings))


def _environments(target: Mapping[str, Any]) -> list[Marker] | None:
    markers = target.get("markers") if isinstance(target, Mapping) else None
    if not isinstance(markers, Mapping):
        return None
    clauses = [
        f'{key} == "{markers[key]}"'
        for key in _ENVIRONMENT_MARKERS
        if isinstance(markers.get(key), str) and '"' not in markers[key]
    ]
    if not clauses:
        return None
    try:
        return [Marker(" and ".join(clauses))]
    except InvalidMarker:
        return None


def validated_pylock(packages: list[Package], environments: list[Marker] | None) -> Pylock:
    """A PEP 751 document of ``packages``, checked by ``packaging.pylock`` before writing."""
    pylock = Pylock(
        lock_version=Version("1.0"),
        environments=environments,
        created_by="lock-build",
        packages=packages,
    )
    try:
        pylock.validate()
    except PylockValidationError as exc:
        raise LockfileError(
            f"The lock cannot be written as a valid pylock.toml ({exc}).",
            hint="Regenerate the lock with lock-build compile; if that does not help, "
            "report it as a bug.",
        ) from None
    return pylock


def pylock_build_warnings(lock: Lock) -> list[str]:
    """What a pylock.toml of ``lock`` loses: its locked build environments."""
    if not lock.builds:
        return []
    names = ", ".join(sorted({b.package for b in lock.builds}))
    return [
        f"pylock.toml cannot express build environments: the locked builds of {names} "
        "are not in it, so an installer will build them against whatever it resolves. "
        "Use lock-build sync, or lock-build plan, to build them as locked."
    ]


def _pylock_package(pkg: LockedPackage) -> Package:
    requires_python = pkg.requires_python
    common: dict[str, Any] = {
        "name": pkg.name,
        "version": pkg.version,
        "requires_python": requires_python,
        "dependencies": [{"name": d} for d in sorted(pkg.dependencies)] or None,
    }
    if not pkg.wheels and pkg.sdist is None and pkg.source is not None:
        return _pylock_direct(pkg, pkg.source, common)
    files = [*pkg.wheels, *([pkg.sdist] if pkg.sdist else [])]
    index = next((f.index for f in files if f.index and _is_url(f.index)), None)
    return Package(
        **common,
        index=index,
        wheels=[_pylock_file(PackageWheel, w) for w in pkg.wheels] or None,
        sdist=_pylock_file(PackageSdist, pkg.sdist) if pkg.sdist else None,
    )


def _pylock_file(cls: type[PackageWheel] | type[PackageSdist], file: LockedFile) -> Any:
    return cls(
        name=file.filename,
        url=file.url,
        size=file.size,
        upload_time=file.upload_time,
        hashes={"sha256": file.sha256},
    )


def _pylock_direct(pkg: LockedPackage, source: LocalSource, common: dict[str, Any]) -> Package:
    # PEP 751 lets direct sources omit the version; ours was read from the built metadata.
    if source.kind == "vcs":
        if not source.commit:
            raise LockfileError(
                f"{pkg.key} comes from VCS {source.url} without a resolved commit; "
                "PEP 751 requires one.",
                hint="Regenerate the lock with lock-build compile.",
            )
        scheme = _vcs_scheme(source.url)
        url = source.url.split("+", 1)[1] if scheme else source.url
        return Package(
            **common,
            vcs=PackageVcs(
                type=scheme or "git",
                url=url,
                commit_id=source.commit,
                subdirectory=source.subdirectory,
            ),
        )
    return Package(
        **common,
        directory=PackageDirectory(
            path=source.url,
            editable=True if source.editable else None,
            subdirectory=source.subdirectory,
        ),
    )


def _pylock_toml(data: Mapping[str, Any]) -> str:
    """TOML in the shape PEP 751's examples use: one [[packages]] table per package,
    its files as inline tables."""
    doc = tomlkit.document()
    for key, value in data.items():
        if key == "environments":
            # Literal strings: markers are full of double quotes.
            array = tomlkit.array()
            array.extend(tomlkit.string(v, literal="'" not in v) for v in value)
            doc[key] = array
        elif key != "packages":
            doc[key] = value
    packages = tomlkit.aot()
    for package in data.get("packages", ()):
        table = tomlkit.table()
        for key, value in package.items():
            if isinstance(value, Mapping):
                table[key] = _inline(value)
            elif isinstance(value, list) and value and isinstance(value[0], Mapping):
                array = tomlkit.array()
                for item in value:
                    array.append(_inline(item))
                array.multiline(True)
                table[key] = array
            else:
                table[key] = value
        packages.append(table)
    doc["packages"] = packages
    return tomlkit.dumps(doc)


def _inline(value: Mapping[str, Any]) -> Any:
    table = tomlkit.inline_table()
    for key, item in value.items():
        table[key] = _inline(item) if isinstance(item, Mapping) else item
    return table


def export(
    lock: Lock,
    fmt: str,
    *,
    command: str | None = None,
    style: RequirementsStyle = RequirementsStyle(),
) -> ExportResult:
    """Dispatch on a format name from ``FORMATS``; ``style`` applies to requirements.

    Every format carries the lock's yanked releases as warnings (none can say it)."""
    if fmt == "requirements":
        result = export_requirements(lock, command=command, style=style)
    elif fmt == "build-constraints":
        result = export_build_constraints(lock, command=command)
    elif fmt == "pylock":
        result = export_pylock(lock, command=command)
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    return replace(result, warnings=(*result.warnings, *yanked_notes(lock.packages)))


__all__ = [
    "BuildConstraintsError",
    "ExportResult",
    "FORMATS",
    "RequirementsStyle",
    "export",
    "export_build_constraints",
    "export_pylock",
    "export_requirements",
    "pylock_build_warnings",
    "requirement_lines",
    "validated_pylock",
]
