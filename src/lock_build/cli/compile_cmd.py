"""`lock-build compile`: inputs in, lockfile out, and what changed on stderr."""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from lock_build.changes import summarize
from lock_build.cli import options
from lock_build.cli.collector import settle
from lock_build.cli.output import Console, default_cache_dir, start
from lock_build.errors import InputError, LockfileError, StaleError, TargetError
from lock_build.index.early import prefetch_enabled, start_root_pages
from lock_build.index.http import HttpClient
from lock_build.inputs import InputSet, default_output_path, load_inputs, parse_requirements_file
from lock_build.inputs.pip_config import load_index_settings
from lock_build.lockfile import Lock, check_lock_path, dumps, read_lock, write_lock
from lock_build.locking.check import stale_reasons
from lock_build.multilock import lock_for_target, without_targets
from lock_build.previous import looks_like_lock, read_previous
from lock_build.redaction import redact
from lock_build.resolution.model import Wanted
from lock_build.settings import IndexSettings
from lock_build.target import (
    Target,
    described_meanwhile,
    resolve_target,
    select_interpreter,
    target_for_interpreter,
)
from lock_build.targets import TargetSpec, id_of, parse_target_spec, targets_for_specs

# The resolver, the build planning and the ABI rules are imported once the root pages are
# asked for (see _root_pages): their import then overlaps the first answers.
if TYPE_CHECKING:
    from lock_build.locking.builds import BuildOptions
    from lock_build.locking.compile import CompileRequest
    from lock_build.locking.multi import TargetsResult

__all__ = ["command"]

_DASH = Path("-")  # standard input as an input, standard output as -o
# Options that do not change the lock: left out of the regenerate command in its header.
_VOLATILE = {
    "-v",
    "--verbose",
    "-q",
    "--quiet",
    "--check",
    "--dry-run",
    "-U",
    "--upgrade",
    "--generate-hashes",
    "--allow-unsafe",
    "--offline",
}
_VOLATILE_WITH_VALUE = {
    "--cache-dir",
    "-P",
    "--upgrade-package",
    "--previous",
    "--drop-target",
    "-j",
    "--jobs",
}


@click.command("compile")
@options.compile_inputs_argument
@options.output_option(
    "Lockfile to write [default: beside the first input, e.g. requirements.lock; "
    "standard output for a '-' input]; '-' is standard output."
)
@options.previous_option
@options.selection_options
@options.upgrade_options
@options.check_option
@options.dry_run_option
@options.compat_options
@options.target_options
@options.index_options
@options.build_options
@options.console_options
def command(
    *,
    inputs: tuple[Path, ...],
    output: Path | None,
    previous: Path | None,
    selection: options.SelectionFlags,
    upgrade: options.UpgradeFlags,
    check: bool,
    dry_run: bool,
    compat: options.CompatFlags,
    target: options.TargetFlags,
    index: options.IndexFlags,
    build: options.BuildFlags,
    console: options.ConsoleFlags,
) -> None:
    """Resolve INPUTS (requirements.in files or pyproject.toml; '-' reads standard input)
    into a lockfile that pins the runtime tree and the build environment of every sdist."""
    out = start(console)
    for note in compat.notes():
        out.debug(note)
    cwd = Path.cwd()
    loaded = _load_inputs(inputs, selection, cwd)
    for warning in loaded.warnings:
        out.warn(warning)
    destination = _destination(inputs, output, loaded)
    record = _options_record(build, index, selection)
    specs = _target_specs(target)
    existing = _existing_lock(destination, inputs)
    if check:
        _check(_file_output(destination, "--check"), existing, loaded, record, out)
        return
    cache_dir = default_cache_dir(console.cache_dir)
    settings = load_index_settings(
        flags=index.as_flags(), input_options=loaded.index_options, cache_dir=cache_dir
    )
    for warning in settings.warnings:
        out.warn(warning)
    resolves = not target.drop_targets or bool(
        specs or target.python_version or target.platform or target.python
    )
    with (
        _interpreter_meanwhile(target.python, cache_dir, resolving=resolves),
        _root_pages(settings, cache_dir, loaded, out, resolving=resolves) as client,
    ):
        request = _request(
            loaded,
            settings,
            cache_dir,
            destination,
            existing,
            previous,
            upgrade,
            target,
            index,
            build,
        )
        if target.drop_targets:
            existing = _dropped(existing, target.drop_targets, out)
            if request.previous is not None:  # the lock at the destination, read for its pins
                request = replace(request, previous=existing)
            if not resolves:  # nothing to resolve: the other targets stay as they are
                lock = replace(existing, command=request.command)
                _write(lock, destination, dry_run=dry_run, console=out, cwd=cwd)
                return
        targets, keep_others = _targets(target, specs, existing, upgrade=upgrade.upgrade)
        request = replace(request, target=targets[0], options_record=record)
        started = time.monotonic()
        out.status(f"Locking for {', '.join(t.describe() for t in targets)}")
        from lock_build.locking.multi import compile_targets

        settle()  # every import is done: the resolution's allocations start
        result = compile_targets(
            request, targets, keep_others=keep_others, reporter=out, client=client
        )
    _show(result, out, time.monotonic() - started)
    _write(result.lock, destination, dry_run=dry_run, console=out, cwd=cwd)
    summary = summarize(request.previous, result.lock, previous_pins=request.previous_pins)
    for line in summary.lines():
        out.info(line)


