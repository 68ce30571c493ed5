"""pip and uv, driven only through their command lines, against a target interpreter,
and a builtin installer (PyPA ``installer``) that unpacks wheels in parallel.

Everything they install is a local file we already verified; they get no index,
no dependency resolution and no configuration of their own, so they cannot add
anything the lock did not name.

Why one long module: three implementations of the one :class:`Installer` protocol
(pip, uv, builtin) and :func:`make_installer` choosing among them; the builtin installer
hands uninstalls to pip and shares the command helpers, so they read best side by side.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from packaging.utils import canonicalize_name

from lock_build.errors import SyncError
from lock_build.reporting import NULL_REPORTER, Installing, Reporter

# What only an install uses (the unpacking threads, the compile pool, PyPA installer in
# sync.wheel_unpack) is imported where it is used: a sync with nothing to do skips it.
if TYPE_CHECKING:
    from concurrent.futures import Future

    from lock_build.sync.bytecode import CompilePool, Source
    from lock_build.sync.staging import StagingArea
    from lock_build.sync.unpack_pool import UnpackPool
    from lock_build.sync.wheel_unpack import Share, Survey
    from lock_build.target import Interpreter

InstallerName = Literal["pip", "uv", "builtin"]

# pip-sync's rule: never remove the installer's own tooling unless the lock lists it.
_SPARED = {
    "pip": ("pip", "setuptools", "wheel", "distribute", "pkg-resources"),
    "uv": ("uv", "pip", "setuptools", "wheel", "distribute", "pkg-resources"),
    # The builtin installer removes (and replaces) through the target's pip.
    "builtin": ("pip", "setuptools", "wheel", "distribute", "pkg-resources"),
}


def spared_by(installer: InstallerName) -> tuple[str, ...]:
    """The names sync with ``installer`` never removes unless the lock lists them."""
    return _SPARED[installer]


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalWheel:
    name: str
    version: str
    path: Path
    sha256: str


def _link_all(wheels: Sequence[LocalWheel], directory: Path) -> None:
    # Installing `name==version` from a find-links directory (rather than by path) keeps
    # `pip freeze` showing plain pins instead of file:// URLs into our cache.
    for wheel in wheels:
        dest = directory / wheel.path.name
        try:
            os.link(wheel.path, dest)
        except OSError:
            shutil.copyfile(wheel.path, dest)


class InstallFailed(Exception):
    """The installer exited non-zero; the executor reports what changed."""

    def __init__(self, command: str, output: str) -> None:
        super().__init__(command)
        self.command = command
        self.output = output


class Installer(Protocol):
    name: str

    def spared(self) -> tuple[str, ...]: ...

    def expect(self, count: int) -> None:
        """``count`` wheels are about to be fetched for installing: what staging them
        needs may start now, in the background."""

    def stage(self, wheel: LocalWheel) -> None:
        """``wheel`` is verified and will be installed: work that changes nothing in the
        environment may start on it now (while the rest downloads)."""

    def install(self, wheels: Sequence[LocalWheel]) -> None: ...

    def uninstall(self, names: Sequence[str]) -> None: ...

    def close(self, *, abandon: bool = False) -> None:
        """Let go of what :meth:`stage` started; ``abandon``: the sync failed."""


def _quiet_environ() -> dict[str, str]:
    # We pass every option ourselves; the user's pip/uv configuration must not add
    # an index, --user, or a constraint that changes what gets installed.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        UV_NO_CONFIG="1",
    )
    return env


def _run(cmd: list[str]) -> None:
    try:
        completed = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            check=False,
            env=_quiet_environ(),
            stdin=subprocess.DEVNULL,
        )
    except OSError as exc:
        raise InstallFailed(" ".join(cmd), str(exc)) from exc
    if completed.returncode != 0:
        raise InstallFailed(" ".join(cmd), (completed.stdout + completed.stderr).strip())


class PipInstaller:
    """pip in the target environment, or this interpreter's pip with ``--python``."""

    name = "pip"

    def __init__(
        self,
        python: Path,
        *,
        target_has_pip: bool,
        break_system_packages: bool,
        compile_bytecode: bool = True,
    ) -> None:
        if target_has_pip:
            self.base = [str(python), "-m", "pip"]
        elif importlib.util.find_spec("pip") is not None:
            # pip >= 22.3 can act on another interpreter: no pip needed in the target.
            self.base = [sys.executable, "-m", "pip", "--python", str(python)]
        else:
            raise SyncError(
                f"The target environment ({python}) has no pip, and neither has lock-build's.",
                path=python,
                hint="Install pip into it, or use --installer uv.",
            )
        self.extra = ["--break-system-packages"] if break_system_packages else []
        self.compile = [] if compile_bytecode else ["--no-compile"]

    def spared(self) -> tuple[str, ...]:
        return _SPARED["pip"]

    def expect(self, count: int) -> None:
        pass

    def stage(self, wheel: LocalWheel) -> None:
        pass  # pip takes the wheels all at once

    def close(self, *, abandon: bool = False) -> None:
        pass

    def install(self, wheels: Sequence[LocalWheel]) -> None:
        if not wheels:
            return
        with tempfile.TemporaryDirectory(prefix="lock-build-install-") as tmp:
            links = Path(tmp) / "wheels"
            links.mkdir()
            _link_all(wheels, links)
            reqs = Path(tmp) / "requirements.txt"
            reqs.write_text(
                "".join(f"{w.name}=={w.version} --hash=sha256:{w.sha256}\n" for w in wheels),
                encoding="utf-8",
            )
            _run(
                [
                    *self.base,
                    "install",
                    "--no-deps",
                    "--no-index",
                    "--find-links",
                    str(links),
                    "--require-hashes",
                    "--force-reinstall",
                    "--no-cache-dir",
                    *self.compile,
                    *self.extra,
                    "-r",
                    str(reqs),
                ]
            )

    def uninstall(self, names: Sequence[str]) -> None:
        if names:
            _run([*self.base, "uninstall", "-y", *self.extra, *names])


