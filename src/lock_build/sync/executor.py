"""Run a plan against a target environment.

Order is the guarantee: fetch and verify everything, build everything (each build in
a fresh environment holding exactly its locked pins), check the built wheels against
the runtime pins — and only then touch the target. A failure before that point leaves
the target exactly as it was.

Why one long module: sync's guarantee is the order of its stages (fetch, build, check,
install), and that order is visible only while the stages sit in one file; each stage
is a private function, and the parts they use (``prepare``, ``inspect``, ``installers``,
``safety``, ``journal``) are modules of their own.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from lock_build.errors import BuildError, LockBuildError, SyncError, SyncInterrupted
from lock_build.inputs.pip_config import load_index_settings
from lock_build.interrupts import Terminated
from lock_build.lockfile import Lock
from lock_build.lockfile.sources import SourcePolicy
from lock_build.plan import BuildStep, FetchStep, InstalledDist, InstallStep, Plan, target_key
from lock_build.redaction import redact
from lock_build.reporting import NULL_REPORTER, Building, Fetching, Installing, Reporter
from lock_build.settings import IndexSettings
from lock_build.sync import abi_check, journal
from lock_build.sync.inspect import EnvironmentState, inspect_environment
from lock_build.sync.installers import (
    Installer,
    InstallerName,
    InstallFailed,
    LocalWheel,
    make_installer,
)
from lock_build.sync.prepare import prepare
from lock_build.sync.safety import check_own_needs
from lock_build.yanks import yanked_notes


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncResult:
    plan: Plan
    python: Path
    dry_run: bool
    built: tuple[str, ...] = ()  # builds run this time
    reused: tuple[str, ...] = ()  # builds taken from the wheel cache
    seconds: float = 0.0


def sources_policy(lock_dir: Path, settings: IndexSettings) -> SourcePolicy:
    """What this run lets a lock fetch from: its indexes, find-links and trusted hosts."""
    return SourcePolicy.for_run(
        lock_dir,
        locations=(*settings.index_urls, *settings.find_links),
        trusted_hosts=settings.trusted_hosts,
    )


def sync(
    lock: Lock,
    *,
    lock_dir: Path,
    python: Path,
    cache_dir: Path,
    dry_run: bool = False,
    installer: InstallerName = "builtin",
    jobs: int = 1,
    compile_bytecode: bool = True,
    break_system_packages: bool = False,
    settings: IndexSettings | None = None,
    reporter: Reporter = NULL_REPORTER,
    target_id: str | None = None,
) -> SyncResult:
    """Bring the environment of ``python`` to ``lock``; see the module docstring for the order.

    A lock with several targets is synced as the target ``python`` fits best, or as
    ``target_id``."""
    started = time.monotonic()
    report = reporter
    if settings is None:
        settings = load_index_settings(flags={}, input_options=None, cache_dir=None)
    # Where the lock's files may come from is this run's decision: refuse the rest now,
    # before anything is fetched or written.
    sources_policy(lock_dir, settings).check(lock)
    # absolute(), not resolve(): a venv's bin/python is a symlink to the base interpreter.
    python, cache_dir = python.absolute(), cache_dir.absolute()
    # Files the lock names relative to itself (a ./wheels find-links dir) made absolute once,
    # the target of a lock with several chosen, the interpreter checked, its packages read.
    prepared = prepare(
        lock,
        lock_dir=lock_dir,
        python=python,
        target_id=target_id,
        installer=installer,
        reporter=report,
        cache_dir=cache_dir,
    )
    lock, state = prepared.lock, prepared.state
    assert state is not None  # prepared against python's environment
    abi_check.check_lock(lock)
    if state.externally_managed and not break_system_packages and not dry_run:
        raise SyncError(
            f"{python} is an externally managed interpreter (PEP 668: {state.stdlib}/"
            "EXTERNALLY-MANAGED); lock-build will not change it.",
            path=python,
            hint="Sync a virtual environment (--python PATH), or pass --break-system-packages.",
        )
    tool = make_installer(
        installer,
        python,
        target_has_pip="pip" in state.installed,
        break_system_packages=break_system_packages,
        jobs=jobs,
        compile_bytecode=compile_bytecode,
        reporter=report,
        interpreter=prepared.interpreter,
    )
    interrupted = journal.read_journal(state.prefix)
    plan = prepared.plan_for(_trusted_installed(state, interrupted, lock))
    if interrupted is not None:
        plan = _repair_plan(plan, state, interrupted, report)
    check_own_needs(plan, state)  # before anything changes, and in a dry run too
    for note in yanked_notes(lock.packages):
        report.warn(note)
    if dry_run or not plan.changes:
        return SyncResult(
            plan=plan, python=python, dry_run=dry_run, seconds=time.monotonic() - started
        )
    for pkg in lock.runtime_packages():
        if pkg.source is not None and pkg.source.editable and pkg.source.kind != "directory":
            report.warn(f"{pkg.key} is locked as editable; sync installs a regular build of it.")
    for step in plan.builds:
        if step.sdist_sha256 is None:
            report.warn(
                f"{step.key} is built from an unhashed {step.source_kind or 'source'} "
                f"({step.source_url}); its content is not verified."
            )

    # What only a sync that changes something needs (wheel metadata checks) is imported
    # here: a sync with nothing to do starts without it.
    from lock_build.sync.metadata_check import check_wheels, wheel_problem

    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sync-", dir=cache_dir))
    # The installer may start on each wheel as it arrives (the builtin one unpacks it
    # beside the environment, see sync.staging): wheels the plan installs as they are.
    # Its metadata is checked then too: the main thread only waits while files download.
    # One wheel alone gains nothing from an early start.
    several = len(plan.install) > 1
    ready = {s.wheel: s for s in plan.install if s.wheel and not s.built} if several else {}
    known: dict[Path, str | None] = {}

    def arrived(filename: str, path: Path) -> None:
        if filename in ready:
            wheel = _locked_wheel(ready[filename], path)
            tool.stage(wheel)
            known[path] = wheel_problem(lock, wheel, built=False)

    abandon = True
    try:
        tool.expect(len(ready))
        files = _fetch_all(plan.fetch, cache_dir, settings, report, jobs, on_file=arrived)
        built, reused = _build_all(
            plan, lock, files, python, cache_dir, work, lock_dir, report, jobs
        )
        wheels = _install_set(plan, lock, files, built)
        check_wheels(lock, wheels, frozenset(built), known)
        # Remembered in the environment until the installer is done (see sync.journal).
        batch = journal.Journal(
            installing=tuple((canonicalize_name(w.name), w.version) for w in wheels),
            removing=tuple(r.name for r in plan.remove),
        )
        journal.begin(state.prefix, batch)
        _apply(plan, state, tool, wheels, report)
        journal.finish(state.prefix)
        abandon = False
    finally:
        tool.close(abandon=abandon)
        shutil.rmtree(work, ignore_errors=True)

    after = prepared.plan_for(inspect_environment(python, cache_dir=cache_dir).installed)
    if after.changes:
        left = ", ".join(
            [f"{s.name} ({s.action})" for s in after.install]
            + [f"{r.name} (remove)" for r in after.remove]
        )
        raise SyncError(
            f"After installing, the environment still differs from the lock: {left}.",
            path=python,
            hint="Another process may be changing it; run lock-build sync again.",
        )
    return SyncResult(
        plan=plan,
        python=python,
        dry_run=False,
        built=tuple(built_keys(plan, reused)),
        reused=tuple(reused),
        seconds=time.monotonic() - started,
    )


def _trusted_installed(
    state: EnvironmentState, interrupted: journal.Journal | None, lock: Lock
) -> dict[NormalizedName, InstalledDist]:
    """What is installed, less the locked packages an interrupted install was changing:
    their files are unverified, so the plan installs them again."""
    if interrupted is None:
        return state.installed
    locked = {pkg.name for pkg in lock.runtime_packages()}
    suspect = interrupted.names & locked
    return {name: dist for name, dist in state.installed.items() if name not in suspect}


def _repair_plan(
    plan: Plan, state: EnvironmentState, interrupted: journal.Journal, report: Reporter
) -> Plan:
    """Mark the reinstalls an interrupted install needs, and say what it left broken."""
    reason = "an earlier install was interrupted"
    steps = []
    for step in plan.install:
        have = state.installed.get(step.name)
        if step.name in interrupted.names and have is not None:
            damaged = journal.damaged_files(state.site_dirs, step.name, have.version)
            why = reason + (f"; {len(damaged)} file(s) differ from its RECORD" if damaged else "")
            same = have.version == str(step.version)
            step = replace(
                step,
                action="reinstall" if same else step.action,
                installed_version=have.version,
                reason=why,
            )
        steps.append(step)
    names = ", ".join(sorted(interrupted.names))
    report.warn(f"An earlier install into {state.python} was interrupted; repairing {names}.")
    return replace(plan, install=tuple(steps))


def built_keys(plan: Plan, reused: Sequence[str]) -> list[str]:
    return [s.key for s in plan.builds if s.key not in reused]


# --- fetch ------------------------------------------------------------------------------


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_all(
    steps: Sequence[FetchStep],
    cache_dir: Path,
    settings: IndexSettings,
    report: Reporter,
    jobs: int,
    on_file: Callable[[str, Path], None] = lambda name, path: None,
) -> dict[str, Path]:
    """filename -> verified local file. Artifacts are cached by sha256; ``on_file`` is
    told of each verified file as soon as it is there (cached, or downloaded).

    Each download streams into a temporary file beside its destination while it is
    hashed; only a file whose sha256 is the lock's is moved into the cache
    (:meth:`HttpClient.download`). The lock reader has checked every sha256 and filename
    (64 hex digits; a plain file name), so the destination is always inside the cache.
    """
    store = cache_dir / "artifacts"
    found: dict[str, Path] = {}
    missing: list[tuple[FetchStep, Path]] = []
    for step in steps:
        if step.sha256 is None or Path(step.filename).name != step.filename:
            raise SyncError(
                f"{step.name} {step.version}: {step.filename!r} has no sha256 in the lock or "
                "is not a plain file name; nothing was fetched.",
                package=step.name,
                hint="Regenerate the lock with lock-build compile.",
            )
        dest = store / step.sha256[:2] / step.sha256 / step.filename
        if dest.is_file() and _sha256_of(dest) == step.sha256:
            found[step.filename] = dest
            on_file(step.filename, dest)
        else:
            missing.append((step, dest))
    if not missing:
        return found
    # The CA bundle loads on a thread while requests and its adapters are imported (only
    # when something is downloaded; see index.tls_contexts).
    from lock_build.index import tls_contexts

    tls_contexts.preload([step.url for step, _ in missing], settings.cert)
    from lock_build.index.http import HttpClient

    client = HttpClient(settings, cache_dir, reporter=report)
    done = 0

    def one(item: tuple[FetchStep, Path]) -> tuple[str, Path]:
        step, dest = item
        client.download(step.url, dest, step.sha256)
        return step.filename, dest

    from concurrent.futures import ThreadPoolExecutor, as_completed

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(8, jobs * 2))) as pool:
            # Biggest first: the last to arrive is then a small one, and the biggest
            # wheel (the longest to unpack) is the first the installer can start on.
            missing.sort(key=lambda item: -(item[0].size or 0))
            for future in as_completed([pool.submit(one, item) for item in missing]):
                filename, path = future.result()
                done += 1
                found[filename] = path
                on_file(filename, path)
                report.fetching(
                    Fetching(kind="file", subject=filename, done=done, total=len(missing))
                )
    finally:
        client.close()
    report.debug(f"Fetched {len(missing)} artifact(s) ({len(steps) - len(missing)} cached)")
    return found


# --- build ------------------------------------------------------------------------------


def _build_all(
    plan: Plan,
    lock: Lock,
    files: Mapping[str, Path],
    python: Path,
    cache_dir: Path,
    work: Path,
    lock_dir: Path,
    report: Reporter,
    jobs: int,
) -> tuple[dict[str, Path], list[str]]:
    """key "name==version" -> built (stamped) wheel; and the keys taken from the cache."""
    # The build machinery (the wheel cache brings filelock: 25 ms) is imported only when
    # a sync builds: a sync of wheels alone, or with nothing to do, starts without it.
    if not plan.builds:
        return {}, []
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    from lock_build.building.wheel_cache import WheelCache

    cache = WheelCache(cache_dir / "wheels")
    tkey = target_key(lock.target)
    built: dict[str, Path] = {}
    reused: list[str] = []
    total = len(plan.builds)
    for stage in plan.build_stages:
        todo = []
        for step in stage:
            hit = (
                cache.get(step.sdist_sha256, step.fingerprint, tkey) if step.sdist_sha256 else None
            )
            if hit is not None:
                built[step.key] = hit
                reused.append(step.key)
                report.debug(f"Reusing the cached build of {step.key}")
            else:
                todo.append(step)
        if not todo:
            continue
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {
                pool.submit(
                    _build_one, step, lock, files, built, python, work, lock_dir, cache_dir
                ): step
                for step in todo
            }
            for step in todo:
                report.building(
                    Building(
                        package=step.name,
                        version=str(step.version),
                        step="wheel",
                        done=len(built) + 1,
                        total=total,
                    )
                )
            finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:
                future.cancel()
            errors = [f.exception() for f in finished if f.exception() is not None]
            if errors:
                # Let running builds end before we leave (and delete their directories).
                pool.shutdown(wait=True, cancel_futures=True)
                raise errors[0]  # type: ignore[misc]
            for future in futures:
                step = futures[future]
                wheel = future.result()
                if step.sdist_sha256:
                    wheel = cache.put(wheel, step.sdist_sha256, step.fingerprint, tkey)
                built[step.key] = wheel
                report.info(f"Built {wheel.name}")
    return built, reused


def _build_one(
    step: BuildStep,
    lock: Lock,
    files: Mapping[str, Path],
    built: Mapping[str, Path],
    python: Path,
    work: Path,
    lock_dir: Path,
    cache_dir: Path,
) -> Path:
    from lock_build.building import hooks
    from lock_build.building.build_system import read_build_system
    from lock_build.building.environment import BuildEnvironment as BuildVenv
    from lock_build.building.failure_hints import KnownBuildFailure
    from lock_build.building.wheel_stamp import stamp_wheel

    wheels = []
    for pin in step.pins:
        if pin.built:
            wheels.append(built[f"{pin.name}=={pin.version}"])
        else:
            assert pin.wheel is not None
            wheels.append(files[pin.wheel])
    where = Path(tempfile.mkdtemp(prefix=f"{step.name}-", dir=work))
    try:
        source_dir = _source_tree(step, files, where / "src", lock_dir)
        build_system = read_build_system(source_dir)
        # The venv root is in the cache dir so the build log (root/logs) outlives the
        # build and an error message can point at it.
        with BuildVenv.create(python, wheels, cache_dir / "builds") as env:
            try:
                wheel = hooks.build_wheel(
                    env,
                    source_dir,
                    build_system,
                    dict(step.config_settings) or None,
                    where / "out",
                    substituted=step.substituted,
                    editable=step.editable,
                )
            except BuildError as exc:
                # A known cause's fix stays last: the option is what the user acts on.
                known = f" {exc.hint}" if isinstance(exc, KnownBuildFailure) else ""
                raise BuildError(
                    f"Building {step.key} failed. {exc.message}",
                    package=step.name,
                    version=step.version,
                    hook=exc.hook,
                    log=exc.log,
                    hint="Nothing in the target environment was changed." + known,
                    detail=exc.detail,
                ) from exc
        stamp_wheel(wheel, {p.name: str(p.version) for p in step.pins}, step.fingerprint)
        final = work / "built" / wheel.name
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(wheel), final)
        return final
    finally:
        shutil.rmtree(where, ignore_errors=True)


def _source_tree(step: BuildStep, files: Mapping[str, Path], dest: Path, lock_dir: Path) -> Path:
    from lock_build.archives import extract_archive

    if step.sdist is not None:
        return extract_archive(files[step.sdist], dest)
    if step.source_kind == "directory" and step.source_url:
        src = Path(step.source_url)
        src = src if src.is_absolute() else (lock_dir / src)
        if not src.is_dir():
            raise BuildError(
                f"{step.key}: the local directory {src} does not exist.",
                package=step.name,
                version=step.version,
            )
        if step.editable:
            return src.resolve()  # an editable install points at the project itself
        # Build a copy: backends write build/ and egg-info/ into the tree they get.
        shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".git", "build", "*.egg-info"))
        return dest
    if step.source_kind == "vcs" and step.source_url:
        url = step.source_url.removeprefix("git+")
        try:
            subprocess.run(
                ["git", "clone", "--quiet", url, str(dest)],
                check=True,
                capture_output=True,
                text=True,
            )
            if step.source_commit:
                subprocess.run(
                    ["git", "-C", str(dest), "checkout", "--quiet", step.source_commit],
                    check=True,
                    capture_output=True,
                    text=True,
                )
        except (OSError, subprocess.CalledProcessError) as exc:
            raise BuildError(
                f"{step.key}: cannot clone {redact(url)}.",
                package=step.name,
                version=step.version,
                detail=str(exc),
            ) from exc
        return dest / step.source_subdirectory if step.source_subdirectory else dest
    raise BuildError(
        f"{step.key}: the lock names no sdist or source to build it from.",
        package=step.name,
        version=step.version,
    )


# --- check and install ------------------------------------------------------------------


def _locked_wheel(step: InstallStep, path: Path) -> LocalWheel:
    """The lock's wheel for ``step`` (not built here), verified at ``path``."""
    assert step.sha256 is not None
    return LocalWheel(name=step.name, version=str(step.version), path=path, sha256=step.sha256)


