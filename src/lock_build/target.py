"""The environment a lock is made for: its marker values and wheel tags.

One rule picks the interpreter for every command: ``--python PATH`` if given, else
the active virtual environment, else the interpreter running lock-build (so a
lock-build installed with pipx locks for the user's project, not for itself).
A local interpreter is asked for raw facts by a standard-library probe (so any
Python from 3.9 up answers, whatever lock-build itself runs on), and its markers and
tags are computed here with ``packaging``'s functions that take explicit versions and
platforms; ``--python-version`` / ``--platform`` describe a target that is not here,
derived the same way from a version and a platform tag.

Why one long module: the probe script (standard-library code run inside the target
interpreter), :class:`InterpreterFacts` that validates its answer and the tag functions
built on those facts are the two sides of one contract; synthetic targets reuse the same
tag functions. Kept together so a change to the probe's keys is one diff in one file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.tags import (
    INTERPRETER_SHORT_NAMES,
    Tag,
    compatible_tags,
    cpython_tags,
    generic_tags,
    mac_platforms,
)

from lock_build.errors import TargetError

__all__ = [
    "MIN_PYTHON",
    "Interpreter",
    "InterpreterFacts",
    "InterpreterLayout",
    "Target",
    "described_meanwhile",
    "describe_interpreter",
    "platform_tags",
    "probe_interpreter",
    "resolve_target",
    "run_interpreter_script",
    "select_interpreter",
    "synthetic_target",
    "target_for_interpreter",
]

# Run inside the target interpreter: standard library only, and syntax that even an old
# interpreter parses, so the answer (or the version it reports) is always readable.
# It returns raw facts; markers and tags are computed here with `packaging`.
_PROBE = r"""
import json, os, platform, site, struct, subprocess, sys, sysconfig
if sys.version_info < (3, 6):
    print(json.dumps({"version_info": list(sys.version_info[:5])}))
    sys.exit(0)
from importlib.machinery import EXTENSION_SUFFIXES


def glibc():
    try:
        found = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, OSError, ValueError):
        found = None
    if not found:
        try:
            import ctypes
            gnu = ctypes.CDLL(None).gnu_get_libc_version
            gnu.restype = ctypes.c_char_p
            found = "glibc " + gnu().decode("ascii")
        except (AttributeError, OSError, ImportError, ValueError):
            return None
    name, _, version = found.partition(" ")
    return version if name == "glibc" else None


def elf_interpreter(path):
    try:
        with open(path, "rb") as f:
            ident = f.read(16)
            if ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
                return None
            order = "<" if ident[5] == 1 else ">"
            wide = ident[4] == 2
            head = order + ("HHIQQQIHHH" if wide else "HHIIIIIHHH")
            fields = struct.unpack(head, f.read(struct.calcsize(head)))
            phoff, phentsize, phnum = fields[4], fields[8], fields[9]
            entry = order + ("IIQQQQQQ" if wide else "IIIIIIII")
            for i in range(phnum):
                f.seek(phoff + i * phentsize)
                ph = struct.unpack(entry, f.read(struct.calcsize(entry)))
                offset, size = (ph[2], ph[5]) if wide else (ph[1], ph[4])
                if ph[0] == 3:  # PT_INTERP
                    f.seek(offset)
                    return f.read(size).rstrip(b"\0").decode("ascii")
    except (OSError, struct.error, UnicodeDecodeError):
        return None
    return None


def musl():
    loader = elf_interpreter(sys.executable)
    if not loader or "musl" not in loader:
        return None
    try:
        lines = subprocess.run([loader], stderr=subprocess.PIPE, universal_newlines=True).stderr
    except OSError:
        return None
    lines = [line.strip() for line in lines.splitlines() if line.strip()]
    if len(lines) < 2 or not lines[0].startswith("musl"):
        return None
    return lines[1].split()[-1] if lines[1].startswith("Version ") else None