# Where `pip install uv` beside lock-build puts it (the same venv's bin directory).
UV_BESIDE = Path(sys.executable).parent


def find_uv() -> str | None:
    """uv on PATH, else the one installed beside lock-build."""
    beside = UV_BESIDE / "uv"
    return shutil.which("uv") or (str(beside) if beside.exists() else None)


class UvInstaller:
    """``uv pip`` against the target interpreter, offline, from our verified files."""

    name = "uv"

    def __init__(
        self, python: Path, *, break_system_packages: bool, compile_bytecode: bool = True
    ) -> None:
        uv = find_uv()
        if uv is None:
            raise SyncError(
                "--installer uv was given, but uv is not on PATH nor beside lock-build.",
                hint="Install uv (e.g. `pipx install uv`) or use the default --installer pip.",
            )
        self.base = [uv, "pip"]
        self.python = python
        self.extra = ["--break-system-packages"] if break_system_packages else []
        # uv leaves bytecode uncompiled unless asked; lock-build compiles as pip does.
        self.compile = ["--compile-bytecode"] if compile_bytecode else []

    def spared(self) -> tuple[str, ...]:
        return _SPARED["uv"]

    def expect(self, count: int) -> None:
        pass

    def stage(self, wheel: LocalWheel) -> None:
        pass  # uv takes the wheels all at once

    def close(self, *, abandon: bool = False) -> None:
        pass

    def install(self, wheels: Sequence[LocalWheel]) -> None:
        if not wheels:
            return
        with tempfile.TemporaryDirectory(prefix="lock-build-install-") as tmp:
            links = Path(tmp)
            _link_all(wheels, links)
            _run(
                [
                    *self.base,
                    "install",
                    "--python",
                    str(self.python),
                    "--no-deps",
                    "--offline",
                    "--no-index",
                    "--find-links",
                    str(links),
                    "--reinstall",
                    *self.compile,
                    *self.extra,
                    *(f"{w.name}=={w.version}" for w in wheels),
                ]
            )

    def uninstall(self, names: Sequence[str]) -> None:
        if names:
            _run([*self.base, "uninstall", "--python", str(self.python), *self.extra, *names])


