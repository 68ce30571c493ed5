"""PEP 517 hooks run in a pinned :class:`BuildEnvironment`, failures as :class:`BuildError`.

Before any hook runs we check that the environment satisfies the sdist's static
build requirements, transitively: a lock whose build pins are incomplete would
otherwise fail deep inside a backend with an ImportError, or worse, succeed
against whatever the backend falls back to.

Messages name the sdist by ``source_dir.name``: unpack sdists into ``<name>-<version>``.
``pyproject_hooks`` re-raises a backend's warnings in the calling process; they go to
the build log of the hook that raised them, not to the terminal. That routing is per
thread (``warnings.catch_warnings`` is process-global and cannot be), so hooks may run
on several threads at once.
"""

from __future__ import annotations

import threading
import warnings
import zipfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version
from pyproject_hooks import BackendUnavailable, BuildBackendWarning, HookMissing

from lock_build.building.build_system import BuildSystem
from lock_build.building.environment import (
    BuildEnvironment,
    HookProcessFailed,
    InstalledDistribution,
    LoggedHookCaller,
)
from lock_build.building.failure_hints import build_failure, sdist_error

ConfigSettings = Mapping[str, str | list[str]]

_LOG_TAIL_LINES = 40


def check_requirements(
    env: BuildEnvironment,
    requirements: Iterable[Requirement],
    *,
    label: str,
    substituted: Collection[str] = (),
) -> None:
    """Raise :class:`BuildError` listing every requirement ``env`` does not satisfy.

    Follows each satisfied requirement into its own ``Requires-Dist`` (with the
    extras asked for), so an incomplete set of build pins is caught here. Names in
    ``substituted`` are the lock's deliberate substitutions (an ABI package built
    against its runtime version): requirements on them are not checked.
    """
    skip = {canonicalize_name(n) for n in substituted}
    installed = env.distributions()
    problems: list[str] = []
    seen: set[tuple[NormalizedName, frozenset[str]]] = set()
    # (requirement, who asked for it); markers are evaluated before queueing, because a
    # dependency's marker may name the extras its parent was asked for.
    queue: list[tuple[Requirement, str | None]] = [
        (req, None) for req in requirements if _applies(req, env.markers, extras=("",))
    ]
    while queue:
        req, parent = queue.pop(0)
        if canonicalize_name(req.name) in skip:
            continue
        problem = _unsatisfied(req, installed)
        if problem:
            via = f" (needed by {parent})" if parent else ""
            problems.append(f"{_without_marker(req)}{via}: {problem}")
            continue
        name = canonicalize_name(req.name)
        key = (name, frozenset(canonicalize_name(e) for e in req.extras))
        if key in seen:
            continue
        seen.add(key)
        dist = installed[name]
        for line in dist.requires:
            try:
                child = Requirement(line)
            except InvalidRequirement:
                continue  # a broken installed dist is its own problem, not a missing pin
            extras = ("", *sorted(key[1]))
            if _applies(child, env.markers, extras=extras):
                queue.append((child, f"{dist.name} {dist.version}"))
    if problems:
        listed = "; ".join(dict.fromkeys(problems))
        raise sdist_error(
            label,
            f"{label}: the build environment does not satisfy the build requirements: {listed}.",
            hint="The lock's build pins for this sdist are incomplete; re-run compile.",
        )


def _without_marker(req: Requirement) -> str:
    # The marker was true where we evaluated it; showing it only adds noise.
    shown = Requirement(str(req))
    shown.marker = None
    return str(shown)


def _applies(req: Requirement, markers: Mapping[str, str], *, extras: Iterable[str]) -> bool:
    if req.marker is None:
        return True
    try:
        return any(req.marker.evaluate({**markers, "extra": extra}) for extra in extras)
    except (UndefinedComparison, UndefinedEnvironmentName):
        return True


def _unsatisfied(
    req: Requirement, installed: Mapping[NormalizedName, InstalledDistribution]
) -> str | None:
    dist = installed.get(canonicalize_name(req.name))
    if dist is None:
        return "not installed"
    if req.url:
        return None  # a direct reference was installed from the file we were given
    try:
        version = Version(dist.version)
    except InvalidVersion:
        return f"installed version {dist.version!r} is not a valid version"
    if not req.specifier.contains(version, prereleases=True):
        return f"{dist.version} is installed"
    return None