def macos():
    if sys.platform != "darwin":
        return None
    version, _, arch = platform.mac_ver()
    if version.startswith("10.16"):  # a compatibility answer: ask for the real one
        env = dict(os.environ, SYSTEM_VERSION_COMPAT="0")
        version = subprocess.run(
            [sys.executable, "-sS", "-c", "import platform; print(platform.mac_ver()[0])"],
            stdout=subprocess.PIPE, universal_newlines=True, env=env,
        ).stdout.strip()
    return {"version": version, "arch": arch}


def site_dirs():
    found = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    if site.ENABLE_USER_SITE:
        found.append(site.getusersitepackages())
    return found


def distribution_finders():
    # What importlib.metadata.distributions() asks besides the path finder (whose search
    # the caller can repeat over sys.path): a finder added by a .pth file, say.
    from importlib.machinery import PathFinder
    return [
        repr(finder) for finder in sys.meta_path
        if finder is not PathFinder and hasattr(finder, "find_distributions")
    ]


config = sysconfig.get_config_var
paths = sysconfig.get_paths()
print(json.dumps({
    "version_info": list(sys.version_info[:5]),
    "implementation": sys.implementation.name,
    "implementation_version": list(sys.implementation.version[:5]),
    "python_version": platform.python_version(),
    "python_implementation": platform.python_implementation(),
    "os_name": os.name,
    "sys_platform": sys.platform,
    "machine": platform.machine(),
    "system": platform.system(),
    "release": platform.release(),
    "platform_version": platform.version(),
    "sysconfig_platform": sysconfig.get_platform(),
    "ext_suffix": config("EXT_SUFFIX"),
    "extension_suffixes": list(EXTENSION_SUFFIXES),
    "py_version_nodot": config("py_version_nodot"),
    "py_debug": config("Py_DEBUG"),
    "gil_disabled": config("Py_GIL_DISABLED"),
    "with_pymalloc": config("WITH_PYMALLOC"),
    "has_refcount": hasattr(sys, "gettotalrefcount"),
    "pointer_bytes": struct.calcsize("P"),
    "glibc": glibc() if sys.platform.startswith("linux") else None,
    "musl": musl() if sys.platform.startswith("linux") else None,
    "macos": macos(),
    "executable": sys.executable,
    "prefix": sys.prefix,
    "base_prefix": getattr(sys, "base_prefix", sys.prefix),
    "purelib": paths["purelib"],
    "platlib": paths["platlib"],
    "scripts": paths["scripts"],
    "data": paths["data"],
    "include": paths["include"],
    "stdlib": paths["stdlib"],
    "sys_path": sys.path,
    "site_dirs": site_dirs(),
    "distribution_finders": distribution_finders(),
}))
"""

# The oldest Python a lock can target: the `packaging` tags and markers are exact from it up.
MIN_PYTHON = (3, 9)


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """What we lock for. ``tags`` are ordered most preferred first, as installers rank them."""

    python_version: str  # "3.11"
    python_full_version: str  # "3.11.7"
    implementation: str  # "cpython"
    platform: str  # the most specific platform tag, e.g. "manylinux_2_36_x86_64"
    markers: tuple[tuple[str, str], ...]
    tags: tuple[Tag, ...] = field(repr=False)
    # The local interpreter that matches the target, if any; sdists can only be built
    # (and dynamic metadata computed) where there is one.
    interpreter: Path | None = None
    # Derived from ``tags`` once: ranking wheels is the hottest loop of file selection.
    _rank: Mapping[Tag, int] = field(init=False, repr=False, compare=False)
    # Each (marker, extras) decided once: a resolution asks about the same Requires-Dist
    # markers many times (the prefetcher, the provider, every extra).
    _decided: dict[tuple[str, frozenset[str]], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rank = {tag: i for i, tag in reversed(list(enumerate(self.tags)))}
        object.__setattr__(self, "_rank", rank)
        object.__setattr__(self, "_decided", {})

    @property
    def marker_environment(self) -> dict[str, str]:
        return dict(self.markers)

    def evaluate(self, marker: Marker | None, extras: frozenset[str] = frozenset()) -> bool:
        """Whether a requirement with ``marker`` applies here, for any of ``extras``."""
        if marker is None:
            return True
        key = (str(marker), extras)
        decided = self._decided.get(key)
        if decided is None:
            decided = self._decided[key] = self._evaluate(marker, extras)
        return decided

    def _evaluate(self, marker: Marker, extras: frozenset[str]) -> bool:
        env = self.marker_environment
        if not extras:
            return marker.evaluate({**env, "extra": ""})
        return any(marker.evaluate({**env, "extra": extra}) for extra in sorted(extras))

    def tag_priority(self, tag: Tag) -> int | None:
        """Lower is better; ``None`` if a wheel with this tag cannot be installed here."""
        return self._rank.get(tag)

    def describe(self) -> str:
        return f"{self.implementation} {self.python_full_version} on {self.platform}"

    def to_dict(self) -> dict[str, object]:
        """What the lock records about its target (tags are derivable, not stored)."""
        return {
            "implementation": self.implementation,
            "python-version": self.python_version,
            "python-full-version": self.python_full_version,
            "platform": self.platform,
            # The kernel's release and build string differ between identical machines:
            # recording them would make locks differ byte-wise for no reason.
            "markers": {k: v for k, v in sorted(self.markers) if k not in _VOLATILE_MARKERS},
        }


_VOLATILE_MARKERS = frozenset({"platform_release", "platform_version"})


def select_interpreter(python: str | os.PathLike[str] | None) -> Path:
    """``--python`` if given, else the active virtualenv, else the running interpreter."""
    if python:
        return _interpreter_path(Path(python))
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        return _interpreter_path(Path(venv))
    return Path(sys.executable)


def _interpreter_path(path: Path) -> Path:
    if path.is_dir():
        for candidate in (path / "bin" / "python", path / "Scripts" / "python.exe"):
            if candidate.exists():
                return candidate
        raise TargetError(
            f"{path} is a directory but holds no bin/python.",
            hint="Pass a Python interpreter or a virtual environment to --python.",
        )
    if not path.exists():
        raise TargetError(f"Python interpreter {path} does not exist.")
    return path


def run_interpreter_script(
    interpreter: Path,
    script: str,
    *args: str,
    purpose: str,
    timeout: int = 120,
    flags: tuple[str, ...] = ("-I",),
) -> dict[str, Any]:
    """Run a stdlib-only ``script`` in ``interpreter`` (isolated mode) and parse its JSON.

    ``purpose`` completes "when asked for ..." in the error. The script only uses the
    standard library, so a failure here is the interpreter's: the error says it does
    not run, with its own last words.
    """
    try:
        completed = subprocess.run(
            [str(interpreter), *flags, "-c", script, *args],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise TargetError(
            f"The interpreter {interpreter} did not answer within {timeout} s when asked for "
            f"{purpose}.",
            hint="Check that --python names a working Python 3 interpreter.",
        ) from None
    except OSError as exc:
        raise TargetError(
            f"The interpreter {interpreter} cannot be run ({exc.strerror or exc}).",
            hint="Check that --python names a working Python 3 interpreter.",
        ) from None
    if completed.returncode != 0:
        last = next((line for line in reversed(completed.stderr.splitlines()) if line.strip()), "")
        said = f": {last.strip().rstrip('.')}" if last else ""
        raise TargetError(
            f"The interpreter {interpreter} does not run: it exited with status "
            f"{completed.returncode} when asked for {purpose}{said}.",
            hint="Check that --python names a working Python 3 interpreter.",
            detail=completed.stderr,
        )
    try:
        answer = json.loads(completed.stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise TargetError(
            f"The interpreter {interpreter} answered with garbage when asked for {purpose}.",
            detail=completed.stdout[-2000:],
        )
    return answer


def probe_interpreter(interpreter: Path) -> dict[str, object]:
    """Ask a local interpreter for the raw facts its markers, tags and paths come from."""
    try:
        return run_interpreter_script(interpreter, _PROBE, purpose="its platform", timeout=60)
    except TargetError as exc:
        if "nknown option" not in (exc.detail or ""):
            raise
    # Python 2 has no -I: ask again without it (and without the current directory on
    # sys.path), so the answer is its version rather than a usage message.
    script = "import sys\nsys.path = [p for p in sys.path if p]\n" + _PROBE
    return run_interpreter_script(
        interpreter, script, purpose="its platform", timeout=60, flags=("-E", "-s")
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class InterpreterFacts:
    """What the probe reports, validated: the inputs to markers and tags."""

    version: tuple[int, int, int]
    release_level: str  # "final", "candidate", ...
    serial: int
    implementation: str  # sys.implementation.name
    implementation_version: str  # formatted as the marker wants it
    markers: Mapping[str, str]
    sysconfig_platform: str
    ext_suffix: str | None
    extension_suffixes: tuple[str, ...]
    py_version_nodot: str
    py_debug: bool | None
    gil_disabled: bool
    with_pymalloc: bool | None
    has_refcount: bool
    is_32bit: bool
    glibc: tuple[int, int] | None
    musl: tuple[int, int] | None
    macos: tuple[tuple[int, int], str] | None  # (version, cpu arch)

    @classmethod
    def parse(cls, interpreter: Path, raw: Mapping[str, object]) -> InterpreterFacts:
        def bad(what: str) -> TargetError:
            return TargetError(
                f"The interpreter {interpreter} gave an unusable answer about its platform "
                f"({what}).",
                detail=json.dumps(raw, default=str)[-2000:],
            )

        info = raw.get("version_info")
        if not (
            isinstance(info, list) and len(info) >= 3 and all(isinstance(i, int) for i in info[:3])
        ):
            raise bad("version_info")
        version = (info[0], info[1], info[2])
        if version[:2] < MIN_PYTHON:
            raise TargetError(
                f"The interpreter {interpreter} is Python {'.'.join(map(str, version))}; "
                f"lock-build locks for Python {'.'.join(map(str, MIN_PYTHON))} or newer.",
                hint="Pass a newer interpreter or virtual environment to --python.",
            )
        strings = {}
        for key in (
            "implementation",
            "python_version",
            "python_implementation",
            "os_name",
            "sys_platform",
            "machine",
            "system",
            "release",
            "platform_version",
            "sysconfig_platform",
            "executable",
            "prefix",
            "base_prefix",
            "purelib",
        ):
            value = raw.get(key)
            if not isinstance(value, str):
                raise bad(key)
            strings[key] = value
        impl = raw.get("implementation_version")
        if not (isinstance(impl, list) and len(impl) >= 5):
            raise bad("implementation_version")
        implementation_version = _format_full_version(impl)
        markers = {
            "implementation_name": strings["implementation"],
            "implementation_version": implementation_version,
            "os_name": strings["os_name"],
            "platform_machine": strings["machine"],
            "platform_release": strings["release"],
            "platform_system": strings["system"],
            "platform_version": strings["platform_version"],
            "python_full_version": strings["python_version"],
            "platform_python_implementation": strings["python_implementation"],
            "python_version": ".".join(strings["python_version"].split(".")[:2]),
            "sys_platform": strings["sys_platform"],
        }
        macos = raw.get("macos")
        mac: tuple[tuple[int, int], str] | None = None
        if isinstance(macos, dict):
            numbers = _two_numbers(macos.get("version"))
            if numbers is None or not isinstance(macos.get("arch"), str):
                raise bad("macos")
            mac = (numbers, str(macos["arch"]))
        ext_suffix = raw.get("ext_suffix")
        suffixes = raw.get("extension_suffixes")
        nodot = raw.get("py_version_nodot")
        return cls(
            version=version,
            release_level=str(info[3]) if len(info) > 3 else "final",
            serial=int(info[4]) if len(info) > 4 and isinstance(info[4], int) else 0,
            implementation=strings["implementation"],
            implementation_version=implementation_version,
            markers=markers,
            sysconfig_platform=strings["sysconfig_platform"],
            ext_suffix=ext_suffix if isinstance(ext_suffix, str) else None,
            extension_suffixes=tuple(str(x) for x in suffixes)
            if isinstance(suffixes, list)
            else (),
            py_version_nodot=str(nodot) if nodot else f"{version[0]}{version[1]}",
            py_debug=None if raw.get("py_debug") is None else bool(raw.get("py_debug")),
            gil_disabled=bool(raw.get("gil_disabled")),
            with_pymalloc=None
            if raw.get("with_pymalloc") is None
            else bool(raw.get("with_pymalloc")),
            has_refcount=bool(raw.get("has_refcount")),
            is_32bit=raw.get("pointer_bytes") == 4,
            glibc=_two_numbers(raw.get("glibc")),
            musl=_two_numbers(raw.get("musl")),
            macos=mac,
        )

    def tags(self) -> tuple[Tag, ...]:
        """What ``packaging.tags.sys_tags()`` would say inside that interpreter."""
        python = self.version[:2]
        platforms = tuple(self._platforms())
        name = INTERPRETER_SHORT_NAMES.get(self.implementation) or self.implementation
        if name == "cp":
            found = list(cpython_tags(python, self._cpython_abis(), platforms))
        else:
            interpreter = f"{name}{self.py_version_nodot}"
            found = list(generic_tags(interpreter, self._generic_abis(), platforms))
        compatible = (
            "pp3" if name == "pp" else f"cp{self.py_version_nodot}" if name == "cp" else None
        )
        found += compatible_tags(python, compatible, platforms)
        return tuple(found)

    def _cpython_abis(self) -> list[str]:
        version = f"{self.version[0]}{self.version[1]}"
        debug = threading = pymalloc = ""
        has_ext = "_d.pyd" in self.extension_suffixes
        if self.py_debug or (self.py_debug is None and (self.has_refcount or has_ext)):
            debug = "d"
        if self.version[:2] >= (3, 13) and self.gil_disabled:
            threading = "t"
        if self.version[:2] < (3, 8) and self.with_pymalloc is not False:
            pymalloc = "m"
        abis = [f"cp{version}{threading}{debug}{pymalloc}"]
        if self.version[:2] >= (3, 8) and debug:
            abis.append(f"cp{version}{threading}")  # a debug build loads normal extensions
        return abis

    def _generic_abis(self) -> list[str]:
        """The ABI part of EXT_SUFFIX ('.pypy39-pp73-x86_64-linux-gnu.so' -> 'pypy39_pp73')."""
        parts = (self.ext_suffix or "").split(".")
        if len(parts) < 3:
            return []
        soabi = parts[1]
        if soabi.startswith("cpython"):
            abi = "cp" + soabi.split("-")[1] if "-" in soabi else soabi
        elif soabi.startswith("cp"):
            abi = soabi.split("-")[0]
        elif soabi.startswith("pypy"):
            abi = "-".join(soabi.split("-")[:2])
        elif soabi.startswith("graalpy"):
            abi = "-".join(soabi.split("-")[:3])
        else:
            abi = soabi
        return [_normalize(abi)] if abi else []

    def _platforms(self) -> Iterator[str]:
        system = self.markers["platform_system"]
        if system == "Darwin" and self.macos is not None:
            version, arch = self.macos
            if self.is_32bit:
                arch = "ppc" if arch.startswith("ppc") else "i386"
            yield from mac_platforms(version, arch)
            return
        linux = _normalize(self.sysconfig_platform)
        if system != "Linux" or not linux.startswith("linux_"):
            yield linux
            return
        if self.is_32bit:
            linux = {"linux_x86_64": "linux_i686", "linux_aarch64": "linux_armv8l"}.get(
                linux, linux
            )
        arch = linux.split("_", 1)[1]
        archs = {"armv8l": ["armv8l", "armv7l"]}.get(arch, [arch])
        for each in archs:
            yield f"linux_{each}"
        if self.glibc is not None:
            for each in archs:
                yield from _manylinux_tags(self.glibc, each)
        if self.musl is not None:
            for each in archs:
                yield from _musllinux_tags(self.musl, each)


@dataclass(frozen=True, kw_only=True, slots=True)
class InterpreterLayout:
    """Where the probed interpreter keeps things, validated: what sync reads and writes.

    ``sys_path`` is the interpreter's own (in isolated mode, after its ``.pth`` files ran),
    so its distributions can be read from here, without starting it, the way its
    ``importlib.metadata.distributions()`` finds them — unless ``distribution_finders``
    names a finder of its own besides the path search (then it must be asked).
    """

    prefix: Path
    base_prefix: Path
    stdlib: Path
    # The default sysconfig scheme: where an installer puts a wheel's parts.
    purelib: Path
    platlib: Path
    scripts: Path
    data: Path
    include: Path
    sys_path: tuple[str, ...]
    site_dirs: tuple[str, ...]  # whose .pth files made sys_path
    distribution_finders: tuple[str, ...]

    @classmethod
    def parse(cls, interpreter: Path, raw: Mapping[str, object]) -> InterpreterLayout:
        def bad(key: str) -> TargetError:
            return TargetError(
                f"The interpreter {interpreter} gave an unusable answer about its paths ({key}).",
                detail=json.dumps(raw, default=str)[-2000:],
            )

        def path(key: str) -> Path:
            value = raw.get(key)
            if not isinstance(value, str) or not value:
                raise bad(key)
            return Path(value)

        def strings(key: str) -> tuple[str, ...]:
            value = raw.get(key)
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise bad(key)
            return tuple(value)

        return cls(
            prefix=path("prefix"),
            base_prefix=path("base_prefix"),
            stdlib=path("stdlib"),
            purelib=path("purelib"),
            platlib=path("platlib"),
            scripts=path("scripts"),
            data=path("data"),
            include=path("include"),
            sys_path=strings("sys_path"),
            site_dirs=strings("site_dirs"),
            distribution_finders=strings("distribution_finders"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Interpreter:
    """One probe's answer about a local interpreter: the target it is, and its layout."""

    path: Path
    target: Target
    layout: InterpreterLayout