# -- builtin -------------------------------------------------------------------------

# Asked of the target interpreter: where its default install scheme puts things.
_SCHEME_SCRIPT = """
import json, sys, sysconfig
print(json.dumps({"paths": sysconfig.get_paths(), "venv": sys.prefix != sys.base_prefix,
                  "prefix": sys.prefix, "version": sysconfig.get_python_version()}))
"""

_INSTALLER_NAME = b"lock-build\n"
# The metadata files pip adds to a wheel it installs with `pip install -r`.
_METADATA = {"INSTALLER": _INSTALLER_NAME, "REQUESTED": b""}


def _layout_of(interpreter: Interpreter) -> _Layout:
    """The scheme the probe of ``interpreter`` found, as the scheme script reports it."""
    layout = interpreter.layout
    keys = ("purelib", "platlib", "scripts", "data", "include")
    return _Layout(
        paths={key: str(getattr(layout, key)) for key in keys},
        venv=layout.prefix != layout.base_prefix,
        prefix=str(layout.prefix),
        version=interpreter.target.python_version,
    )


def _probe_json(python: Path, script: str) -> Any:
    try:
        completed = subprocess.run(
            [str(python), "-I", "-c", script],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            env=_quiet_environ(),
        )
    except OSError as exc:
        raise InstallFailed(f"{python} -c <script>", str(exc)) from exc
    if completed.returncode != 0:
        raise InstallFailed(f"{python} -c <script>", completed.stderr.strip())
    return json.loads(completed.stdout)


@dataclass(frozen=True, kw_only=True, slots=True)
class _Unpacked:
    record: Path  # the dist-info's RECORD
    sources: tuple[Source, ...]  # the .py files written, in RECORD order


@dataclass(frozen=True, kw_only=True, slots=True)
class _Installed:
    record: Path
    sources: tuple[str, ...]  # absolute paths of the .py files written, in RECORD order
    compiled: tuple[Future[dict[str, str]], ...]  # source -> the .pyc the pool wrote for it


@dataclass(frozen=True, kw_only=True, slots=True)
class _Layout:
    """Where the target installs (its default ``sysconfig`` scheme) and what it is."""

    paths: dict[str, str]
    venv: bool
    prefix: str
    version: str