def get_requires_for_build_wheel(
    env: BuildEnvironment,
    source_dir: Path,
    build_system: BuildSystem,
    config_settings: ConfigSettings | None = None,
    *,
    substituted: Collection[str] = (),
    editable: bool = False,
) -> tuple[Requirement, ...]:
    """The backend's dynamic build requirements (``()`` when it has no such hook).

    ``editable`` asks ``get_requires_for_build_editable`` instead (PEP 660).
    """
    label = source_dir.name
    check_requirements(env, build_system.requires, label=label, substituted=substituted)
    caller = env.run_hook_caller(source_dir, build_system, config_settings)
    run = (
        caller.get_requires_for_build_editable if editable else caller.get_requires_for_build_wheel
    )
    hook = run.__name__
    with _translate(caller, hook, label):
        raw = run(caller.config_settings)
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        raise sdist_error(
            label,
            f"{label}: {hook} returned {_short(raw)}, not a list of requirement strings.",
            hook=hook,
            hint="The sdist's build backend is broken; pin another version.",
        )
    result = []
    for line in raw:
        try:
            result.append(Requirement(line))
        except InvalidRequirement as exc:
            raise sdist_error(
                label,
                f"{label}: {hook} returned an invalid requirement {line!r} ({exc}).",
                hook=hook,
                hint="The sdist's build backend is broken; pin another version.",
            ) from exc
    return tuple(result)


def prepare_metadata(
    env: BuildEnvironment,
    source_dir: Path,
    build_system: BuildSystem,
    config_settings: ConfigSettings | None,
    out_dir: Path,
    *,
    substituted: Collection[str] = (),
) -> Path:
    """The ``.dist-info`` directory the backend prepares.

    Backends without ``prepare_metadata_for_build_wheel`` get a full wheel build and
    its dist-info extracted (``pyproject_hooks``' fallback, as ``build`` does).
    """
    label = source_dir.name
    check_requirements(env, build_system.requires, label=label, substituted=substituted)
    out_dir.mkdir(parents=True, exist_ok=True)
    caller = env.run_hook_caller(source_dir, build_system, config_settings)
    with _translate(caller, "prepare_metadata_for_build_wheel", label):
        basename = caller.prepare_metadata_for_build_wheel(
            str(out_dir), caller.config_settings, _allow_fallback=True
        )
    dist_info = out_dir / str(basename)
    if (
        not isinstance(basename, str)
        or not basename.endswith(".dist-info")
        or not (dist_info / "METADATA").is_file()
    ):
        raise sdist_error(
            label,
            f"{label}: prepare_metadata_for_build_wheel returned {_short(basename)}, "
            f"which is not a .dist-info directory with METADATA in {out_dir}.",
            hook="prepare_metadata_for_build_wheel",
            hint="The sdist's build backend is broken; pin another version.",
        )
    return dist_info


def build_wheel(
    env: BuildEnvironment,
    source_dir: Path,
    build_system: BuildSystem,
    config_settings: ConfigSettings | None,
    out_dir: Path,
    *,
    metadata_directory: Path | None = None,
    substituted: Collection[str] = (),
    editable: bool = False,
) -> Path:
    """Build a wheel into ``out_dir`` and return its path.

    ``editable`` builds a PEP 660 editable wheel of ``source_dir`` (which then stays the
    code's home) instead of a regular one.
    """
    label = source_dir.name
    check_requirements(env, build_system.requires, label=label, substituted=substituted)
    out_dir.mkdir(parents=True, exist_ok=True)
    caller = env.run_hook_caller(source_dir, build_system, config_settings)
    build = caller.build_editable if editable else caller.build_wheel
    hook = build.__name__
    with _translate(caller, hook, label):
        basename = build(
            str(out_dir),
            caller.config_settings,
            metadata_directory=str(metadata_directory) if metadata_directory else None,
        )
    wheel = out_dir / str(basename)
    if not isinstance(basename, str) or not basename.endswith(".whl") or not wheel.is_file():
        raise sdist_error(
            label,
            f"{label}: {hook} returned {_short(basename)}, which is not a wheel in {out_dir}.",
            hook=hook,
            hint="The sdist's build backend is broken; pin another version.",
        )
    if not zipfile.is_zipfile(wheel):
        raise sdist_error(
            label,
            f"{label}: the backend wrote {wheel.name}, which is not a zip archive.",
            hook=hook,
        )
    return wheel