def describe_interpreter(interpreter: Path, cache_dir: Path | None = None) -> Interpreter:
    """Probe ``interpreter`` once; with ``cache_dir``, reuse the last answer while the
    interpreter is unchanged (:mod:`lock_build.interpreter_cache`). Inside
    :func:`described_meanwhile`, the first call takes the answer made there."""
    pending = _PENDING.pop(interpreter, None)
    if pending is not None:
        return pending.result()
    return _describe(interpreter, cache_dir)


def _describe(interpreter: Path, cache_dir: Path | None) -> Interpreter:
    from lock_build import interpreter_cache
    from lock_build.cache import CacheEntryError

    def parse(raw: Mapping[str, object]) -> Interpreter:
        return Interpreter(
            path=interpreter,
            target=_target_of(interpreter, InterpreterFacts.parse(interpreter, raw)),
            layout=InterpreterLayout.parse(interpreter, raw),
        )

    def parse_cached(raw: dict[str, object]) -> Interpreter:
        try:
            return parse(raw)
        except TargetError as exc:
            raise CacheEntryError(exc.message) from None

    if cache_dir is not None:
        cached = interpreter_cache.load(cache_dir, interpreter, parse_cached)
        if cached is not None:
            _PROBES[interpreter] = cached.target
            return cached
    raw = probe_interpreter(interpreter)
    found = parse(raw)
    if cache_dir is not None:
        interpreter_cache.store(cache_dir, interpreter, raw, found.layout.site_dirs)
    _PROBES[interpreter] = found.target
    return found