def _install_set(
    plan: Plan, lock: Lock, files: Mapping[str, Path], built: Mapping[str, Path]
) -> list[LocalWheel]:
    """The wheels to install; refuses a built wheel whose shared ABI pins differ at runtime."""
    from lock_build.building.wheel_stamp import read_wheel_stamp

    wheels = []
    for step in plan.install:
        key = f"{step.name}=={step.version}"
        if not step.built:
            assert step.wheel is not None
            wheels.append(_locked_wheel(step, files[step.wheel]))
            continue
        wheel = built[key]
        stamp = read_wheel_stamp(wheel) or {}
        build = lock.build_for(step.name, step.version)
        expected = next(b.fingerprint for b in plan.builds if b.key == key)
        if stamp.get("fingerprint") != expected:
            raise SyncError(
                f"The built wheel {wheel.name} is not stamped with the build "
                "fingerprint the lock implies.",
                package=step.name,
                path=wheel,
                hint="Clear the wheel cache and retry.",
            )
        pins = stamp.get("pins") or {}
        if build is not None:
            abi_check.check_built_wheel(lock, build, pins)
        for name in build.shared if build else ():
            runtime = lock.package(name)
            if runtime is not None and pins.get(name) != str(runtime.version):
                raise SyncError(
                    f"{wheel.name} was built against {name} {pins.get(name)}, but the lock "
                    f"installs {name} {runtime.version}: the extension would not load.",
                    package=step.name,
                    path=wheel,
                    hint="The lock is inconsistent; regenerate it with lock-build compile.",
                )
        wheels.append(
            LocalWheel(
                name=step.name, version=str(step.version), path=wheel, sha256=_sha256_of(wheel)
            )
        )
    return wheels


