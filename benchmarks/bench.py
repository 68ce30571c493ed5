"""Time `lock-build compile` against `uv pip compile` and `pip-compile`, and `lock-build sync`
against `uv pip sync` and `pip-sync`, on the same inputs, cold and warm, interleaved.

Usage (from the repository root, with the project venv that has the `test` extra):

    .venv/bin/python benchmarks/bench.py                       # every stack, 1 cold + 2 warm
    .venv/bin/python benchmarks/bench.py benchmarks/stacks/web.in --warm 5 --json out.json
    .venv/bin/python benchmarks/bench.py --sync-stack benchmarks/stacks/web.in --no-compile

Fairness rules (see README.md): every tool sees the same index (``--index-url``, explicit, and
``PIP_CONFIG_FILE=/dev/null`` so no machine-specific pip configuration leaks in), every cold run
starts from fresh empty cache directories, an existing output file is deleted before every run
(pip-compile and lock-build would otherwise reuse its pins), and pip-compile runs with
``--generate-hashes`` because lock-build always records hashes (without it is reported too).
The target is the interpreter running this script, for every tool. Runs are interleaved:
cold round (each tool once), then each warm round (each tool once), so a noisy minute of a
shared machine hits every tool alike; ratios are taken within a stack. Peak memory is the
largest resident set of a run's process tree (``wait4``'s ``ru_maxrss``).

Sync: the lock of the sync stack is exported with hashes; every tool syncs a fresh venv
(first) and then the same venv again (nothing to do), starting from the cache its own
compile of that stack left (lock-build's is copied per installer). pip-sync and
``lock-build sync`` (pip or builtin) compile bytecode, as pip does; ``uv pip sync`` does not
by default, so it is timed with and without ``--compile-bytecode``, and lock-build's builtin
installer with ``--no-compile`` too (the like-for-like row for plain ``uv pip sync``).
``--sync-runs N`` repeats the sync rounds and reports medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STACKS = HERE / "stacks"
DEFAULT_STACKS = (
    STACKS / "web.in",
    STACKS / "popular-40.in",
    STACKS / "popular-45.in",
    STACKS / "project-sdists.in",
)
DEFAULT_SYNC_STACK = STACKS / "web.in"
DEFAULT_INDEX = "https://pypi.org/simple"
BIN = Path(sys.executable).parent
TOOLS = ("lock-build", "uv", "pip-compile", "pip-compile-nohash")
SYNC_TOOLS = (
    "lock-build",
    "lock-build-builtin",
    "lock-build-no-compile",
    "uv",
    "uv-compile-bytecode",
    "pip-sync",
)


@dataclass(kw_only=True)
class Timing:
    """Wall-clock seconds and peak memory (KiB) of the runs of one tool on one stack."""

    tool: str
    stack: str
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    peak_kib: list[int] = field(default_factory=list)
    packages: int | None = None
    error: str | None = None

    @property
    def cold_median(self) -> float | None:
        return statistics.median(self.cold) if self.cold else None

    @property
    def warm_median(self) -> float | None:
        return statistics.median(self.warm) if self.warm else None

    @property
    def peak_mib(self) -> float | None:
        return max(self.peak_kib) / 1024 if self.peak_kib else None


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without pip/uv/lock-build settings, plus ``extra``.

    PIP_CERT (and the SSL_* variables) stay: a proxy's CA bundle is not an index setting.
    PYTHONDONTWRITEBYTECODE goes: with it, every Python tool recompiles itself on every
    run, which no user's machine does.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not (
            (key.startswith("PIP_") and key != "PIP_CERT")
            or key.startswith("UV_")
            or key.startswith("LOCK_BUILD_")
            or key in ("VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
        )
    }
    env.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.update(extra)
    return env


def tool_binary(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"bench: {name} not found next to {sys.executable} or on PATH")
    return found


# Each command builder: (stack, output file, cache dir, index) -> argv, env.
Command = Callable[[Path, Path, Path, str], tuple[list[str], dict[str, str]]]


def lock_build_cmd(stack: Path, out: Path, cache: Path, index: str) -> tuple[list[str], dict]:
    argv = [
        tool_binary("lock-build"),
        "compile",
        str(stack),
        "-o",
        str(out),
        "--index-url",
        index,
        "--cache-dir",
        str(cache),
        "-q",
    ]
    return argv, clean_env()


def _pip_compile(hashes: bool) -> Command:
    def build(stack: Path, out: Path, cache: Path, index: str) -> tuple[list[str], dict]:
        argv = [
            tool_binary("pip-compile"),
            str(stack),
            "-o",
            str(out),
            "--index-url",
            index,
            "--cache-dir",
            str(cache / "pip-tools"),
            "--strip-extras",
            "-q",
        ]
        if hashes:
            argv.append("--generate-hashes")
        return argv, clean_env(PIP_CACHE_DIR=str(cache / "pip"))

    return build


def uv_cmd(stack: Path, out: Path, cache: Path, index: str) -> tuple[list[str], dict]:
    # --python: the same interpreter (markers and wheel tags) lock-build targets.
    argv = [
        tool_binary("uv"),
        "pip",
        "compile",
        str(stack),
        "-o",
        str(out),
        "--index-url",
        index,
        "--python",
        sys.executable,
        "--generate-hashes",
        "--cache-dir",
        str(cache),
        "-q",
    ]
    return argv, clean_env(UV_CACHE_DIR=str(cache))


COMMANDS: dict[str, Command] = {
    "lock-build": lock_build_cmd,
    "pip-compile": _pip_compile(hashes=True),
    "pip-compile-nohash": _pip_compile(hashes=False),
    "uv": uv_cmd,
}


def run_timed(argv: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, int]:
    """Seconds and peak resident KiB of one run; RuntimeError with its stderr if it failed."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{tail}")
    return elapsed, int(usage.ru_maxrss)