def _format_full_version(info: Sequence[object]) -> str:
    """The marker form of a version tuple, as ``packaging.markers`` writes it."""
    version = f"{info[0]}.{info[1]}.{info[2]}"
    kind = str(info[3])
    if kind != "final":
        version += kind[0] + str(info[4])
    return version


def _two_numbers(text: object) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", text) if isinstance(text, str) else None
    return (int(match[1]), int(match[2])) if match else None


def _normalize(text: str) -> str:
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")


_PROBES: dict[Path, Target] = {}
# Descriptions under way on a thread (see described_meanwhile), taken by the first
# describe_interpreter of the same interpreter.
_PENDING: dict[Path, _Described] = {}


class _Described:
    """A description being made on a thread; :meth:`result` waits for it. (Not a
    concurrent.futures.Future: a sync with nothing to do does not import that.)"""

    __slots__ = ("_done", "_error", "_value")

    def __init__(self) -> None:
        self._done = threading.Event()
        self._value: Interpreter | None = None
        self._error: BaseException | None = None

    def make(self, interpreter: Path, cache_dir: Path | None) -> None:
        try:
            self._value = _describe(interpreter, cache_dir)
        except BaseException as exc:  # the taker raises it, where the direct call would
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> Interpreter:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


@contextmanager
def described_meanwhile(interpreter: Path, cache_dir: Path | None) -> Iterator[None]:
    """Describe ``interpreter`` (:func:`describe_interpreter`) on a thread while the block
    runs; the block's first description of it takes that answer, or its error.

    The probe is a child process (~40 ms) that the thread waits for without the GIL, and
    a command can start it as soon as it knows the interpreter: it then overlaps the
    imports and the set-up that came before it, instead of the resolver or the sync
    waiting for it. Whatever the block did not take is dropped when it ends."""
    described = _Described()
    _PENDING[interpreter] = described
    threading.Thread(
        target=described.make, args=(interpreter, cache_dir), name="lock-build-probe", daemon=True
    ).start()
    try:
        yield
    finally:
        if _PENDING.get(interpreter) is described:
            del _PENDING[interpreter]