@contextmanager
def _interpreter_meanwhile(
    python: str | None, cache_dir: Path, *, resolving: bool
) -> Iterator[None]:
    """The local interpreter probed while the pages arrive and the resolver is set up
    (see lock_build.target.described_meanwhile); a --python that names none is reported
    where the target is resolved, as before."""
    try:
        interpreter = select_interpreter(python) if resolving else None
    except TargetError:
        interpreter = None
    if interpreter is None:
        yield
        return
    with described_meanwhile(interpreter, cache_dir):
        yield


@contextmanager
def _root_pages(
    settings: IndexSettings, cache_dir: Path, inputs: InputSet, console: Console, *, resolving: bool
) -> Iterator[HttpClient | None]:
    """The run's HTTP client, already fetching the pages of the projects the inputs name
    (see lock_build.index.early); None when nothing will be resolved or prefetching is
    off (then each target's compile makes its own)."""
    if not resolving or not prefetch_enabled(os.environ):
        yield None
        return
    client = HttpClient(settings, cache_dir, reporter=console)
    try:
        # Only what every target needs: a requirement with a marker may be for none of
        # them, and its index is then never asked about it (the target is not known yet).
        names = [
            item.name
            for item in inputs.requirements
            if item.link is None and item.requirement.marker is None
        ]
        start_root_pages(client, settings, names)
        yield client
    finally:
        client.close()


def _show(result: TargetsResult, out: Console, seconds: float) -> None:
    """What the compile did: substitutions, backend-made metadata, kept targets, totals."""
    out.clear_status()
    several = len(result.compiled) > 1
    for ident, compiled in result.compiled:
        for line in compiled.substitutions:
            out.warn(f"{ident}: {line}" if several else line)
        if compiled.built_metadata:
            out.debug("Metadata prepared by build backends: " + ", ".join(compiled.built_metadata))
    for ident in result.kept:
        out.info(f"Kept target {ident} of the existing lock as it was (not compiled now).")
    _report(result.lock, out, seconds)


def _load_inputs(paths: tuple[Path, ...], selection: options.SelectionFlags, cwd: Path) -> InputSet:
    stdin = sys.stdin.read() if _DASH in paths else None  # "-" is standard input here
    return load_inputs(
        list(paths),
        constraints=selection.constraint,
        extras=selection.extra,
        all_extras=selection.all_extras,
        groups=selection.group,
        cwd=cwd,
        stdin=stdin,
    )


def _destination(inputs: tuple[Path, ...], output: Path | None, loaded: InputSet) -> Path | None:
    """The lock's path; None for standard output (``-o -``, or a ``-`` input and no -o)."""
    if output == _DASH or (output is None and _DASH in inputs):
        return None
    first = inputs[0] if inputs else loaded.files[0] if loaded.files else Path("requirements.in")
    destination = output or default_output_path(first)
    check_lock_path(destination)
    return destination