def _apply(
    plan: Plan,
    before: EnvironmentState,
    tool: Installer,
    wheels: Sequence[LocalWheel],
    report: Reporter,
) -> None:
    try:
        report.installing(Installing(step="install", total=len(wheels)))
        tool.install(wheels)
        if plan.remove:
            report.installing(Installing(step="remove", total=len(plan.remove)))
            tool.uninstall([r.name for r in plan.remove])
    except InstallFailed as exc:
        raise SyncError(
            f"{tool.name} failed while changing {before.python}: {_changes(before)}.",
            path=before.python,
            hint="Run lock-build sync again to complete the job.",
            detail=f"$ {exc.command}\n{exc.output}",
        ) from exc
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        raise SyncInterrupted(
            f"{'Terminated' if terminated else 'Interrupted'} while changing {before.python}: "
            f"{_changes(before)}.",
            terminated=terminated,
            path=before.python,
            hint="Run lock-build sync again to complete the job.",
        ) from None


def _changes(before: EnvironmentState) -> str:
    try:
        after = inspect_environment(before.python).versions()
    except LockBuildError:
        return "what changed could not be determined"
    old = before.versions()
    parts = []
    for name in sorted(set(old) | set(after)):
        a, b = old.get(name), after.get(name)
        if a == b:
            continue
        if a is None:
            parts.append(f"installed {name} {b}")
        elif b is None:
            parts.append(f"removed {name} {a}")
        else:
            parts.append(f"changed {name} {a} -> {b}")
    return "so far " + (", ".join(parts) if parts else "nothing changed")


__all__ = ["SyncResult", "sync"]