def target_for_interpreter(interpreter: Path, cache_dir: Path | None = None) -> Target:
    """The target described by a local interpreter (cached per path; with ``cache_dir``,
    across runs while the interpreter is unchanged, as :func:`describe_interpreter`)."""
    cached = _PROBES.get(interpreter)
    if cached is not None:
        return cached
    return describe_interpreter(interpreter, cache_dir).target


def _target_of(interpreter: Path, facts: InterpreterFacts) -> Target:
    tags = facts.tags()
    # Record the manylinux/musllinux level rather than the bare linux_* tag a local
    # build produces: it is the glibc level the lock assumed.
    platforms = [t.platform for t in tags if t.platform != "any"]
    platform = next((p for p in platforms if p.startswith(("manylinux_", "musllinux_"))), None)
    platform = platform or (platforms[0] if platforms else "any")
    markers = facts.markers
    return Target(
        python_version=markers["python_version"],
        python_full_version=markers["python_full_version"],
        implementation=markers["implementation_name"],
        platform=platform,
        markers=tuple(sorted(markers.items())),
        tags=tags,
        interpreter=interpreter,
    )


_PLATFORM_MARKERS = (
    # (prefix of a platform tag, sys_platform, platform_system, os_name)
    ("manylinux", "linux", "Linux", "posix"),
    ("musllinux", "linux", "Linux", "posix"),
    ("linux", "linux", "Linux", "posix"),
    ("macosx", "darwin", "Darwin", "posix"),
    ("win", "win32", "Windows", "nt"),
)
_MANYLINUX = re.compile(r"^(manylinux|musllinux)_(\d+)_(\d+)_(\w+)$")
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def platform_tags(platform: str) -> tuple[str, ...]:
    """Every platform tag a wheel may carry to install on ``platform``, best first."""
    for legacy, (major, minor) in _LEGACY_MANYLINUX.items():
        if platform.startswith(legacy + "_"):
            platform = f"manylinux_{major}_{minor}_{platform[len(legacy) + 1 :]}"
    match = _MANYLINUX.match(platform)
    if not match:
        return (platform,)
    family, level, arch = match[1], (int(match[2]), int(match[3])), match[4]
    expand = _manylinux_tags if family == "manylinux" else _musllinux_tags
    return (*expand(level, arch), f"linux_{arch}")