def _existing_lock(destination: Path | None, inputs: tuple[Path, ...]) -> Lock | None:
    """The lock already at ``destination``, read once (a big lock's TOML is tens of
    milliseconds to parse); None if there is none. A file there that is no lock-build lock
    is refused: compile will not overwrite it."""
    if destination is None or not destination.exists():
        return None
    try:
        return read_lock(destination)
    except LockfileError:
        if looks_like_lock(destination):
            raise  # a lock, and what is wrong with it is the lock reader's to say
    raise InputError(
        f"{destination} exists and is not a lock-build lock (a requirements.txt from "
        "pip-compile or uv?), so compile will not overwrite it.",
        hint=f"To keep its pins, pass it as --previous {destination} and write the lock "
        f"elsewhere: lock-build compile {' '.join(map(str, inputs)) or 'requirements.in'} "
        f"--previous {destination} -o {destination.with_suffix('.lock')}",
    )


def _file_output(destination: Path | None, option: str) -> Path:
    if destination is None:
        raise InputError(f"{option} compares with a lockfile; standard output is none.")
    return destination


def _request(
    inputs: InputSet,
    settings: IndexSettings,
    cache_dir: Path,
    destination: Path | None,
    existing_lock: Lock | None,
    previous: Path | None,
    upgrade: options.UpgradeFlags,
    target: options.TargetFlags,
    index: options.IndexFlags,
    build: options.BuildFlags,
) -> CompileRequest:
    """Typed option values -> the one request the core takes."""
    from lock_build.locking.compile import CompileRequest

    cwd = Path.cwd()
    existing = None if upgrade.upgrade else existing_lock  # read once, by the caller
    pins = None
    if previous is not None and not upgrade.upgrade:
        given = read_previous(previous, cwd=cwd)
        # A previous lock-build lock gives the build pins too, unless the -o lock does.
        existing = existing or given.lock
        pins = given.pins
    return CompileRequest(
        inputs=inputs,
        settings=settings,
        target=resolve_target(
            target.python, target.python_version, target.platform, cache_dir=cache_dir
        ),
        cache_dir=cache_dir,
        command=_regenerate_command(sys.argv[1:]),
        input_files=tuple(_display(f, cwd) for f in inputs.files),
        build=_build_options(
            build,
            settings.build_constraint_files,
            pre=settings.pre or index.pre,
            prefer_binary=index.prefer_binary,
        ),
        constraints=_constraint_files(settings.constraint_files, "pip configuration"),
        previous=existing,
        previous_pins=pins,
        upgrade=upgrade.upgrade,
        upgrade_packages=upgrade.upgrade_package,
        output_dir=(destination.parent if destination else cwd).resolve(),
        jobs=build.jobs or os.cpu_count() or 1,
    )


def _write(
    lock: Lock, destination: Path | None, *, dry_run: bool, console: Console, cwd: Path
) -> None:
    text = dumps(lock)
    if destination is None:
        click.echo(text, nl=False)
        return
    if dry_run:
        click.echo(text, nl=False)
        if not destination.exists() or destination.read_text(encoding="utf-8") != text:
            raise StaleError(f"{destination} would change.")
        return
    changed = write_lock(destination, lock, text=text)
    console.info(f"{'Wrote' if changed else 'Unchanged:'} {_display(destination, cwd)}")


def _check(
    output: Path,
    lock: Lock | None,
    inputs: InputSet,
    record: dict[str, object],
    console: Console,
) -> None:
    """Whether ``lock`` (the one at ``output``) is current with ``inputs``."""
    if lock is None:
        raise StaleError(f"{output} does not exist.", hint="Create it with lock-build compile.")
    reasons: list[str] = []
    several = len(lock.targets) > 1
    for each in lock.targets:  # every target: a marker may make an input apply to one only
        for reason in stale_reasons(lock_for_target(lock, each.id), inputs):
            shown = f"{each.id}: {reason}" if several else reason
            if shown not in reasons:
                reasons.append(shown)
    # Options that shape the result (build policy, binary policy, --pre) are in the lock;
    # the selection (extras, groups) is in the inputs digest already.
    for key in sorted((set(record) | set(lock.options)) & _RECORDED_OPTIONS):
        if record.get(key) != lock.options.get(key):
            reasons.append(
                f"--{key} is {_shown(record.get(key))} now, {_shown(lock.options.get(key))} "
                "in the lock"
            )
    if reasons:
        raise StaleError(
            f"{output} is stale: " + "; ".join(reasons) + ".",
            hint="Run lock-build compile to update it.",
        )
    console.info(f"{output} is up to date with its inputs.")