class BuiltinInstaller:
    """Wheels unpacked in parallel by PyPA ``installer`` into the target's default scheme.

    The target is asked for its ``sysconfig`` paths; ``.pyc`` files are compiled by the
    target interpreter as pip compiles them and listed in ``RECORD``; ``INSTALLER`` and
    ``REQUESTED`` are written as pip writes them for ``pip install -r`` (lock-build names
    itself as the installer). Files that two wheels would both write (with different
    contents) are an error before anything is written. Replacing an installed version
    and removing packages is left to the target's pip.

    With ``jobs`` > 1, a virtual environment's wheels are unpacked into a staging area in
    its prefix as soon as each is downloaded (:meth:`stage`), and moved in once every
    wheel has been checked (see sync.staging).
    """

    name = "builtin"

    def __init__(
        self,
        python: Path,
        *,
        target_has_pip: bool,
        break_system_packages: bool,
        jobs: int = 4,
        compile_bytecode: bool = True,
        reporter: Reporter = NULL_REPORTER,
        interpreter: Interpreter | None = None,
    ) -> None:
        self.python = python
        self._compile = compile_bytecode
        self._target_has_pip = target_has_pip
        self._break = break_system_packages
        self._jobs = max(1, jobs)
        self._reporter = reporter
        self._pip: PipInstaller | None = None
        # The target's scheme: from the probe sync made (``interpreter``), else asked for
        # when there is something to install (a sync with nothing to do does not start
        # the interpreter for it).
        self._layout: _Layout | None = _layout_of(interpreter) if interpreter else None
        # Staging (see stage()): the area, the workers unpacking into it, and each staged
        # wheel's number there and pending result. _staging_tried: decided once.
        self._area: StagingArea | None = None
        self._stagers: UnpackPool | None = None
        self._staged: dict[Path, tuple[int, Future[tuple[str, tuple[Source, ...]]]]] = {}
        self._staging_tried = False
        # expect() makes the area in the background; stage() waits for it under the lock.
        self._staging_lock = threading.Lock()
        self._staging_starter: threading.Thread | None = None
        # Each wheel's files (see _targets), read when it is staged: the main thread is
        # idle while downloads run, and the check before moving in then only compares.
        self._read_targets: dict[Path, dict[str, str]] = {}

    def _target(self) -> _Layout:
        if self._layout is None:
            info = _probe_json(self.python, _SCHEME_SCRIPT)
            self._layout = _Layout(
                paths=info["paths"],
                venv=info["venv"],
                prefix=info["prefix"],
                version=info["version"],
            )
        return self._layout

    def spared(self) -> tuple[str, ...]:
        return _SPARED["builtin"]

    def _pip_installer(self) -> PipInstaller:
        if self._pip is None:
            try:
                self._pip = PipInstaller(
                    self.python,
                    target_has_pip=self._target_has_pip,
                    break_system_packages=self._break,
                )
            except SyncError as exc:
                raise InstallFailed("pip uninstall", exc.message) from exc
        return self._pip

    def uninstall(self, names: Sequence[str]) -> None:
        if names:
            self._pip_installer().uninstall(names)

    def expect(self, count: int) -> None:
        """Make the staging area (probing the target's scheme if sync's probe did not
        bring it) and start the unpack workers while the first wheels download: the
        first to arrive is then unpacked at once."""
        if count < 2 or self._jobs < 2 or self._staging_starter is not None:
            return
        self._staging_starter = threading.Thread(
            target=self._start_staging, name="lock-build-staging", daemon=True
        )
        self._staging_starter.start()

    def _start_staging(self) -> None:
        # What fails here fails again where install() asks, and is reported there.
        with contextlib.suppress(Exception):
            self._staging_area()

    def stage(self, wheel: LocalWheel) -> None:
        """Start unpacking ``wheel`` into the staging area, where this installer stages;
        :meth:`install` moves it in after the checks."""
        area = self._staging_area()
        if area is None or self._stagers is None or wheel.path in self._staged:
            return
        index = len(self._staged)
        scheme, headers = self._layout_scheme()
        # One reading of the wheel serves its shares and the check: a wheel that may be
        # shared is read before it is sent, any other while its worker unpacks it.
        shareable = _may_share(wheel)
        survey = _survey_or_none(wheel) if shareable else None
        future = self._submit(
            wheel,
            self._stagers,
            scheme=area.staged(index, scheme),
            headers_base=area.staged(index, {"headers": headers})["headers"],
            survey=survey,
        )
        self._staged[wheel.path] = (index, future)
        if not shareable:
            survey = _survey_or_none(wheel)
        if survey is not None:  # None: unreadable, reported by the check in install()
            self._read_targets[wheel.path] = self._targets(survey)

    def close(self, *, abandon: bool = False) -> None:
        if self._staging_starter is not None:
            self._staging_starter.join()
        if self._stagers is not None:
            if abandon:
                self._stagers.kill()
            self._stagers.close()
            self._stagers = None
        if self._area is not None:
            self._area.remove()
            self._area = None

    def _staging_area(self) -> StagingArea | None:
        """The staging area, made with its workers on first use; None where this installer
        unpacks in place (one job, not a venv, a scheme renames cannot reach)."""
        with self._staging_lock:
            if not self._staging_tried:
                self._staging_tried = True
                self._area = self._new_staging_area()
            return self._area

    def _new_staging_area(self) -> StagingArea | None:
        if self._jobs < 2:
            return None
        from lock_build.sync.staging import StagingArea
        from lock_build.sync.unpack_pool import UnpackFailed, UnpackPool

        try:
            target = self._target()
        except InstallFailed:
            return None  # install() asks again and reports it
        if not target.venv:
            return None
        scheme, headers = self._layout_scheme()
        area = StagingArea.create(target.prefix, [*scheme.values(), headers])
        if area is None:
            return None
        try:
            self._stagers = UnpackPool(workers=self._jobs, env=os.environ)
        except UnpackFailed:
            area.remove()
            return None
        return area

    def install(self, wheels: Sequence[LocalWheel]) -> None:
        if not wheels:
            return
        if len(wheels) > 1 or self._staged:
            for wheel in wheels:  # what was not staged while downloading (built, cached)
                self.stage(wheel)
        # The compile and unpack workers start first: their start-up overlaps the checks.
        pool = self._compile_pool()
        with pool or contextlib.nullcontext(), self._unpack_pool(len(wheels)) as unpackers:
            self._target()  # before the threads need it
            self._check_no_shared_files(wheels)
            replaced = self._installed_names({canonicalize_name(w.name) for w in wheels})
            if replaced:
                self._pip_installer().uninstall(sorted(replaced))
            results = self._unpack(wheels, pool, unpackers)
            if pool is None:
                return
            self._reporter.installing(Installing(step="bytecode", total=len(wheels)))
            for installed in results:
                _add_to_record(installed.record, _compiled(installed))

    def _compile_pool(self) -> CompilePool | None:
        """The target's compile workers, or None under --no-compile."""
        if not self._compile:
            return None
        from lock_build.sync.bytecode import CompileFailed, CompilePool

        try:
            return CompilePool(self.python, workers=self._jobs, env=_quiet_environ())
        except CompileFailed as exc:
            raise InstallFailed(exc.command, exc.output) from exc

    @contextlib.contextmanager
    def _unpack_pool(self, count: int) -> Iterator[UnpackPool | None]:
        """Worker processes to unpack in (see sync.unpack_pool); None for one job or wheel:
        then this process unpacks, one wheel after the other. The staging workers, if
        staging: close() ends them."""
        if self._stagers is not None:
            yield self._stagers
            return
        workers = min(self._jobs, count)
        if workers < 2:
            yield None
            return
        from lock_build.sync.unpack_pool import UnpackFailed, UnpackPool

        try:
            pool = UnpackPool(workers=workers, env=os.environ)
        except UnpackFailed as exc:
            raise InstallFailed("start the unpack workers", exc.message) from exc
        with pool:
            yield pool

    def _unpack(
        self,
        wheels: Sequence[LocalWheel],
        pool: CompilePool | None,
        unpackers: UnpackPool | None,
    ) -> list[_Installed]:
        """Every wheel unpacked, smallest first; each one's files go to the compile pool as
        soon as it and the wheels before it are unpacked (in order: see sync.bytecode).

        Smallest first, because the order of submission is fixed: the wheels then finish
        in about that order, so none waits long for a bigger one before it (biggest first,
        every wheel waited for the biggest and nothing compiled until the last one was
        unpacked); the big ones' batches are spread over every worker at the end."""
        from concurrent.futures import as_completed

        from lock_build.building.environment import ignore_shipped_pycache_warnings

        ignore_shipped_pycache_warnings()  # the same filter in this process (see there)
        order = sorted(wheels, key=lambda w: (_size_of(w.path), w.path.name))
        unpacked: dict[int, _Unpacked] = {}
        results: list[_Installed] = []
        stream: Iterator[tuple[int, _Unpacked]]
        if unpackers is None:  # here, one after the other
            stream = ((i, self._unpack_here(wheel)) for i, wheel in enumerate(order))
        else:
            futures: dict[Future[tuple[str, tuple[Source, ...]]], int] = {
                self._future_of(wheel, unpackers): i for i, wheel in enumerate(order)
            }
            unpackers.no_more()
            stream = (
                (futures[f], self._unpacked(order[futures[f]], f)) for f in as_completed(futures)
            )
        for done, (position, finished) in enumerate(stream, start=1):
            unpacked[position] = finished
            self._reporter.installing(Installing(step="unpack", total=len(wheels), done=done))
            while (one := unpacked.pop(len(results), None)) is not None:
                one = self._moved_in(order[len(results)], one)
                results.append(
                    _Installed(
                        record=one.record,
                        sources=tuple(source.path for source in one.sources),
                        compiled=pool.submit(one.sources) if pool else (),
                    )
                )
        return results

    # -- steps ----------------------------------------------------------------------

    def _layout_scheme(self) -> tuple[dict[str, str], str]:
        """Where each part of a wheel goes, and the directory whose ``<distribution>``
        sub-directory takes its headers."""
        target = self._target()
        scheme = {key: target.paths[key] for key in ("purelib", "platlib", "scripts", "data")}
        if target.venv:  # pip's venv layout for headers
            return scheme, os.path.join(target.prefix, "include", "site", f"python{target.version}")
        return scheme, target.paths["include"]

    def _scheme(self, distribution: str) -> dict[str, str]:
        scheme, headers = self._layout_scheme()
        return {**scheme, "headers": os.path.join(headers, distribution)}

    def _installed_names(self, names: set[str]) -> set[str]:
        """Which of ``names`` the target already has (their files are pip's to remove)."""
        found: set[str] = set()
        for key in ("purelib", "platlib"):
            site = Path(self._target().paths[key])
            if not site.is_dir():
                continue
            for dist_info in site.glob("*.dist-info"):
                name = canonicalize_name(dist_info.name[: -len(".dist-info")].split("-")[0])
                if name in names:
                    found.add(name)
        return found

    def _targets(self, survey: Survey) -> dict[str, str]:
        """Destination path -> sha256 (from the wheel's RECORD, "" if none) of its files."""
        scheme = self._scheme(survey.distribution)
        data_dir = f"{survey.data_dir}/"
        found: dict[str, str] = {}
        for record in survey.records:
            member = record.path
            if member.startswith(data_dir):
                kind, _, rest = member[len(data_dir) :].partition("/")
                base = scheme.get(kind)
                if base is None or not rest:
                    continue
                dest = os.path.join(base, rest)
            else:
                dest = os.path.join(scheme[survey.root], member)
            found[os.path.normpath(dest)] = record.hash_.value if record.hash_ else ""
        return found

    def _check_no_shared_files(self, wheels: Sequence[LocalWheel]) -> None:
        owner: dict[str, tuple[str, str]] = {}
        for wheel in wheels:
            try:
                targets = self._read_targets.get(wheel.path) or self._targets(_survey(wheel))
            except _unreadable_errors() as exc:
                raise InstallFailed(f"read {wheel.path.name}", str(exc)) from exc
            for dest, digest in targets.items():
                if dest in owner and (not digest or owner[dest][1] != digest):
                    raise SyncError(
                        f"{owner[dest][0]} and {wheel.path.name} both install {dest}; "
                        "nothing was installed.",
                        hint="One would overwrite the other (and removing either would break "
                        "the other): pin versions that do not collide, or use --installer pip.",
                    )
                owner[dest] = (wheel.path.name, digest)

    def _unpack_job(self, wheel: LocalWheel) -> dict[str, Any]:
        """What unpacking ``wheel`` takes: where each part of it goes, and the metadata
        files pip adds (headers go under ``headers_base/<distribution>``)."""
        scheme, headers = self._layout_scheme()
        return {
            "wheel": str(wheel.path),
            "scheme": scheme,
            "headers_base": headers,
            "interpreter": str(self.python),
        }

    def _unpack_here(self, wheel: LocalWheel) -> _Unpacked:
        from lock_build.sync.wheel_unpack import unpack

        try:
            record, sources = unpack(**self._unpack_job(wheel), additional_metadata=_METADATA)
        except _unreadable_errors() as exc:
            raise InstallFailed(f"install {wheel.path.name}", str(exc)) from exc
        return _Unpacked(record=Path(record), sources=tuple(sources))

    def _future_of(
        self, wheel: LocalWheel, unpackers: UnpackPool
    ) -> Future[tuple[str, tuple[Source, ...]]]:
        """The staged wheel's pending result, or ``wheel`` sent to be unpacked in place."""
        if wheel.path in self._staged:
            return self._staged[wheel.path][1]
        scheme, headers = self._layout_scheme()
        survey = _survey_or_none(wheel) if _may_share(wheel) else None
        return self._submit(wheel, unpackers, scheme=scheme, headers_base=headers, survey=survey)

    def _submit(
        self,
        wheel: LocalWheel,
        unpackers: UnpackPool,
        *,
        scheme: dict[str, str],
        headers_base: str,
        survey: Survey | None,
    ) -> Future[tuple[str, tuple[Source, ...]]]:
        """``wheel`` queued whole, or (``survey`` given: one that may be shared, see
        wheel_unpack.shares) as installer's job and shares of its library files for the
        other workers; one future either way. An unreadable wheel goes whole: installer's
        job reports it."""
        from lock_build.sync.wheel_unpack import shares

        interpreter = str(self.python)
        parts = shares(survey, self._jobs) if survey is not None else []
        whole = unpackers.submit(
            str(wheel.path),
            scheme=scheme,
            headers_base=headers_base,
            interpreter=interpreter,
            additional_metadata=_METADATA,
            others=[name for part in parts for name, _, _ in part],
        )
        if not parts:
            return whole
        pieces = [
            unpackers.submit_share(
                str(wheel.path),
                scheme=scheme,
                headers_base=headers_base,
                interpreter=interpreter,
                members=[name for name, _, _ in part],
            )
            for part in parts
        ]
        return _joined(whole, parts, pieces)

    def _moved_in(self, wheel: LocalWheel, unpacked: _Unpacked) -> _Unpacked:
        """A staged wheel moved into the environment, with its final paths; a wheel
        unpacked in place as it is."""
        if self._area is None or wheel.path not in self._staged:
            return unpacked
        from lock_build.sync.bytecode import Source

        area, index = self._area, self._staged[wheel.path][0]
        try:
            area.move_in(index)
            return _Unpacked(
                record=Path(area.final(index, str(unpacked.record))),
                sources=tuple(
                    Source(path=area.final(index, source.path), size=source.size)
                    for source in unpacked.sources
                ),
            )
        except (OSError, ValueError) as exc:
            raise InstallFailed(f"install {wheel.path.name}", str(exc)) from exc

    def _unpacked(
        self, wheel: LocalWheel, future: Future[tuple[str, tuple[Source, ...]]]
    ) -> _Unpacked:
        from lock_build.sync.unpack_pool import UnpackFailed

        try:
            record, sources = future.result()
        except UnpackFailed as exc:
            raise InstallFailed(f"install {wheel.path.name}", exc.output or exc.message) from exc
        return _Unpacked(record=Path(record), sources=sources)


