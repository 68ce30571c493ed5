"""The workshop's pool of build environments: one venv per set of pins, shared, evicted
only when idle, cleaned up at the end; and its unpacked sdists, each made once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build import building
from lock_build.errors import ArchiveError
from lock_build.locking.workshop import Workshop, _EnvironmentPool
from lock_build.models import Artifact, ArtifactKind, Release
from lock_build.target import resolve_target
from support.dists import make_sdist


class FakeEnvironment:
    made: list[FakeEnvironment] = []

    def __init__(self, wheels: list[Path]) -> None:
        self.wheels = wheels
        self.cleaned = False

    @classmethod
    def create(
        cls, interpreter: Path, wheels: list[Path], root: Path, *, install_apart: bool = False
    ) -> FakeEnvironment:
        if any(w.name == "broken.whl" for w in wheels):
            raise OSError("cannot make it")
        env = cls(wheels)
        cls.made.append(env)
        return env

    def cleanup(self) -> None:
        self.cleaned = True


@pytest.fixture
def pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> _EnvironmentPool:
    FakeEnvironment.made = []
    monkeypatch.setattr(building, "BuildEnvironment", FakeEnvironment)
    return _EnvironmentPool(tmp_path, size=1)


PY = Path("/usr/bin/python3")


def test_hooks_running_at_once_share_one_environment(pool: _EnvironmentPool) -> None:
    inside = threading.Barrier(3)
    seen: list[object] = []

    def hook() -> None:
        with pool.environment(PY, [Path("setuptools.whl")]) as env:
            seen.append(env)
            inside.wait(5)  # all three hold it at the same time

    threads = [threading.Thread(target=hook) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(FakeEnvironment.made) == 1 and seen == FakeEnvironment.made * 3


def test_an_environment_in_use_is_not_evicted(pool: _EnvironmentPool) -> None:
    with pool.environment(PY, [Path("a.whl")]) as first:
        with pool.environment(PY, [Path("b.whl")]) as second:
            assert not first.cleaned and not second.cleaned  # both in use: both kept
        # size=1: one must go when b is done, and a is still in use, older as it is.
        assert not first.cleaned and second.cleaned
    assert not first.cleaned  # alone in the pool again: kept for the next hook
    pool.close()
    assert first.cleaned


def test_a_failed_environment_is_tried_again(pool: _EnvironmentPool) -> None:
    for _ in range(2):
        with pytest.raises(OSError, match="cannot make it"):
            with pool.environment(PY, [Path("broken.whl")]):
                pass
    with pool.environment(PY, [Path("ok.whl")]) as env:
        assert env in FakeEnvironment.made


# -- unpacked sdists ---------------------------------------------------------------


class GatedFinder:
    """Serves sdist files; the fetch of a name in ``held`` waits until ``release`` is set."""

    def __init__(self, files: dict[str, Path], held: set[str]) -> None:
        self.files = files
        self.held = held
        self.release = threading.Event()
        self.fetched: list[str] = []
        self._lock = threading.Lock()

    def fetch(self, artifact: Artifact) -> Path:
        with self._lock:
            self.fetched.append(artifact.name)
        if artifact.name in self.held:
            assert self.release.wait(10), "never released"
        return self.files[artifact.name]


def _sdist_release(path: Path, name: str) -> Release:
    version = Version("1.0")
    artifact = Artifact(
        filename=path.name,
        url=f"https://files.example/{path.name}",
        name=canonicalize_name(name),
        version=version,
        kind=ArtifactKind.SDIST,
        sha256="0" * 64,
    )
    return Release(name=artifact.name, version=version, sdist=artifact)


def test_an_sdist_being_fetched_holds_up_only_its_own_callers(tmp_path: Path) -> None:
    files = {n: make_sdist(tmp_path / "dists", n, "1.0") for n in ("big", "small")}
    finder = GatedFinder(files, held={"big"})
    workshop = Workshop(finder=finder, target=resolve_target(), cache_dir=tmp_path / "cache")  # type: ignore[arg-type]
    big, small = (_sdist_release(files[n], n) for n in ("big", "small"))
    trees: dict[str, list[Path]] = {"big": []}

    def unpack_big() -> None:
        trees["big"].append(workshop.source_tree(big))

    waiters = [threading.Thread(target=unpack_big) for _ in range(2)]
    for thread in waiters:
        thread.start()
    try:
        # big's fetch is still held: small is unpacked meanwhile, not after it.
        assert (workshop.source_tree(small) / "PKG-INFO").is_file()
    finally:
        finder.release.set()
        for thread in waiters:
            thread.join(10)
    (first, second) = trees["big"]
    assert first == second and (first / "PKG-INFO").is_file()
    assert sorted(finder.fetched) == ["big", "small"]  # each fetched once
    workshop.close()


def test_an_sdist_that_fails_to_unpack_is_tried_again(tmp_path: Path) -> None:
    broken = tmp_path / "broken-1.0.tar.gz"
    broken.write_bytes(b"not a tar file")
    finder = GatedFinder({"broken": broken}, held=set())
    workshop = Workshop(finder=finder, target=resolve_target(), cache_dir=tmp_path / "cache")  # type: ignore[arg-type]
    release = _sdist_release(broken, "broken")
    for _ in range(2):
        with pytest.raises(ArchiveError):
            workshop.source_tree(release)
    assert finder.fetched == ["broken", "broken"]
    workshop.close()