def _dropped(existing: Lock | None, dropped: tuple[str, ...], console: Console) -> Lock:
    """The existing lock without the ``--drop-target`` targets."""
    if existing is None:
        raise InputError(
            "--drop-target removes a target from an existing lock, and there is none to "
            "remove it from.",
            hint="Name the lock with -o, or compile it first.",
        )
    lock = without_targets(existing, dropped)
    for ident in dropped:
        console.info(f"Dropped target {ident} from the lock.")
    return lock


def _target_specs(target: options.TargetFlags) -> tuple[TargetSpec, ...]:
    """``--target`` values, else the configuration's ``targets = [...]``."""
    texts = target.targets
    if not texts:
        configured = options.current_config().targets or ()
        if not isinstance(configured, list | tuple) or not all(
            isinstance(t, str) for t in configured
        ):
            raise InputError(
                "The configuration's targets must be a list of target specs "
                '(e.g. targets = ["3.12", "3.11-manylinux_2_28_x86_64"]).'
            )
        texts = tuple(str(t) for t in configured)
    return tuple(parse_target_spec(text) for text in texts)


def _targets(
    flags: options.TargetFlags,
    specs: tuple[TargetSpec, ...],
    existing: Lock | None,
    *,
    upgrade: bool,
) -> tuple[tuple[Target, ...], bool]:
    """What to compile, and whether the existing lock's other targets are kept.

    ``--target`` adds or refreshes the named targets and keeps the others (with
    ``--upgrade`` every target is compiled afresh). Without it, a lock with several
    targets is compiled for all of them again; otherwise there is one target, as
    ``--python`` / ``--python-version`` / ``--platform`` say.
    """
    shorthand = flags.python_version or flags.platform
    if not specs and not shorthand and not flags.python and existing is not None:
        if len(existing.targets) > 1:
            again = tuple(_spec_of(t.python_version, t.platform) for t in existing.targets)
            return targets_for_specs(again, local=_local(None)), False
    default = resolve_target(flags.python, flags.python_version, flags.platform)
    if not specs:
        return (default,), False
    targets = list(targets_for_specs(specs, local=_local(flags.python)))
    if shorthand and id_of(default) not in {id_of(t) for t in targets}:
        targets.append(default)
    if upgrade and existing is not None:
        given = {id_of(t) for t in targets}
        others = tuple(
            _spec_of(t.python_version, t.platform) for t in existing.targets if t.id not in given
        )
        targets.extend(targets_for_specs(others, local=_local(flags.python)))
    return tuple(targets), True


def _local(python: str | None) -> Target:
    return target_for_interpreter(select_interpreter(python))


def _spec_of(python_version: str, platform: str) -> TargetSpec:
    """The --target value that recreates a target of an existing lock."""
    return parse_target_spec(f"{python_version}-{platform}" if platform else python_version)


def _shown(value: object) -> str:
    if value is None or value is False:
        return "not given"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _report(lock: Lock, console: Console, seconds: float) -> None:
    runtime = len(lock.runtime_packages())
    build_only = len(lock.packages) - runtime
    builds = len(lock.builds)
    console.info(
        f"Resolved {runtime} runtime packages"
        + (
            f", {builds} build environment{'s' if builds != 1 else ''} "
            f"({build_only} build-only packages)"
            if builds
            else ""
        )
        + f" in {seconds:.1f}s"
    )