# Only a wheel this big may have enough files to share (see wheel_unpack.shares): the
# others are not opened to count.
_SHARED_WHEEL_BYTES = 2 * 1024 * 1024


def _may_share(wheel: LocalWheel) -> bool:
    return _size_of(wheel.path) >= _SHARED_WHEEL_BYTES


def _survey(wheel: LocalWheel) -> Survey:
    from lock_build.sync.wheel_unpack import Survey

    return Survey(wheel.path)


def _survey_or_none(wheel: LocalWheel) -> Survey | None:
    try:
        return _survey(wheel)
    except _unreadable_errors():
        return None


def _unreadable_errors() -> tuple[type[Exception], ...]:
    """What reading a broken wheel raises (installer is imported only when installing)."""
    from lock_build.sync.wheel_unpack import UNREADABLE

    return UNREADABLE


def _joined(
    whole: Future[tuple[str, tuple[Source, ...]]],
    stated: Sequence[Share],
    pieces: Sequence[Future[tuple[Share, tuple[Source, ...]]]],
) -> Future[tuple[str, tuple[Source, ...]]]:
    """One future for a wheel unpacked in shares: its RECORD (corrected where a shared
    file is not what the wheel's RECORD says) and every .py file written, installer's
    first; the first failure if any part failed."""
    import threading
    from concurrent.futures import Future

    from lock_build.sync.unpack_pool import UnpackFailed
    from lock_build.sync.wheel_unpack import correct_record

    joined: Future[tuple[str, tuple[Source, ...]]] = Future()
    parts: list[Future[Any]] = [whole, *pieces]
    left = [len(parts)]
    lock = threading.Lock()

    def finish() -> None:
        failed = next((f.exception() for f in parts if f.exception() is not None), None)
        if failed is not None:
            joined.set_exception(failed)
            return
        record, sources = whole.result()
        try:
            for share, piece in zip(stated, pieces, strict=True):
                written, more = piece.result()
                correct_record(record, share, written)
                sources += more
        except OSError as exc:
            joined.set_exception(UnpackFailed(f"cannot correct {record}: {exc}"))
            return
        joined.set_result((record, sources))

    def one_done(_: Future[Any]) -> None:
        with lock:
            left[0] -= 1
            last = left[0] == 0
        if last:
            finish()

    for part in parts:
        part.add_done_callback(one_done)
    return joined


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _compiled(installed: _Installed) -> list[str]:
    """The ``.pyc`` files written for ``installed``, in the order of their sources (named
    by the target: its cache tag may not be lock-build's)."""
    from lock_build.sync.bytecode import CompileFailed

    written: dict[str, str] = {}
    for future in installed.compiled:
        try:
            written.update(future.result())
        except CompileFailed as exc:
            raise InstallFailed(exc.command, exc.output) from exc
    return [written[path] for path in installed.sources if path in written]