def count_pins(out: Path) -> int:
    text = out.read_text()
    if out.suffix == ".lock":
        import tomllib

        data = tomllib.loads(text)
        return sum(1 for p in data.get("package", []) if p.get("runtime", True))
    return sum(1 for line in text.splitlines() if "==" in line and not line.startswith(("#", " ")))


def _out(work: Path, tool: str, stack: Path) -> Path:
    return work / f"{tool}-{stack.stem}{'.lock' if tool == 'lock-build' else '.txt'}"


def _cache(work: Path, tool: str, stack: Path) -> Path:
    return work / f"cache-{tool}-{stack.stem}"


def bench_stack(
    stack: Path,
    tools: Sequence[str],
    work: Path,
    *,
    cold: int,
    warm: int,
    index: str,
    log: Callable[[str], None],
) -> list[Timing]:
    """Cold rounds, then warm rounds; each round runs every tool once, in turn."""
    timings = {tool: Timing(tool=tool, stack=stack.name) for tool in tools}

    def one(tool: str, kind: str, number: int) -> None:
        timing = timings[tool]
        if timing.error:
            return
        out, cache = _out(work, tool, stack), _cache(work, tool, stack)
        if kind == "cold":
            shutil.rmtree(cache, ignore_errors=True)
            cache.mkdir(parents=True)
        out.unlink(missing_ok=True)
        argv, env = COMMANDS[tool](stack, out, cache, index)
        try:
            seconds, peak = run_timed(argv, env, work)
        except RuntimeError as exc:
            timing.error = str(exc)
            log(f"  {tool}: FAILED\n{exc}")
            return
        timing.peak_kib.append(peak)
        if kind == "cold" and number < cold:
            timing.cold.append(seconds)
        elif kind == "warm":
            timing.warm.append(seconds)
        timing.packages = count_pins(out)
        log(f"  {tool:<19} {kind} #{number + 1}: {seconds:7.2f}s {peak / 1024:6.0f} MiB")

    for number in range(max(cold, 1 if warm else 0)):  # a warm run needs one cold first
        for tool in tools:
            one(tool, "cold", number)
    for number in range(warm):
        for tool in tools:
            one(tool, "warm", number)
    return list(timings.values())


# -- sync -------------------------------------------------------------------------------------


def _upgrade_pip(python: Path) -> None:
    """pip-sync refuses a target whose pip is older than it wants (pip-tools 7.7: pip >=
    26.2.2; Python 3.11's venv bundles 23.2.1). Only its venv gets the newer pip: the other
    tools' venvs stay as the earlier runs had them (uv removes the bundled pip and
    setuptools; a newer pip would be more for it to remove)."""
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"],
        check=True,
        env=clean_env(),
    )


def make_venv(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, env=clean_env())
    return path / "bin" / "python"