def _manylinux_tags(glibc: tuple[int, int], arch: str) -> Iterator[str]:
    """manylinux levels a glibc ``glibc`` runs, newest first, legacy aliases in place
    (the order of ``packaging``'s own)."""
    major, minor = glibc
    floor = 5 if arch in ("x86_64", "i686") else 17
    aliases = {v: k for k, v in _LEGACY_MANYLINUX.items()}
    for m in range(minor, floor - 1, -1):
        yield f"manylinux_{major}_{m}_{arch}"
        if (major, m) in aliases:
            yield f"{aliases[(major, m)]}_{arch}"


def _musllinux_tags(musl: tuple[int, int], arch: str) -> Iterator[str]:
    major, minor = musl
    for m in range(minor, -1, -1):
        yield f"musllinux_{major}_{m}_{arch}"


def synthetic_target(python_version: str, platform: str, base: Target) -> Target:
    """A target that is not this machine: markers derived from the version and platform.

    ``base`` (the local target) fills what a version and a platform tag do not say.
    """
    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", python_version):
        raise TargetError(f"--python-version {python_version!r} is not a version like 3.12.")
    parts = python_version.split(".")
    short = ".".join(parts[:2])
    full = python_version if len(parts) == 3 else f"{short}.0"
    markers = dict(base.markers)
    markers.update(
        python_version=short,
        python_full_version=full,
        implementation_name="cpython",
        implementation_version=full,
        platform_python_implementation="CPython",
    )
    for prefix, sys_platform, system, os_name in _PLATFORM_MARKERS:
        if platform.startswith(prefix):
            markers.update(sys_platform=sys_platform, platform_system=system, os_name=os_name)
            break
    else:
        raise TargetError(
            f"--platform {platform!r} is not a wheel platform tag.",
            hint="Use a tag such as manylinux_2_28_x86_64, macosx_11_0_arm64 or win_amd64.",
        )
    machine = platform.split("_", 3)[-1] if _MANYLINUX.match(platform) else platform.split("_")[-1]
    markers["platform_machine"] = {"amd64": "AMD64", "arm64": "arm64"}.get(machine, machine)
    version = (int(parts[0]), int(parts[1]))
    plats = platform_tags(platform)
    tags = tuple(cpython_tags(version, platforms=plats)) + tuple(
        compatible_tags(version, f"cp{version[0]}{version[1]}", plats)
    )
    same_here = base.python_version == short and base.platform in plats
    return Target(
        python_version=short,
        python_full_version=full,
        implementation="cpython",
        platform=platform,
        markers=tuple(sorted(markers.items())),
        tags=tags,
        interpreter=base.interpreter if same_here else None,
    )


def resolve_target(
    python: str | None = None,
    python_version: str | None = None,
    platform: str | None = None,
    *,
    cache_dir: Path | None = None,
) -> Target:
    """The one rule every command uses to decide what it locks or syncs for."""
    local = target_for_interpreter(select_interpreter(python), cache_dir)
    if python_version is None and platform is None:
        return local
    return synthetic_target(
        python_version or local.python_version, platform or local.platform, local
    )