@contextmanager
def _translate(caller: LoggedHookCaller, hook: str, label: str) -> Iterator[None]:
    """Turn everything a backend can do wrong into one BuildError pointing at its log."""
    log = caller.log_path
    backend = caller.build_backend
    with _backend_warnings() as captured:
        try:
            yield
        except HookProcessFailed as exc:
            raise build_failure(
                f"{label}: {hook} failed in backend {backend!r} (exit {exc.returncode}); "
                f"log: {log}.",
                hint="The backend's output is in the log; -v shows its end.",
                log_tail=_tail(log),
                label=label,
                hook=hook,
                log=log,
            ) from exc
        except BackendUnavailable as exc:
            raise build_failure(
                f"{label}: the build backend {backend!r} cannot be imported in the build "
                f"environment; log: {log}.",
                hint="The sdist's [build-system].requires may not provide it.",
                log_tail=(exc.traceback or str(exc)) + "\n" + _tail(log),
                label=label,
                hook=hook,
                log=log,
            ) from exc
        except HookMissing as exc:
            editable = exc.hook_name.endswith("_editable")
            raise sdist_error(
                label,
                f"{label}: the build backend {backend!r} has no {exc.hook_name} hook.",
                hook=exc.hook_name,
                hint="It does not support editable installs (PEP 660); drop -e for it."
                if editable
                else "The sdist's build backend is broken; pin another version.",
            ) from exc
        except (OSError, ValueError) as exc:
            # pyproject_hooks reading a missing/garbled output.json, a vanished source tree...
            raise sdist_error(
                label,
                f"{label}: running {hook} failed: {exc}; log: {log}.",
                hook=hook,
                log=log,
                detail=_tail(log),
            ) from exc
        finally:
            _log_warnings(log, captured)


def _log_warnings(log: Path, captured: list[str]) -> None:
    # Backend warnings belong in the build log, not on the user's terminal.
    if not captured:
        return
    try:
        with log.open("a", encoding="utf-8") as handle:
            handle.writelines(f"{line}\n" for line in captured)
    except OSError:
        pass


_routing = threading.local()  # .sink: the warnings of the hook this thread runs
_routing_lock = threading.Lock()


@contextmanager
def _backend_warnings() -> Iterator[list[str]]:
    """Collect the BuildBackendWarnings this thread's hook re-raises, instead of showing them."""
    _route_backend_warnings()
    captured: list[str] = []
    _routing.sink = captured
    try:
        yield captured
    finally:
        _routing.sink = None


def _route_backend_warnings() -> None:
    """Install (again, if something such as a test harness replaced it) the process-wide
    hook that hands each BuildBackendWarning to the sink of the thread that raised it."""
    with _routing_lock:
        if getattr(warnings.showwarning, "_lock_build_routing", False):
            return
        shown_before = warnings.showwarning

        def show(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: object = None,
            line: str | None = None,
        ) -> None:
            sink = getattr(_routing, "sink", None)
            if sink is not None and issubclass(category, BuildBackendWarning):
                sink.append(f"warning: {filename}:{lineno}: {message}")
                return
            shown_before(message, category, filename, lineno, file, line)  # type: ignore[arg-type]

        show._lock_build_routing = True  # type: ignore[attr-defined]
        warnings.showwarning = show
        # Every occurrence, not once per location: each belongs in its own hook's log.
        warnings.filterwarnings("always", category=BuildBackendWarning)


def _tail(log: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _short(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


__all__ = [
    "ConfigSettings",
    "build_wheel",
    "check_requirements",
    "get_requires_for_build_wheel",
    "prepare_metadata",
]