def _add_to_record(record: Path, pycs: Sequence[str]) -> None:
    """Append ``pycs`` to a RECORD as pip lists them: path relative to the lib dir,
    urlsafe-base64 sha256, size."""
    import base64
    import csv
    import io

    if not pycs:
        return
    lib = record.parent.parent
    out = io.StringIO()
    writer = csv.writer(out, delimiter=",", quotechar='"', lineterminator="\n")
    for pyc in pycs:
        data = Path(pyc).read_bytes()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
        relative = os.path.relpath(pyc, lib).replace(os.sep, "/")
        writer.writerow((relative, f"sha256={digest}", len(data)))
    with record.open("a", encoding="utf-8", newline="") as handle:
        handle.write(out.getvalue())


def make_installer(
    name: InstallerName,
    python: Path,
    *,
    target_has_pip: bool,
    break_system_packages: bool,
    jobs: int = 1,
    compile_bytecode: bool = True,
    reporter: Reporter = NULL_REPORTER,
    interpreter: Interpreter | None = None,
) -> Installer:
    """The installer ``name`` for ``python``; ``interpreter``, its probe's answer if the
    caller has it (the builtin installer then takes its scheme from there)."""
    if name == "uv":
        return UvInstaller(
            python, break_system_packages=break_system_packages, compile_bytecode=compile_bytecode
        )
    if name == "builtin":
        return BuiltinInstaller(
            python,
            target_has_pip=target_has_pip,
            break_system_packages=break_system_packages,
            jobs=jobs,
            compile_bytecode=compile_bytecode,
            reporter=reporter,
            interpreter=interpreter,
        )
    return PipInstaller(
        python,
        target_has_pip=target_has_pip,
        break_system_packages=break_system_packages,
        compile_bytecode=compile_bytecode,
    )


__all__ = [
    "InstallFailed",
    "Installer",
    "InstallerName",
    "LocalWheel",
    "PipInstaller",
    "UvInstaller",
    "find_uv",
    "make_installer",
    "spared_by",
]