def _build_options(
    flags: options.BuildFlags, config_files: tuple[str, ...], *, pre: bool, prefer_binary: bool
) -> BuildOptions:
    equal_for = []
    for item in flags.abi_equal:
        sdist, sep, package = item.partition(":")
        if not sep or not sdist.strip() or not package.strip():
            raise InputError(f"--abi-equal {item!r} is not SDIST:PKG (e.g. pyworld:numpy).")
        equal_for.append((sdist.strip(), package.strip()))
    loaded = options.current_config()
    where = " / ".join(_display(f, Path.cwd()) for f in loaded.files) or "configuration"
    from lock_build.abi import config_rules
    from lock_build.locking.builds import BuildOptions, default_abi_rules

    abi = default_abi_rules().overridden(
        config=config_rules(loaded.abi, where=f"{where} [abi]"),
        match_runtime=flags.match_runtime,
        no_match_runtime=flags.no_match_runtime,
        equal_for=equal_for,
    )
    extra: dict[NormalizedName, list[Requirement]] = {}
    for item in flags.extra_build_requires:
        package, sep, text = item.partition(":")
        if not sep or not package or not text:
            raise InputError(
                f"--extra-build-requires {item!r} is not PKG:REQUIREMENT (e.g. mypkg:torch>=2)."
            )
        extra.setdefault(canonicalize_name(package), []).append(
            _requirement(text, "--extra-build-requires")
        )
    config: dict[NormalizedName, dict[str, str]] = {}
    for item in flags.config_settings_package:
        package, sep, setting = item.partition(":")
        key, eq, value = setting.partition("=")
        if not sep or not eq or not package or not key:
            raise InputError(f"--config-settings-package {item!r} is not PKG:KEY=VALUE.")
        config.setdefault(canonicalize_name(package), {})[key] = value
    files = (*config_files, *(str(p) for p in flags.build_constraint))
    return BuildOptions(
        match=flags.build_match,  # type: ignore[arg-type]
        abi=abi,
        constraints=_constraint_files(files, "-b"),
        extra_requires={k: tuple(v) for k, v in extra.items()},
        config_settings=config,
        no_isolation=frozenset(canonicalize_name(p) for p in flags.no_build_isolation_package),
        pre=pre,
        prefer_binary=prefer_binary,
    )


def _constraint_files(files: tuple[str, ...] | list[str], label: str) -> tuple[Wanted, ...]:
    wanted = []
    cwd = Path.cwd()
    for name in files:
        path = Path(name)
        parsed = parse_requirements_file(path, cwd=cwd)
        for item in (*parsed.requirements, *parsed.constraints):
            wanted.append(
                Wanted(requirement=item.requirement, origin=f"{label} {_display(path, cwd)}")
            )
    return tuple(wanted)


def _requirement(text: str, option: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise InputError(f"{option} {text!r} is not a valid requirement ({exc}).") from None


# Settings that change the result: written into the lock's [options], compared by --check.
_LIST_OPTIONS = (
    "match-runtime",
    "no-match-runtime",
    "abi-equal",
    "extra-build-requires",
    "config-settings-package",
    "no-build-isolation-package",
    "only-binary",
    "no-binary",
)
_FLAG_OPTIONS = ("pre", "prefer-binary")
_RECORDED_OPTIONS = frozenset({"build-match", *_LIST_OPTIONS, *_FLAG_OPTIONS})


def _options_record(
    build: options.BuildFlags, index: options.IndexFlags, selection: options.SelectionFlags
) -> dict[str, object]:
    """What the lock's [options] records of this run: what shapes the result (compared by
    --check) and what selected the inputs (for the change summary's drift line)."""
    values: dict[str, object] = {
        "match-runtime": build.match_runtime,
        "no-match-runtime": build.no_match_runtime,
        "abi-equal": build.abi_equal,
        "extra-build-requires": build.extra_build_requires,
        "config-settings-package": build.config_settings_package,
        "no-build-isolation-package": build.no_build_isolation_package,
        "only-binary": index.only_binary,
        "no-binary": index.no_binary,
        "pre": index.pre,
        "prefer-binary": index.prefer_binary,
        "all-extras": selection.all_extras,
        "extras": selection.extra,
        "groups": selection.group,
    }
    record: dict[str, object] = {"build-match": build.build_match}
    for key, value in values.items():
        if isinstance(value, tuple) and value:
            record[key] = sorted(value)
        elif value is True:
            record[key] = True
    return record


def _regenerate_command(argv: list[str]) -> str:
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in _VOLATILE:
            continue
        if arg in _VOLATILE_WITH_VALUE:
            skip = True
            continue
        if any(arg.startswith(opt + "=") for opt in _VOLATILE_WITH_VALUE):
            continue
        if arg.startswith("-j") and arg[2:].isdigit():  # -j4
            continue
        kept.append(arg)
    # Index URLs on the command line may carry credentials: never write them down.
    return "lock-build " + " ".join(shlex.quote(redact(a, keep_user=False)) for a in kept)


def _display(path: Path, cwd: Path) -> str:
    try:
        return str(path.resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(path)
