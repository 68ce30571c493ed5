"""Time `lock-build compile` against `pip-compile` and `uv pip compile` (and, with --sync,
`lock-build sync` against `pip install -r`) on the same inputs, cold and warm caches.

Usage (from the repository root, with the project venv that has the `test` extra):

    .venv/bin/python benchmarks/bench.py                       # both stacks, 1 cold + 3 warm
    .venv/bin/python benchmarks/bench.py benchmarks/stacks/popular-40.in --warm 5 --json out.json
    .venv/bin/python benchmarks/bench.py --sync benchmarks/stacks/popular-40.in

Fairness rules (see README.md): every tool sees the same index (``--index-url``, explicit, and
``PIP_CONFIG_FILE=/dev/null`` so no machine-specific pip configuration leaks in), every cold run
starts from fresh empty cache directories, an existing output file is deleted before every run
(pip-compile and lock-build would otherwise reuse its pins), and pip-compile runs with
``--generate-hashes`` because lock-build always records hashes (without it is reported too).
The target is the interpreter running this script, for all three tools.
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
DEFAULT_STACKS = (HERE / "stacks" / "popular-40.in", HERE / "stacks" / "popular-45.in")
DEFAULT_INDEX = "https://pypi.org/simple"
BIN = Path(sys.executable).parent
TOOLS = ("lock-build", "pip-compile", "pip-compile-nohash", "uv")


@dataclass(kw_only=True)
class Timing:
    """Wall-clock seconds of the runs of one tool on one stack."""

    tool: str
    stack: str
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    packages: int | None = None
    error: str | None = None

    @property
    def cold_median(self) -> float | None:
        return statistics.median(self.cold) if self.cold else None

    @property
    def warm_median(self) -> float | None:
        return statistics.median(self.warm) if self.warm else None


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without pip/uv/lock-build settings, plus ``extra``.

    PIP_CERT (and the SSL_* variables) stay: a proxy's CA bundle is not an index setting.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not (
            (key.startswith("PIP_") and key != "PIP_CERT")
            or key.startswith("UV_")
            or key.startswith("LOCK_BUILD_")
            or key == "VIRTUAL_ENV"
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


# Each command builder: (stack, output file, fresh-or-reused cache dir, index) -> argv, env.
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


def run_timed(argv: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return elapsed


def count_pins(out: Path) -> int:
    text = out.read_text()
    if out.suffix == ".lock":
        import tomllib

        return sum(1 for p in tomllib.loads(text).get("package", []) if p.get("runtime", True))
    return sum(1 for line in text.splitlines() if "==" in line and not line.startswith(("#", " ")))


def bench_compile(
    tool: str, stack: Path, work: Path, *, cold: int, warm: int, index: str, log: Callable
) -> Timing:
    timing = Timing(tool=tool, stack=stack.name)
    build = COMMANDS[tool]
    out = work / f"{tool}-{stack.stem}{'.lock' if tool == 'lock-build' else '.txt'}"
    cache = work / f"cache-{tool}-{stack.stem}"
    try:
        for i in range(max(cold, 1 if warm else 0)):
            shutil.rmtree(cache, ignore_errors=True)
            cache.mkdir(parents=True)
            out.unlink(missing_ok=True)
            argv, env = build(stack, out, cache, index)
            seconds = run_timed(argv, env, work)
            if i < cold:
                timing.cold.append(seconds)
            log(f"  {tool:<19} cold #{i + 1}: {seconds:7.2f}s")
        for i in range(warm):  # the cache of the last cold run, output deleted each time
            out.unlink(missing_ok=True)
            argv, env = build(stack, out, cache, index)
            seconds = run_timed(argv, env, work)
            timing.warm.append(seconds)
            log(f"  {tool:<19} warm #{i + 1}: {seconds:7.2f}s")
        timing.packages = count_pins(out)
    except RuntimeError as exc:
        timing.error = str(exc)
        log(f"  {tool}: FAILED\n{exc}")
    return timing


# -- sync -------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class SyncTiming:
    stack: str
    lock_build_first: float | None = None
    lock_build_second: float | None = None
    pip_install: float | None = None
    error: str | None = None


def make_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, env=clean_env())
    return path / "bin" / "python"


def bench_sync(stack: Path, work: Path, *, index: str, log: Callable) -> SyncTiming:
    """First and second `lock-build sync` into a fresh venv vs `pip install -r` of the export.

    Both start from empty caches; the lock is compiled (untimed) beforehand.
    """
    result = SyncTiming(stack=stack.name)
    lock = work / f"sync-{stack.stem}.lock"
    reqs = work / f"sync-{stack.stem}.txt"
    cache = work / f"sync-cache-{stack.stem}"
    try:
        if not lock.exists():
            argv, env = lock_build_cmd(stack, lock, work / "sync-compile-cache", index)
            run_timed(argv, env, work)
        subprocess.run(
            [
                tool_binary("lock-build"),
                "export",
                str(lock),
                "--format",
                "requirements",
                "-o",
                str(reqs),
                "-q",
            ],
            check=True,
            env=clean_env(),
        )
        shutil.rmtree(cache, ignore_errors=True)
        python = make_venv(work / f"venv-lb-{stack.stem}")
        sync = [
            tool_binary("lock-build"),
            "sync",
            str(lock),
            "--python",
            str(python),
            "--cache-dir",
            str(cache),
            "-q",
        ]
        result.lock_build_first = run_timed(sync, clean_env(), work)
        log(f"  lock-build sync first : {result.lock_build_first:7.2f}s")
        result.lock_build_second = run_timed(sync, clean_env(), work)
        log(f"  lock-build sync second: {result.lock_build_second:7.2f}s")
        python = make_venv(work / f"venv-pip-{stack.stem}")
        pip = [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--require-hashes",
            "--no-deps",
            "--index-url",
            index,
            "-r",
            str(reqs),
        ]
        result.pip_install = run_timed(pip, clean_env(PIP_CACHE_DIR=str(work / "sync-pip")), work)
        log(f"  pip install -r        : {result.pip_install:7.2f}s")
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        result.error = str(exc)
        log(f"  sync: FAILED\n{exc}")
    return result


# -- report -----------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or not b else f"{a / b:.2f}"


def render(timings: Sequence[Timing]) -> str:
    lines = [
        f"{'stack':<16} {'tool':<19} {'pins':>5} {'cold s':>8} {'warm s':>8}",
        "-" * 60,
    ]
    for t in timings:
        pins = "-" if t.packages is None else str(t.packages)
        lines.append(
            f"{t.stack:<16} {t.tool:<19} {pins:>5} "
            f"{_fmt(t.cold_median):>8} {_fmt(t.warm_median):>8}" + ("  FAILED" if t.error else "")
        )
    lines.append("")
    lines.append(f"{'ratios (lock-build / other)':<38} {'cold':>8} {'warm':>8}")
    for stack in dict.fromkeys(t.stack for t in timings):
        by_tool = {t.tool: t for t in timings if t.stack == stack}
        ours = by_tool.get("lock-build")
        if ours is None:
            continue
        for other in ("pip-compile", "pip-compile-nohash", "uv"):
            if other in by_tool:
                theirs = by_tool[other]
                lines.append(
                    f"{stack + ' vs ' + other:<38} "
                    f"{_ratio(ours.cold_median, theirs.cold_median):>8} "
                    f"{_ratio(ours.warm_median, theirs.warm_median):>8}"
                )
    return "\n".join(lines)


def lock_build_revision() -> str:
    proc = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return proc.stdout.strip() or "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stacks", nargs="*", type=Path, default=list(DEFAULT_STACKS))
    parser.add_argument("--cold", type=int, default=1, help="cold runs (fresh caches)")
    parser.add_argument("--warm", type=int, default=3, help="warm runs (median reported)")
    parser.add_argument(
        "--tools", default=",".join(TOOLS), help=f"comma-separated subset of {','.join(TOOLS)}"
    )
    parser.add_argument("--index-url", default=DEFAULT_INDEX)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--sync",
        action="store_true",
        help="also time lock-build sync (first, second) vs pip install -r",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="keep outputs and caches here (default: a temporary directory)",
    )
    args = parser.parse_args(argv)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools: {', '.join(sorted(unknown))}")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    revision = lock_build_revision()  # before the runs: others may commit meanwhile
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="lock-build-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    stacks = [s.resolve() for s in args.stacks]
    timings: list[Timing] = []
    syncs: list[SyncTiming] = []
    for stack in stacks:
        log(f"{stack.name}:")
        for tool in tools:
            timings.append(
                bench_compile(
                    tool, stack, work, cold=args.cold, warm=args.warm, index=args.index_url, log=log
                )
            )
        if args.sync:
            syncs.append(bench_sync(stack, work, index=args.index_url, log=log))

    print(f"lock-build {revision}, {os.cpu_count()} CPUs, index {args.index_url}")
    print(render(timings))
    for s in syncs:
        print(
            f"\nsync {s.stack}: lock-build first {_fmt(s.lock_build_first)}s, second "
            f"{_fmt(s.lock_build_second)}s; pip install -r {_fmt(s.pip_install)}s"
            + (f"  FAILED: {s.error.splitlines()[0]}" if s.error else "")
        )
    if args.json:
        report = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "lock_build_revision": revision,
            "python": platform.python_version(),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
            "index_url": args.index_url,
            "compile": [
                asdict(t) | {"cold_median": t.cold_median, "warm_median": t.warm_median}
                for t in timings
            ],
            "sync": [asdict(s) for s in syncs],
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if any(t.error for t in timings) or any(s.error for s in syncs) else 0


if __name__ == "__main__":
    sys.exit(main())
