"""A fresh, pinned virtual environment for one build.

Nothing here resolves or downloads: the caller hands us the exact wheel files the
lock names for a build environment, and we lay them into a ``--without-pip`` venv
with ``installer`` in-process. That is what makes it fast (no pip start-up, no
resolver, no network) and what makes it exact (the environment holds those
wheels and nothing else).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from types import TracebackType
from typing import Any

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.sources import WheelFile
from installer.utils import get_launcher_kind
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from pyproject_hooks import BuildBackendHookCaller

from lock_build.building.build_system import BuildSystem
from lock_build.building.hook_server import HookServers, servers_enabled
from lock_build.errors import ArchiveError, BuildError

__all__ = [
    "BuildEnvironment",
    "HookProcessFailed",
    "InstalledDistribution",
    "LoggedHookCaller",
    "ignore_shipped_pycache_warnings",
    "install_worker",
]

# Asked once per environment, in the venv's own interpreter: where files go, and the
# marker values to evaluate build requirements against (as packaging computes them).
_PROBE = r"""
import json, os, platform, sys, sysconfig

def full_version(info):
    version = f"{info.major}.{info.minor}.{info.micro}"
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version

print(json.dumps({
    "executable": sys.executable,
    "paths": sysconfig.get_paths(),
    "py_version_short": f"{sys.version_info[0]}.{sys.version_info[1]}",
    "markers": {
        "implementation_name": sys.implementation.name,
        "implementation_version": full_version(sys.implementation.version),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
}))
"""

# Variables that would let the caller's environment leak into a build.
_DROPPED_PREFIXES = ("PIP_", "UV_")
_DROPPED = frozenset(
    {
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONUSERBASE",
        "PYTHONEXECUTABLE",
        "PYTHONSAFEPATH",
        "__PYVENV_LAUNCHER__",
        "CONDA_PREFIX",
    }
)


# installer warns about __pycache__ files shipped in wheels (numpy's): they are skipped
# either way, and the warning is noise to users.
_SHIPPED_PYCACHE = r"Skip installing .*__pycache__"


def ignore_shipped_pycache_warnings() -> None:
    """Silence installer's shipped-__pycache__ warning, process-wide and for good.

    One narrow filter, set once, instead of ``warnings.catch_warnings`` around each
    install: that context is process-global, so on several threads at once (compile -j,
    sync's parallel unpacking) the threads restore each other's filters and let warnings
    through."""
    for action, message, category, _module, _line in warnings.filters:
        if action == "ignore" and category is RuntimeWarning and message is not None:
            if message.pattern == _SHIPPED_PYCACHE:
                return
    warnings.filterwarnings("ignore", message=_SHIPPED_PYCACHE, category=RuntimeWarning)


@dataclass(frozen=True, kw_only=True, slots=True)
class InstalledDistribution:
    """One distribution found in an environment's site-packages."""

    name: NormalizedName
    version: str
    dist_info: Path
    requires: tuple[str, ...]  # raw Requires-Dist lines


class LoggedHookCaller(BuildBackendHookCaller):
    """A hook caller that also knows where its backend output goes."""

    def __init__(
        self,
        source_dir: Path,
        build_system: BuildSystem,
        *,
        env: BuildEnvironment,
        log_path: Path,
        config_settings: Mapping[str, str | list[str]] | None,
    ) -> None:
        self.log_path = log_path
        self.environment = env
        self.config_settings = dict(config_settings) if config_settings else None
        self.build_system = build_system
        super().__init__(
            str(source_dir),
            build_system.backend,
            backend_path=list(build_system.backend_path) or None,
            runner=self._run,
            python_executable=str(env.python),
        )

    def _run(
        self,
        cmd: Sequence[str],
        cwd: str | None = None,
        extra_environ: Mapping[str, str] | None = None,
    ) -> None:
        environ = self.environment.subprocess_environ()
        if extra_environ:
            environ.update(extra_environ)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        hook = cmd[2] if len(cmd) > 2 else "?"
        with self.log_path.open("ab") as log, self.environment.hook_slot():
            log.write(f"\n=== lock-build: {hook} in {cwd} ===\n".encode())
            log.flush()
            status = self._run_in_server(cmd, cwd, extra_environ or {})
            if status is None:
                status = subprocess.run(
                    list(cmd),
                    cwd=cwd,
                    env=environ,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    check=False,
                ).returncode
        if status != 0:
            raise HookProcessFailed(hook, status, self.log_path)

    def _run_in_server(
        self, cmd: Sequence[str], cwd: str | None, extra_environ: Mapping[str, str]
    ) -> int | None:
        """The hook run in a child forked from a server that imported the backend already
        (see building.hook_server); None where that cannot be (run it in a process)."""
        if cwd is None or self.build_system.backend_path or not servers_enabled(os.environ):
            return None
        module = self.build_system.backend.partition(":")[0].strip()
        return self.environment.hook_servers().run(
            module, cmd, cwd=cwd, environ=extra_environ, log=self.log_path
        )


class HookProcessFailed(Exception):
    """The hook subprocess exited non-zero (the backend raised); hooks.py translates it."""

    def __init__(self, hook: str, returncode: int, log_path: Path) -> None:
        super().__init__(f"{hook} exited with status {returncode}")
        self.hook = hook
        self.returncode = returncode
        self.log_path = log_path


class BuildEnvironment:
    """A throw-away venv holding exactly the wheels it was created from.

    ``root`` is a working directory owned by the caller: the venv is made in a fresh
    sub-directory of it, and build logs go to ``root/logs`` so they outlive
    :meth:`cleanup` (an error message may point at them).
    """

    def __init__(
        self,
        *,
        path: Path,
        root: Path,
        python: Path,
        paths: Mapping[str, str],
        markers: Mapping[str, str],
        py_version_short: str,
    ) -> None:
        self.py_version_short = py_version_short
        self.path = path
        self.root = root
        self.python = python
        self.paths = dict(paths)
        self.markers = dict(markers)
        # The first hook compiles the backend's bytecode into the venv: see hook_slot.
        self._first_hook = threading.Lock()
        self._warmed = threading.Event()
        self._servers: HookServers | None = None
        self._servers_lock = threading.Lock()

    @classmethod
    def create(
        cls,
        interpreter: Path,
        wheels: Sequence[Path],
        root: Path,
        *,
        install_apart: bool = False,
    ) -> BuildEnvironment:
        """Make the venv with ``interpreter`` and install ``wheels`` (no deps, no network);
        with ``install_apart``, the installing runs in a process of its own (see
        :meth:`install_apart`)."""
        root.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix="build-env-", dir=root))
        try:
            env = cls._make_venv(interpreter, path, root)
            if install_apart:
                env.install_apart(wheels)
            else:
                env.install(wheels)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        return env

    @classmethod
    def _make_venv(cls, interpreter: Path, path: Path, root: Path) -> BuildEnvironment:
        try:
            subprocess.run(
                [str(interpreter), "-m", "venv", "--without-pip", str(path)],
                check=True,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                env=_clean_environ(),
            )
        except FileNotFoundError as exc:
            raise BuildError(
                f"Cannot create a build environment: interpreter {interpreter} not found."
            ) from exc
        except subprocess.CalledProcessError as exc:
            output = (exc.stderr or b"").decode(errors="replace").strip()
            raise BuildError(
                f"Cannot create a build environment with {interpreter}: "
                f"`python -m venv` failed (exit {exc.returncode}).",
                hint="Is the venv module available for that interpreter (Debian: python3-venv)?",
                detail=output,
            ) from exc
        bindir = "Scripts" if os.name == "nt" else "bin"
        venv_python = path / bindir / ("python.exe" if os.name == "nt" else "python")
        try:
            probe = subprocess.run(
                [str(venv_python), "-I", "-c", _PROBE],
                check=True,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                env=_clean_environ(),
            )
            info = json.loads(probe.stdout)
        except (OSError, subprocess.CalledProcessError, ValueError) as exc:
            raise BuildError(
                f"Cannot inspect the new build environment at {path}.",
                detail=str(exc),
            ) from exc
        return cls(
            path=path,
            root=root,
            python=venv_python,
            paths=info["paths"],
            markers=info["markers"],
            py_version_short=info["py_version_short"],
        )

    # --- installing -----------------------------------------------------------------

    def install(self, wheels: Sequence[Path]) -> None:
        """Install wheel files as they are: no dependencies, no bytecode (speed)."""
        seen: dict[NormalizedName, Path] = {}
        for wheel in wheels:
            try:
                name = parse_wheel_filename(wheel.name)[0]
            except InvalidWheelFilename as exc:
                raise ArchiveError(
                    f"{wheel.name} is not a valid wheel filename ({exc}).", path=wheel
                ) from exc
            if name in seen:
                raise BuildError(
                    f"Two wheels for {name} were given for one build environment: "
                    f"{seen[name].name} and {wheel.name}.",
                    hint="A build environment pins exactly one version of each package.",
                )
            seen[name] = wheel
        for wheel in wheels:
            self._install_one(wheel)

    def install_apart(self, wheels: Sequence[Path]) -> None:
        """:meth:`install`, run by this interpreter in a process of its own.

        Installing is hundreds of small file writes, each of which lets go of the GIL:
        in a process whose other threads parse big index pages (compile, while the
        runtime is still being resolved), each write then waits for a parse to finish,
        and a 0.1 s install takes a second or more. A process of its own costs a Python
        start-up instead. Its errors come back as the same :class:`ArchiveError` or
        :class:`BuildError` that :meth:`install` raises.
        """
        request = {
            "path": str(self.path),
            "root": str(self.root),
            "python": str(self.python),
            "paths": self.paths,
            "py_version_short": self.py_version_short,
            "wheels": [str(w) for w in wheels],
        }
        try:
            done = subprocess.run(
                [sys.executable, "-P", "-c", _INSTALL_WORKER],  # -P: not the cwd on the path
                input=json.dumps(request),
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError as exc:
            raise BuildError(
                f"Cannot start the installer of the build environment at {self.path} ({exc})."
            ) from exc
        if done.returncode == 0:
            return
        try:
            failure = json.loads(done.stdout)
            kind = {"ArchiveError": ArchiveError, "BuildError": BuildError}[failure["kind"]]
            message, hint = str(failure["message"]), failure["hint"]
            path = failure["path"]
        except (ValueError, KeyError, TypeError):
            raise BuildError(
                f"The installer of the build environment at {self.path} failed "
                f"(exit {done.returncode}).",
                detail=done.stderr.strip() or None,
            ) from None
        if kind is ArchiveError:
            raise ArchiveError(message, path=Path(path) if path else None, hint=hint)
        raise BuildError(message, hint=hint)

    def _install_one(self, wheel: Path) -> None:
        try:
            with WheelFile.open(wheel) as source:
                scheme = {key: self.paths[key] for key in ("purelib", "platlib", "scripts", "data")}
                # The venv layout pip uses for headers: include/site/pythonX.Y/<dist>.
                scheme["headers"] = os.path.join(
                    self.paths["data"],
                    "include",
                    "site",
                    f"python{self.py_version_short}",
                    source.distribution,
                )
                destination = SchemeDictionaryDestination(
                    scheme_dict=scheme,
                    interpreter=str(self.python),
                    script_kind=get_launcher_kind(),
                    bytecode_optimization_levels=(),
                )
                ignore_shipped_pycache_warnings()
                install(source, destination, additional_metadata={"INSTALLER": b"lock-build\n"})
        except FileNotFoundError as exc:
            raise ArchiveError(f"Wheel {wheel} does not exist.", path=wheel) from exc
        except (InstallerError, zipfile.BadZipFile, ValueError, KeyError) as exc:
            raise ArchiveError(
                f"Cannot install {wheel.name} into the build environment: {exc}.",
                path=wheel,
                hint="The wheel is corrupt or unsafe; remove it from the cache and retry.",
            ) from exc
        except FileExistsError as exc:
            raise BuildError(
                f"Cannot install {wheel.name} into the build environment: {exc} "
                "(two wheels ship the same file)."
            ) from exc

    # --- inspecting -------------------------------------------------------------------

    def distributions(self) -> dict[NormalizedName, InstalledDistribution]:
        """Every distribution in the venv's site-packages, by normalized name."""
        found: dict[NormalizedName, InstalledDistribution] = {}
        for key in ("purelib", "platlib"):
            site = Path(self.paths[key])
            if not site.is_dir():
                continue
            for dist_info in sorted(site.glob("*.dist-info")):
                metadata = dist_info / "METADATA"
                if not metadata.is_file():
                    continue
                headers = HeaderParser().parsestr(
                    metadata.read_text(encoding="utf-8", errors="replace")
                )
                if not headers.get("Name") or not headers.get("Version"):
                    continue
                name = canonicalize_name(headers["Name"])
                found[name] = InstalledDistribution(
                    name=name,
                    version=headers["Version"].strip(),
                    dist_info=dist_info,
                    requires=tuple(headers.get_all("Requires-Dist") or ()),
                )
        return found

    def installed(self) -> dict[str, str]:
        """Normalized name -> version of what the environment holds."""
        return {name: dist.version for name, dist in sorted(self.distributions().items())}

    # --- running hooks ----------------------------------------------------------------

    def subprocess_environ(self) -> dict[str, str]:
        """The environment variables a build in this venv runs with."""
        environ = _clean_environ()
        if environ.pop("PYTHONDONTWRITEBYTECODE", None):
            # Every hook is a new process importing its backend; without bytecode each one
            # compiles it again (setuptools: 0.3 s a hook). Written under this venv only,
            # so, as asked, nothing lands next to the user's sources or the interpreter's.
            environ["PYTHONPYCACHEPREFIX"] = str(self.path / "pycache")
        environ["VIRTUAL_ENV"] = str(self.path)
        environ["PATH"] = os.pathsep.join(
            [self.paths["scripts"], *filter(None, environ.get("PATH", "").split(os.pathsep))]
        )
        return environ

    @contextmanager
    def hook_slot(self) -> Iterator[None]:
        """Hold while a hook process runs in this venv: the first runs alone.

        The wheels are installed without bytecode, so the first process that imports the
        backend compiles it and writes its ``.pyc`` files here (setuptools: most of a
        first hook's time). Hooks started meanwhile in the same fresh venv (sdists that
        share build pins, under ``-j``) would each compile it again, competing for the
        same cores; they wait for the first instead and find the bytecode written.
        """
        first = False
        if not self._warmed.is_set():
            self._first_hook.acquire()
            if self._warmed.is_set():
                self._first_hook.release()
            else:
                first = True
        try:
            yield
        finally:
            if first:
                self._warmed.set()
                self._first_hook.release()

    def hook_servers(self) -> HookServers:
        """This venv's hook servers (started when a hook first needs one)."""
        with self._servers_lock:
            if self._servers is None:
                self._servers = HookServers(
                    self.python,
                    env=self.subprocess_environ(),
                    cwd=self.path,
                    errors=self.root / "logs" / f"hook-servers-{self.path.name}.log",
                )
            return self._servers

    def log_path_for(self, source_dir: Path) -> Path:
        return self.root / "logs" / f"{source_dir.name}-{self.path.name}.log"

    def run_hook_caller(
        self,
        source_dir: Path,
        build_system: BuildSystem,
        config_settings: Mapping[str, str | list[str]] | None = None,
        *,
        log_path: Path | None = None,
    ) -> LoggedHookCaller:
        """A ``pyproject_hooks`` caller whose hooks run in this venv, output to a log file."""
        return LoggedHookCaller(
            source_dir.resolve(),
            build_system,
            env=self,
            log_path=log_path or self.log_path_for(source_dir),
            config_settings=config_settings,
        )

    # --- lifetime ---------------------------------------------------------------------

    def cleanup(self) -> None:
        with self._servers_lock:
            servers, self._servers = self._servers, None
        if servers is not None:
            servers.close()
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> BuildEnvironment:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        return f"BuildEnvironment({str(self.path)!r})"


# Run by this interpreter (``sys.executable``): one JSON request on stdin, see
# BuildEnvironment.install_apart; a failure is one JSON object on stdout, exit 1.
_INSTALL_WORKER = """
import json, sys
from lock_build.building.environment import install_worker
sys.exit(install_worker(json.loads(sys.stdin.read())))
"""


def install_worker(request: Mapping[str, Any]) -> int:
    """The install worker's body: install the requested wheels into the venv described."""
    env = BuildEnvironment(
        path=Path(request["path"]),
        root=Path(request["root"]),
        python=Path(request["python"]),
        paths=request["paths"],
        markers={},
        py_version_short=request["py_version_short"],
    )
    try:
        env.install([Path(w) for w in request["wheels"]])
    except (ArchiveError, BuildError) as exc:
        path = exc.path if isinstance(exc, ArchiveError) else None
        failure = {
            "kind": type(exc).__name__,
            "message": exc.message,
            "hint": exc.hint,
            "path": str(path) if path is not None else None,
        }
        sys.stdout.write(json.dumps(failure))
        return 1
    return 0


def _clean_environ() -> dict[str, str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in _DROPPED and not key.startswith(_DROPPED_PREFIXES)
    }
    environ["PYTHONNOUSERSITE"] = "1"
    environ.pop("VIRTUAL_ENV", None)
    return environ