def _sync_command(
    tool: str, lock: Path, reqs: Path, python: Path, cache: Path, index: str
) -> tuple[list[str], dict[str, str]]:
    if tool.startswith("lock-build"):
        installer = "pip" if tool == "lock-build" else "builtin"
        argv = [
            tool_binary("lock-build"),
            "sync",
            str(lock),
            "--python",
            str(python),
            "--cache-dir",
            str(cache),
            "--installer",
            installer,
            "-q",
        ]
        if tool == "lock-build-no-compile":
            argv.append("--no-compile")
        return argv, clean_env()
    if tool.startswith("uv"):
        argv = [
            tool_binary("uv"),
            "pip",
            "sync",
            str(reqs),
            "--python",
            str(python),
            "--index-url",
            index,
            "--cache-dir",
            str(cache),
            "-q",
        ]
        if tool == "uv-compile-bytecode":
            argv.append("--compile-bytecode")
        return argv, clean_env(UV_CACHE_DIR=str(cache))
    argv = [
        tool_binary("pip-sync"),
        str(reqs),
        "--python-executable",
        str(python),
        "--index-url",
        index,
        "-q",
    ]
    return argv, clean_env(PIP_CACHE_DIR=str(cache / "pip"))


@dataclass(kw_only=True)
class SyncTiming:
    tool: str
    stack: str
    firsts: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    peak_kib: int | None = None
    error: str | None = None

    @property
    def first(self) -> float | None:
        return statistics.median(self.firsts) if self.firsts else None

    @property
    def second(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None


def bench_sync(
    stack: Path,
    tools: Sequence[str],
    work: Path,
    *,
    index: str,
    log: Callable[[str], None],
    runs: int = 1,
) -> list[SyncTiming]:
    """First sync into a fresh venv and a second (nothing to do) for each tool, interleaved;
    ``runs`` rounds of both."""
    results = [SyncTiming(tool=tool, stack=stack.name) for tool in tools]
    lock = _out(work, "lock-build", stack)
    reqs = work / f"sync-{stack.stem}.txt"
    compile_caches = {
        "lock-build": _cache(work, "lock-build", stack),
        "uv": _cache(work, "uv", stack),
        "pip-sync": _cache(work, "pip-compile", stack),
    }
    try:
        for tool, command in (("lock-build", lock_build_cmd), ("uv", uv_cmd)):
            if not compile_caches[tool].is_dir():  # --no-compile: compile once, untimed
                compile_caches[tool].mkdir(parents=True)
                argv, env = command(stack, _out(work, tool, stack), compile_caches[tool], index)
                run_timed(argv, env, work)
        compile_caches["pip-sync"].mkdir(parents=True, exist_ok=True)
        export = [tool_binary("lock-build"), "export", str(lock), "--format", "requirements"]
        export += ["-o", str(reqs), "-q"]
        subprocess.run(export, check=True, env=clean_env(), cwd=work)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        for result in results:
            result.error = str(exc)
        log(f"  sync setup: FAILED\n{exc}")
        return results
    for second in [False, True] * runs:
        for result in results:
            if result.error:
                continue
            family = "lock-build" if result.tool.startswith("lock-build") else result.tool
            family = "uv" if family.startswith("uv") else family
            cache = work / f"sync-cache-{result.tool}"
            if not second:  # start from what this tool's compile left
                shutil.rmtree(cache, ignore_errors=True)
                shutil.copytree(compile_caches[family], cache, symlinks=True)
            venv = work / f"venv-{result.tool}"
            python = venv / "bin" / "python" if second else make_venv(venv)
            if not second and result.tool == "pip-sync":
                _upgrade_pip(python)
            argv, env = _sync_command(result.tool, lock, reqs, python, cache, index)
            try:
                seconds, peak = run_timed(argv, env, work)
            except RuntimeError as exc:
                result.error = str(exc)
                log(f"  sync {result.tool}: FAILED\n{exc}")
                continue
            result.peak_kib = max(result.peak_kib or 0, peak)
            (result.seconds if second else result.firsts).append(seconds)
            which = "second" if second else "first"
            log(f"  sync {result.tool:<20} {which}: {seconds:7.2f}s {peak / 1024:6.0f} MiB")
    return results


# -- report -----------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or not b else f"{a / b:.2f}"


def render(timings: Sequence[Timing], syncs: Sequence[SyncTiming]) -> str:
    """Markdown tables: compile (with ratios to uv and to pip-compile), then sync."""
    lines = [
        "| stack | tool | pins | cold s | warm s | peak MiB | ÷ uv (cold / warm) |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for stack in dict.fromkeys(t.stack for t in timings):
        by_tool = {t.tool: t for t in timings if t.stack == stack}
        uv = by_tool.get("uv")
        for t in by_tool.values():
            pins = "-" if t.packages is None else str(t.packages)
            ratio = ""
            if uv is not None and t is not uv and not t.error:
                ratio = f"{_ratio(t.cold_median, uv.cold_median)} / "
                ratio += _ratio(t.warm_median, uv.warm_median)
            peak = "-" if t.peak_mib is None else f"{t.peak_mib:.0f}"
            name = f"**{t.tool}**" if t.tool == "lock-build" else t.tool
            lines.append(
                f"| {stack} | {name} | {pins} | {_fmt(t.cold_median)} | "
                f"{_fmt(t.warm_median)} | {peak} | {ratio}{' FAILED' if t.error else ''} |"
            )
    if syncs:
        lines += [
            "",
            "| stack | sync tool | first s | second s | peak MiB | ÷ uv pip sync (first / 2nd) |",
            "|---|---|---:|---:|---:|---|",
        ]
        uv = next((s for s in syncs if s.tool == "uv"), None)
        for s in syncs:
            ratio = ""
            if uv is not None and s is not uv and not s.error:
                ratio = f"{_ratio(s.first, uv.first)} / {_ratio(s.second, uv.second)}"
            peak = "-" if s.peak_kib is None else f"{s.peak_kib / 1024:.0f}"
            lines.append(
                f"| {s.stack} | {s.tool} | {_fmt(s.first)} | {_fmt(s.second)} | {peak} | "
                f"{ratio}{' FAILED' if s.error else ''} |"
            )
    return "\n".join(lines)


def lock_build_revision() -> str:
    proc = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return proc.stdout.strip() or "unknown"


def _names(value: str, known: Sequence[str], parser: argparse.ArgumentParser) -> list[str]:
    names = [t.strip() for t in value.split(",") if t.strip()]
    unknown = set(names) - set(known)
    if unknown:
        parser.error(f"unknown tools: {', '.join(sorted(unknown))} (known: {', '.join(known)})")
    return names


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stacks", nargs="*", type=Path, default=list(DEFAULT_STACKS))
    parser.add_argument("--cold", type=int, default=1, help="cold runs (fresh caches)")
    parser.add_argument("--warm", type=int, default=2, help="warm runs (median reported)")
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"subset of {','.join(TOOLS)}")
    parser.add_argument("--index-url", default=DEFAULT_INDEX)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-compile", action="store_true", help="only the sync benchmark")
    parser.add_argument(
        "--sync-stack",
        default=str(DEFAULT_SYNC_STACK),
        help="the stack whose lock every sync tool installs ('' for none)",
    )
    parser.add_argument(
        "--sync-runs", type=int, default=1, help="sync rounds (first + second), medians"
    )
    parser.add_argument(
        "--sync-tools", default=",".join(SYNC_TOOLS), help=f"subset of {','.join(SYNC_TOOLS)}"
    )
    parser.add_argument(
        "--work-dir", type=Path, help="keep outputs and caches here (default: a temporary one)"
    )
    args = parser.parse_args(argv)
    tools = _names(args.tools, TOOLS, parser)
    sync_tools = _names(args.sync_tools, SYNC_TOOLS, parser)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    revision = lock_build_revision()  # before the runs: others may commit meanwhile
    started = datetime.now(UTC)
    work = (args.work_dir or Path(tempfile.mkdtemp(prefix="lock-build-bench-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    stacks = [] if args.no_compile else [s.resolve() for s in args.stacks]
    timings: list[Timing] = []
    for stack in stacks:
        log(f"{stack.name}:")
        timings += bench_stack(
            stack, tools, work, cold=args.cold, warm=args.warm, index=args.index_url, log=log
        )
    syncs: list[SyncTiming] = []
    if args.sync_stack and sync_tools:
        sync_stack = Path(args.sync_stack).resolve()
        log(f"sync {sync_stack.name}:")
        syncs = bench_sync(
            sync_stack, sync_tools, work, index=args.index_url, log=log, runs=args.sync_runs
        )

    print(
        f"lock-build {revision}, {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()} "
        f"{platform.machine()}, index {args.index_url}, "
        f"{args.cold} cold + median of {args.warm} warm"
    )
    print(render(timings, syncs))
    if args.json:
        report = {
            "date": started.isoformat(timespec="seconds"),
            "lock_build_revision": revision,
            "python": platform.python_version(),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
            "index_url": args.index_url,
            "compile": [
                asdict(t) | {"cold_median": t.cold_median, "warm_median": t.warm_median}
                for t in timings
            ],
            "sync": [asdict(s) | {"first": s.first, "second": s.second} for s in syncs],
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    failed = any(t.error for t in timings) or any(s.error for s in syncs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
