"""`lock-build compile`: inputs in, lockfile out."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from lock_build.cli.options import abi_equal_option, index_flags, index_options, target_options
from lock_build.cli.output import Console, console_option_group, default_cache_dir
from lock_build.errors import InputError, StaleError
from lock_build.inputs import default_output_path, load_inputs, parse_requirements_file
from lock_build.lockfile import Lock, check_lock_path, dumps, read_lock, write_lock
from lock_build.locking.builds import BuildOptions, default_abi_rules
from lock_build.locking.check import stale_reasons
from lock_build.locking.compile import CompileRequest
from lock_build.locking.multi import compile_targets
from lock_build.multilock import lock_for_target
from lock_build.pipconfig import load_index_settings
from lock_build.redaction import redact
from lock_build.resolution.model import Wanted
from lock_build.target import Target, resolve_target, select_interpreter, target_for_interpreter
from lock_build.targets import TargetSpec, id_of, parse_target_spec, targets_for_specs

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
    "--offline",
}
_VOLATILE_WITH_VALUE = {"--cache-dir", "-P", "--upgrade-package"}


@click.command("compile")
@click.argument("inputs", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Lockfile to write [default: beside the first input, e.g. requirements.lock].",
)
@click.option(
    "-c",
    "--constraint",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Constrain versions with this file (repeatable).",
)
@click.option(
    "--extra", multiple=True, metavar="NAME", help="Include this extra of pyproject.toml."
)
@click.option("--all-extras", is_flag=True, help="Include every extra of pyproject.toml.")
@click.option(
    "--group", multiple=True, metavar="NAME", help="Include this PEP 735 dependency group."
)
@click.option("-U", "--upgrade", is_flag=True, help="Ignore the pins of the existing lock.")
@click.option(
    "-P",
    "--upgrade-package",
    multiple=True,
    metavar="PKG[==V]",
    help="Upgrade only this package (runtime and build pins); repeatable.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Do not resolve: exit 1 and say why if the lock no longer fits its inputs.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the lock instead of writing it; exit 1 if it would change.",
)
@target_options
@index_options
@click.option(
    "-b",
    "--build-constraint",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Constrain every build environment with this file (never overridden).",
)
@click.option(
    "--build-match",
    type=click.Choice(["runtime", "declared"]),
    default="runtime",
    show_default=True,
    help="runtime: build ABI packages against their runtime version, recording any "
    "substitution; declared: fail instead when declared build requirements exclude it.",
)
@click.option(
    "--match-runtime",
    multiple=True,
    metavar="PKG",
    help="Treat PKG as an ABI package built against exactly its runtime version (equality, "
    "replacing any ABI rule PKG has).",
)
@click.option(
    "--no-match-runtime", multiple=True, metavar="PKG", help="Do not treat PKG as an ABI package."
)
@abi_equal_option
@click.option(
    "--extra-build-requires",
    multiple=True,
    metavar="PKG:REQ",
    help="Add a build requirement to PKG (for sdists that under-declare); repeatable.",
)
@click.option(
    "--config-settings-package",
    multiple=True,
    metavar="PKG:KEY=VALUE",
    help="PEP 517 config settings for PKG's build; locked and part of every cache key.",
)
@click.option(
    "--no-build-isolation-package",
    multiple=True,
    metavar="PKG",
    help="Build PKG against the runtime versions of its build requirements.",
)
@console_option_group
def command(**values: Any) -> None:
    """Resolve INPUTS (requirements.in files or pyproject.toml) into a lockfile that pins
    the runtime tree and the build environment of every sdist."""
    console = Console(quiet=values["quiet"], verbose=values["verbose"])
    cwd = Path.cwd()
    paths = list(values["inputs"])
    inputs = load_inputs(
        paths,
        constraints=values["constraint"],
        extras=values["extra"],
        all_extras=values["all_extras"],
        groups=values["group"],
        cwd=cwd,
    )
    for warning in inputs.warnings:
        console.warn(warning)
    first_input = (
        paths[0] if paths else inputs.files[0] if inputs.files else Path("requirements.in")
    )
    output = values["output_file"] or default_output_path(first_input)
    check_lock_path(output)

    specs = tuple(parse_target_spec(text) for text in values["targets"])
    if values["check"]:
        _check(output, inputs, _options_record(values), console)
        return

    cache_dir = default_cache_dir(values["cache_dir"])
    existing = read_lock(output) if output.exists() else None
    targets, keep_others = _targets(values, specs, existing)
    settings = load_index_settings(
        flags=index_flags(values), input_options=inputs.index_options, cache_dir=cache_dir
    )
    for warning in settings.warnings:
        console.warn(warning)
    previous = existing if not values["upgrade"] else None
    request = CompileRequest(
        inputs=inputs,
        settings=settings,
        target=targets[0],
        cache_dir=cache_dir,
        command=_regenerate_command(sys.argv[1:]),
        input_files=tuple(_display(f, cwd) for f in inputs.files),
        build=_build_options(values, settings.build_constraint_files, settings.pre),
        constraints=_constraint_files(settings.constraint_files, "pip configuration"),
        previous=previous,
        upgrade=values["upgrade"],
        upgrade_packages=tuple(
            _requirement(p, "--upgrade-package") for p in values["upgrade_package"]
        ),
        options_record=_options_record(values),
        output_dir=output.parent.resolve(),
    )
    started = time.monotonic()
    console.status(f"Locking for {', '.join(t.describe() for t in targets)}")
    result = compile_targets(request, targets, keep_others=keep_others, reporter=console)
    console.clear_status()
    several = len(result.compiled) > 1
    for ident, compiled in result.compiled:
        for line in compiled.substitutions:
            console.warn(f"{ident}: {line}" if several else line)
        if compiled.built_metadata:
            console.debug(
                "Metadata prepared by build backends: " + ", ".join(compiled.built_metadata)
            )
    for ident in result.kept:
        console.info(f"Kept target {ident} of {output.name} as it was (not compiled now).")
    _report(result.lock, output, console, time.monotonic() - started)
    if values["dry_run"]:
        text = dumps(result.lock)
        click.echo(text, nl=False)
        if not output.exists() or output.read_text(encoding="utf-8") != text:
            raise StaleError(f"{output} would change.")
        return
    changed = write_lock(output, result.lock)
    console.info(f"{'Wrote' if changed else 'Unchanged:'} {_display(output, cwd)}")


def _check(output: Path, inputs: Any, options: dict[str, object], console: Console) -> None:
    if not output.exists():
        raise StaleError(f"{output} does not exist.", hint="Create it with lock-build compile.")
    lock = read_lock(output)
    reasons: list[str] = []
    several = len(lock.targets) > 1
    for target in lock.targets:
        for reason in stale_reasons(lock_for_target(lock, target.id), inputs):
            shown = f"{target.id}: {reason}" if several else reason
            if shown not in reasons:
                reasons.append(shown)
    # Options that shape the result (build policy, binary policy, --pre) are in the lock.
    for key in sorted(set(options) | (set(lock.options) & _RECORDED_OPTIONS)):
        if options.get(key) != lock.options.get(key):
            reasons.append(
                f"--{key} is {_shown(options.get(key))} now, {_shown(lock.options.get(key))} "
                "in the lock"
            )
    if reasons:
        raise StaleError(
            f"{output} is stale: " + "; ".join(reasons) + ".",
            hint="Run lock-build compile to update it.",
        )
    console.info(f"{output} is up to date with its inputs.")


def _targets(
    values: dict[str, Any], specs: tuple[TargetSpec, ...], existing: Lock | None
) -> tuple[tuple[Target, ...], bool]:
    """What to compile, and whether the existing lock's other targets are kept.

    ``--target`` adds or refreshes the named targets and keeps the others (with
    ``--upgrade`` every target is compiled afresh). Without it, a lock with several
    targets is compiled for all of them again; otherwise there is one target, as
    ``--python`` / ``--python-version`` / ``--platform`` say.
    """
    shorthand = values["python_version"] or values["platform"]
    if not specs and not shorthand and not values["python"] and existing is not None:
        if len(existing.targets) > 1:
            specs = tuple(_spec_of(t.python_version, t.platform) for t in existing.targets)
            local = target_for_interpreter(select_interpreter(None))
            return targets_for_specs(specs, local=local), False
    default = resolve_target(values["python"], values["python_version"], values["platform"])
    if not specs:
        return (default,), False
    targets = list(targets_for_specs(specs, local=default if not shorthand else _local(values)))
    if shorthand and id_of(default) not in {id_of(t) for t in targets}:
        targets.append(default)
    if values["upgrade"] and existing is not None:
        given = {id_of(t) for t in targets}
        others = tuple(
            _spec_of(t.python_version, t.platform) for t in existing.targets if t.id not in given
        )
        targets.extend(targets_for_specs(others, local=_local(values)))
    return tuple(targets), True


def _local(values: dict[str, Any]) -> Target:
    return target_for_interpreter(select_interpreter(values["python"]))


def _spec_of(python_version: str, platform: str) -> TargetSpec:
    """The --target value that recreates a target of an existing lock."""
    return parse_target_spec(f"{python_version}-{platform}" if platform else python_version)


def _shown(value: object) -> str:
    if value is None or value is False:
        return "not given"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _report(lock: Lock, output: Path, console: Console, seconds: float) -> None:
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
    values: dict[str, Any], config_files: tuple[str, ...], pre: bool
) -> BuildOptions:
    equal_for = []
    for item in values["abi_equal"]:
        sdist, sep, package = item.partition(":")
        if not sep or not sdist.strip() or not package.strip():
            raise InputError(f"--abi-equal {item!r} is not SDIST:PKG (e.g. pyworld:numpy).")
        equal_for.append((sdist.strip(), package.strip()))
    abi = default_abi_rules().overridden(
        match_runtime=values["match_runtime"],
        no_match_runtime=values["no_match_runtime"],
        equal_for=equal_for,
    )
    extra: dict[NormalizedName, list[Requirement]] = {}
    for item in values["extra_build_requires"]:
        package, sep, text = item.partition(":")
        if not sep or not package or not text:
            raise InputError(
                f"--extra-build-requires {item!r} is not PKG:REQUIREMENT (e.g. mypkg:torch>=2)."
            )
        extra.setdefault(canonicalize_name(package), []).append(
            _requirement(text, "--extra-build-requires")
        )
    config: dict[NormalizedName, dict[str, str]] = {}
    for item in values["config_settings_package"]:
        package, sep, setting = item.partition(":")
        key, eq, value = setting.partition("=")
        if not sep or not eq or not package or not key:
            raise InputError(f"--config-settings-package {item!r} is not PKG:KEY=VALUE.")
        config.setdefault(canonicalize_name(package), {})[key] = value
    files = (*config_files, *(str(p) for p in values["build_constraint"]))
    return BuildOptions(
        match=values["build_match"],
        abi=abi,
        constraints=_constraint_files(files, "-b"),
        extra_requires={k: tuple(v) for k, v in extra.items()},
        config_settings=config,
        no_isolation=frozenset(canonicalize_name(p) for p in values["no_build_isolation_package"]),
        pre=pre or values["pre"],
        prefer_binary=values["prefer_binary"],
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


def _options_record(values: dict[str, Any]) -> dict[str, object]:
    record: dict[str, object] = {"build-match": values["build_match"]}
    for option in _LIST_OPTIONS:
        if values.get(option.replace("-", "_")):
            record[option] = sorted(values[option.replace("-", "_")])
    for option in _FLAG_OPTIONS:
        if values.get(option.replace("-", "_")):
            record[option] = True
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
        kept.append(arg)
    import shlex

    # Index URLs on the command line may carry credentials: never write them down.
    return "lock-build " + " ".join(shlex.quote(redact(a, keep_user=False)) for a in kept)


def _display(path: Path, cwd: Path) -> str:
    try:
        return str(path.resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(path)
