"""The I/O half of build locking: unpack sdists, run their hooks in pinned environments.

Results are cached on disk by everything that can change them: the sdist's sha256,
the fingerprint of the environment's pins, the config settings and the target. So a
second ``compile`` with unchanged inputs runs no hook at all.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from packaging.requirements import InvalidRequirement, Requirement

from lock_build import building  # its hook runners and installer load when a build runs
from lock_build.archives import extract_archive
from lock_build.building.build_system import BuildSystem, read_build_system
from lock_build.building.fingerprint import BuildPin, build_fingerprint, built_identity, target_key
from lock_build.cache import (
    CacheEntryError,
    drop,
    expect_list,
    expect_str,
    read_entry,
    write_entry,
)
from lock_build.errors import BuildError, MetadataError, TargetError
from lock_build.index.finder import PackageFinder
from lock_build.index.http import file_url_to_path
from lock_build.locking.builds import EnvironmentSpec
from lock_build.metadata import parse_core_metadata
from lock_build.models import ArtifactKind, CoreMetadata, Release
from lock_build.reporting import NULL_REPORTER, Building, Reporter
from lock_build.target import Target

if TYPE_CHECKING:
    from lock_build.building.environment import BuildEnvironment
    from lock_build.building.wheel_cache import WheelCache

_T = TypeVar("_T")

# The cache entry kind of hook results; its version changes when their shape does.
_HOOK_KIND = "hook-v2"


class Workshop:
    """Implements :class:`~lock_build.locking.builds.BuildInspector` against real sdists.

    Every call is given the :class:`EnvironmentSpec` it runs in, which also says how each
    pin without a wheel is built: the workshop holds no view of the compile around it.
    """

    @functools.cached_property
    def wheels(self) -> WheelCache:
        """Built wheels, by sdist and build environment (opened when a build runs)."""
        return building.WheelCache(self.cache_dir / "wheels")

    def __init__(
        self,
        *,
        finder: PackageFinder,
        target: Target,
        cache_dir: Path,
        reporter: Reporter = NULL_REPORTER,
    ) -> None:
        self.finder = finder
        self.target = target
        self.cache_dir = cache_dir.absolute()  # hooks run with another working directory
        self.reporter = reporter
        self._work = Path(tempfile.mkdtemp(prefix="lock-build-work-"))
        # Dependency wheels are built one at a time (a build may need another built first).
        self._lock = threading.RLock()
        # Unpacked sdists by URL; each is fetched and unpacked once, and only its own
        # callers wait for it (unpacking a big sdist must not hold up a small one's hooks).
        self._trees: _SingleFlight[Path] = _SingleFlight(keep=True)
        # Hook runs in flight, by cache key: a second caller waits for the first's result
        # (which the cache then holds: nothing is kept here).
        self._running: _SingleFlight[object] = _SingleFlight(keep=False)
        # Under the cache dir, so a failed hook's log (root/logs) outlives this command.
        self._pool = _EnvironmentPool(self.cache_dir / "build")

    def close(self) -> None:
        self._pool.close()
        shutil.rmtree(self._work, ignore_errors=True)

    # -- BuildInspector -------------------------------------------------------

    def build_system(self, sdist: Release) -> BuildSystem:
        return read_build_system(self.source_tree(sdist))

    def dynamic_requires(
        self,
        sdist: Release,
        environment: EnvironmentSpec,
        config: Mapping[str, str],
        editable: bool = False,
    ) -> tuple[Requirement, ...]:
        key = self._cache_key("requires", sdist, environment, config)
        return self._once(
            key, lambda: self._dynamic_requires(key, sdist, environment, config, editable)
        )

    def _dynamic_requires(
        self,
        key: str | None,
        sdist: Release,
        environment: EnvironmentSpec,
        config: Mapping[str, str],
        editable: bool,
    ) -> tuple[Requirement, ...]:
        cached = self._read_requires(key)
        if cached is not None:
            return cached
        self.reporter.building(
            Building(package=sdist.name, version=str(sdist.version), step="requires")
        )
        tree = self.source_tree(sdist)
        build_system = read_build_system(tree)
        substituted = environment.substituted
        with self._environment(environment) as env:
            found = building.get_requires_for_build_wheel(
                env, tree, build_system, dict(config) or None, substituted=substituted
            )
            if editable:
                # sync builds it with build_editable: lock what that hook needs too.
                extra = building.get_requires_for_build_wheel(
                    env,
                    tree,
                    build_system,
                    dict(config) or None,
                    substituted=substituted,
                    editable=True,
                )
                found = tuple({str(r): r for r in (*found, *extra)}.values())
        self._write_cache(key, sorted(str(r) for r in found))
        return found

    def metadata(
        self, sdist: Release, environment: EnvironmentSpec, config: Mapping[str, str]
    ) -> CoreMetadata:
        """Runtime metadata from ``prepare_metadata_for_build_wheel`` in the pinned env."""
        key = self._cache_key("metadata", sdist, environment, config)
        return self._once(key, lambda: self._metadata(key, sdist, environment, config))

    def _metadata(
        self,
        key: str | None,
        sdist: Release,
        environment: EnvironmentSpec,
        config: Mapping[str, str],
    ) -> CoreMetadata:
        source = f"{sdist.name} {sdist.version}"
        cached = self._read_metadata_text(key)
        if cached is not None and key is not None:
            try:
                return parse_core_metadata(cached.encode("utf-8", "surrogateescape"), source)
            except MetadataError as exc:
                drop(self._cache_path(key), _HOOK_KIND, exc.message)
        self.reporter.building(
            Building(package=sdist.name, version=str(sdist.version), step="metadata")
        )
        tree = self.source_tree(sdist)
        build_system = read_build_system(tree)
        with self._environment(environment) as env:
            out = Path(tempfile.mkdtemp(prefix="meta-", dir=self._work))
            dist_info = building.prepare_metadata(
                env,
                tree,
                build_system,
                dict(config) or None,
                out,
                substituted=environment.substituted,
            )
            text = (dist_info / "METADATA").read_text(encoding="utf-8", errors="surrogateescape")
        metadata = parse_core_metadata(text.encode("utf-8", "surrogateescape"), source)
        self._write_cache(key, text)
        return metadata

    # -- wheels and trees -----------------------------------------------------

    def wheel_for(self, release: Release, environment: EnvironmentSpec | None) -> Path:
        """A wheel file for a build-environment pin: downloaded, or built in ``environment``
        (its own locked build environment; ``None`` only for pins that have a wheel)."""
        if release.wheel is not None:
            return self.finder.fetch(release.wheel)
        if environment is None:
            raise BuildError(
                f"{release.name} {release.version} has no wheel and no locked build environment."
            )
        fingerprint = self._fingerprint(environment, {})
        sdist_hash = self.finder.sha256(release.artifact)
        with self._lock:
            cached = self.wheels.get(sdist_hash, fingerprint, self._target_key())
            if cached is not None:
                return cached
            self.reporter.building(
                Building(
                    package=release.name, version=str(release.version), step="dependency-wheel"
                )
            )
            tree = self.source_tree(release)
            build_system = read_build_system(tree)
            with self._environment(environment) as env:
                out = Path(tempfile.mkdtemp(prefix="wheel-", dir=self._work))
                wheel = building.build_wheel(
                    env, tree, build_system, None, out, substituted=environment.substituted
                )
            stamped = {str(k): str(v.version) for k, v in environment.pins.items()}
            building.stamp_wheel(wheel, stamped, fingerprint)
            return self.wheels.put(wheel, sdist_hash, fingerprint, self._target_key())

    def source_tree(self, sdist: Release) -> Path:
        """The unpacked sdist (safely extracted), shared by every hook call."""
        artifact = sdist.sdist or sdist.artifact
        if artifact.kind is ArtifactKind.DIRECTORY:
            return file_url_to_path(artifact.url)  # built where it is, as pip does

        def unpack() -> Path:
            archive = self.finder.fetch(artifact)  # which reports the download, if any
            dest = Path(tempfile.mkdtemp(prefix=f"{sdist.name}-", dir=self._work))
            return extract_archive(archive, dest)

        return self._trees.run(artifact.url, unpack)

    # -- helpers --------------------------------------------------------------

    def _once(self, key: str | None, compute: Callable[[], _T]) -> _T:
        """``compute()`` (which reads the cache first) once per key at a time: a thread that
        asks for a hook result another thread is computing waits for it instead of running
        the hook again. Keys are None only for working trees, which are never shared."""
        if key is None:
            return compute()
        return self._running.run(key, compute)  # type: ignore[return-value]

    def _environment(self, spec: EnvironmentSpec) -> AbstractContextManager[BuildEnvironment]:
        if self.target.interpreter is None:
            raise TargetError(
                f"Locking for {self.target.describe()} needs sdist builds (to read build "
                "requirements and metadata), and no local interpreter matches that target.",
                hint="Run lock-build with a matching Python (--python PATH), or allow wheels "
                "for the packages that need building.",
            )
        wheels = [
            self.wheel_for(release, spec.built.get(name))
            for name, release in sorted(spec.pins.items())
        ]
        return self._pool.environment(self.target.interpreter, wheels)

    def _fingerprint(self, spec: EnvironmentSpec, config: Mapping[str, str]) -> str:
        """The build fingerprint plan and sync compute from the lock for the same pins."""
        return build_fingerprint(
            (
                BuildPin(
                    name=str(name),
                    version=str(r.version),
                    sha256=self._identity(r, spec.built.get(name)),
                )
                for name, r in spec.pins.items()
            ),
            config,
            target_key=self._target_key(),
        )

    def _identity(self, release: Release, environment: EnvironmentSpec | None) -> str:
        """A pin's identity: its wheel's hash, or what a built pin is built from and against."""
        if release.wheel is not None:
            return self.finder.sha256(release.wheel)
        if release.artifact.kind is ArtifactKind.DIRECTORY:
            return ""  # unhashed by nature; the lock says so
        if environment is None:
            raise BuildError(
                f"{release.name} {release.version} has no wheel and no locked build environment."
            )
        # Built by wheel_for without config settings, so fingerprinted without them.
        inner = self._fingerprint(environment, {})
        return built_identity(self.finder.sha256(release.artifact), inner)

    def _target_key(self) -> str:
        return target_key(
            implementation=self.target.implementation,
            python_version=self.target.python_version,
            platform=self.target.platform,
        )

    def _cache_key(
        self,
        kind: str,
        sdist: Release,
        environment: EnvironmentSpec,
        config: Mapping[str, str],
    ) -> str | None:
        artifact = sdist.sdist or sdist.artifact
        if artifact.kind is ArtifactKind.DIRECTORY:
            return None  # a working tree changes under us: never cache its hooks
        sdist_hash = self.finder.sha256(artifact)
        return f"{kind}-{sdist_hash[:32]}-{self._fingerprint(environment, config)[:32]}"

    def _cache_path(self, key: str) -> Path:
        return self.cache_dir / "hooks" / f"{_HOOK_KIND}-{key}.json"

    def _read_requires(self, key: str | None) -> tuple[Requirement, ...] | None:
        return None if key is None else read_entry(self._cache_path(key), _HOOK_KIND, _requires)

    def _read_metadata_text(self, key: str | None) -> str | None:
        if key is None:
            return None
        return read_entry(self._cache_path(key), _HOOK_KIND, _metadata_text)

    def _write_cache(self, key: str | None, value: object) -> None:
        if key is not None:
            write_entry(self._cache_path(key), _HOOK_KIND, value)


def _requires(value: object) -> tuple[Requirement, ...]:
    """A cached get_requires_for_build_wheel result: a list of requirement strings."""
    try:
        return tuple(
            Requirement(expect_str(item, f"value[{i}]"))
            for i, item in enumerate(expect_list(value, "value"))
        )
    except InvalidRequirement as exc:
        raise CacheEntryError(f"a requirement that does not parse ({exc})") from None


def _metadata_text(value: object) -> str:
    """A cached prepare_metadata_for_build_wheel result: the METADATA text."""
    return expect_str(value, "value")


class _SingleFlight(Generic[_T]):
    """``compute()`` once per key at a time: a caller that asks for a key another thread
    is computing waits for that answer. With ``keep``, the answer stays for every later
    caller; a failure never stays (the next caller tries again)."""

    def __init__(self, *, keep: bool) -> None:
        self._keep = keep
        self._flights: dict[str, Future[_T]] = {}
        self._lock = threading.Lock()

    def run(self, key: str, compute: Callable[[], _T]) -> _T:
        with self._lock:
            flight = self._flights.get(key)
            owner = flight is None
            if flight is None:
                flight = self._flights[key] = Future()
        if not owner:
            return flight.result()
        try:
            result = compute()
        except BaseException as exc:
            self._land(key)
            flight.set_exception(exc)
            raise
        if not self._keep:
            self._land(key)
        flight.set_result(result)
        return result

    def _land(self, key: str) -> None:
        with self._lock:
            del self._flights[key]


class _EnvironmentPool:
    """Build environments by their exact wheels, kept for the length of one compile.

    ``get_requires_for_build_wheel`` and ``prepare_metadata_for_build_wheel`` of one sdist
    run in the same pinned environment, and sdists often share pins: making each venv
    once halves the work while the resolver backtracks through old sdists. Hooks run in
    subprocesses that do not change the environment, so sharing it is safe, also between
    hooks running at the same time (``-j``): a second caller waits for the venv being
    made instead of making another. Only environments nobody uses are evicted.
    """

    def __init__(self, root: Path, size: int = 4) -> None:
        self.root = root
        self.size = size
        self._envs: OrderedDict[tuple[str, ...], Future[BuildEnvironment]] = OrderedDict()
        self._users: dict[tuple[str, ...], int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def environment(self, interpreter: Path, wheels: list[Path]) -> Iterator[BuildEnvironment]:
        key = (str(interpreter), *sorted(str(w) for w in wheels))
        with self._lock:
            made = self._envs.get(key)
            maker = made is None
            if made is None:
                made = self._envs[key] = Future()
            self._envs.move_to_end(key)
            self._users[key] = self._users.get(key, 0) + 1
        try:
            if maker:
                try:
                    made.set_result(
                        # Apart: this process parses index pages meanwhile.
                        building.BuildEnvironment.create(
                            interpreter, wheels, self.root, install_apart=True
                        )
                    )
                except BaseException as exc:
                    with self._lock:
                        self._envs.pop(key, None)  # the next caller tries again
                    made.set_exception(exc)
            yield made.result()
        finally:
            with self._lock:
                self._users[key] -= 1
                self._evict_idle()

    def _evict_idle(self) -> None:
        for key in [k for k in self._envs if not self._users.get(k)]:
            if len(self._envs) <= self.size:
                break
            _cleanup(self._envs.pop(key))
            del self._users[key]

    def close(self) -> None:
        with self._lock:
            while self._envs:
                _, made = self._envs.popitem()
                _cleanup(made)


def _cleanup(made: Future[BuildEnvironment]) -> None:
    if made.done() and made.exception() is None:
        made.result().cleanup()


__all__ = ["Workshop"]
