"""Early hook runs (locking/speculation.py): what they run, and what they leave alone."""

from __future__ import annotations

import threading
from dataclasses import replace

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from lock_build.building.build_system import BuildSystem
from lock_build.locking.builds import BuildOptions
from lock_build.locking.speculation import HookSpeculator
from lock_build.models import ArtifactKind
from lock_build.target import resolve_target
from support.fake_source import DictSource

TARGET = resolve_target()
INDEX = {"tool": {"1.0": [], "2.0": []}, "needy": {"1.0": ["tool"]}, "deep": {"1.0": []}}


class IndexFinder(DictSource):
    """The index as the speculator sees it: sdists in ``hooked`` have no index metadata."""

    def __init__(self, hooked: set[str]) -> None:
        super().__init__(INDEX, sdists=["needy", "deep"])
        self.hooked = hooked

    def metadata(self, release):  # noqa: ANN001, ANN201
        return None if release.name in self.hooked else super().metadata(release)


class RecordingInspector:
    def __init__(self, static: dict[str, list[str]]) -> None:
        self.static = static
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.done = threading.Event()

    def build_system(self, sdist):  # noqa: ANN001, ANN201
        requires = tuple(Requirement(r) for r in self.static.get(sdist.name, []))
        return BuildSystem(requires=requires, backend="fake.backend")

    def dynamic_requires(self, sdist, environment, config, editable=False):  # noqa: ANN001, ANN201
        self.calls.append(("requires", sdist.name, _pins(environment)))
        return ()

    def metadata(self, sdist, environment, config):  # noqa: ANN001, ANN201
        self.calls.append(("metadata", sdist.name, _pins(environment)))
        self.done.set()
        return IndexFinder(set()).metadata(sdist)


def _pins(environment) -> dict[str, str]:  # noqa: ANN001
    return {str(k): str(v.version) for k, v in environment.pins.items()}


def speculator(finder, inspector, target=TARGET) -> HookSpeculator:  # noqa: ANN001
    return HookSpeculator(
        finder=finder,
        inspector=inspector,
        target=target,
        options=BuildOptions(),
        hints={canonicalize_name("tool"): IndexFinder(set()).releases("tool")[-1].version},
        jobs=2,
    )


def test_a_likely_sdist_gets_both_hooks_in_the_environment_the_loop_would_lock() -> None:
    finder = IndexFinder({"needy"})
    inspector = RecordingInspector({"needy": ["tool"]})
    early = speculator(finder, inspector)
    (needy,) = finder.releases(canonicalize_name("needy"))
    early.needs_backend(needy)
    early.needs_backend(needy)  # told twice: run once
    assert inspector.done.wait(10)
    early.close()
    # The hints (a previous pin, an exact input pin) are honoured as the loop honours them.
    assert inspector.calls == [
        ("requires", "needy", {"tool": "1.0"}),
        ("metadata", "needy", {"tool": "1.0"}),
    ]


def test_a_build_needing_another_backend_is_left_to_the_loop() -> None:
    # deep's build environment holds needy, whose metadata needs its own backend.
    finder = IndexFinder({"needy", "deep"})
    inspector = RecordingInspector({"deep": ["needy"]})
    early = speculator(finder, inspector)
    (deep,) = finder.releases(canonicalize_name("deep"))
    early.needs_backend(deep)
    early.close()
    assert inspector.calls == []


def test_working_trees_and_foreign_targets_are_never_speculated() -> None:
    finder = IndexFinder({"needy"})
    inspector = RecordingInspector({})
    (needy,) = finder.releases(canonicalize_name("needy"))
    tree = replace(needy, sdist=replace(needy.artifact, kind=ArtifactKind.DIRECTORY))
    early = speculator(finder, inspector)
    early.needs_backend(tree)
    early.close()
    foreign = speculator(finder, inspector, target=replace(TARGET, interpreter=None))
    foreign.needs_backend(needy)
    foreign.close()
    assert inspector.calls == []


def test_a_walk_down_an_sdists_versions_starts_the_next_ones_hooks() -> None:
    walk = {"old": {f"{n}.0": [] for n in range(1, 6)}, "tool": {"1.0": []}}

    class WalkFinder(DictSource):
        def __init__(self) -> None:
            super().__init__(walk, sdists=["old"])

        def metadata(self, release):  # noqa: ANN001, ANN201
            return None if release.name == "old" else super().metadata(release)

    class Inspector(RecordingInspector):
        def metadata(self, sdist, environment, config):  # noqa: ANN001, ANN201
            self.calls.append(("metadata", f"{sdist.name} {sdist.version}", {}))
            if len(self.calls) >= 4:  # two sdists' requires + metadata
                self.done.set()
            return WalkFinder().releases(sdist.name)  # any value: not looked at here

    finder = WalkFinder()
    inspector = Inspector({})
    early = speculator(finder, inspector)
    newest_first = finder.releases(canonicalize_name("old"))
    early.backend_asked(newest_first[0])  # the loop asks 5.0's backend: no walk yet
    early.backend_asked(newest_first[1])  # then 4.0's: walking down, so 3.0 and 2.0 start
    assert inspector.done.wait(10)
    early.close()
    started = sorted(name for kind, name, _ in inspector.calls if kind == "metadata")
    assert started == ["old 2.0", "old 3.0"]  # jobs=2 ahead; 5.0 and 4.0 are the loop's


def test_build_requirement_pages_are_fetched_ahead_of_the_environment() -> None:
    # The first likely sdist starts pip's default build requirements (setuptools) at
    # once, and each sdist's declared ones as soon as its pyproject.toml is read.
    index = {**INDEX, "setuptools": {"80.0": []}, "cython": {"3.0": []}}
    wanted = {"setuptools", "cython"}
    asked = threading.Condition()
    by_prefetch: set[str] = set()

    class PageFinder(IndexFinder):
        def __init__(self) -> None:
            DictSource.__init__(self, index, sdists=["needy"])
            self.hooked = {"needy"}

        def releases(self, name):  # noqa: ANN001, ANN201
            if threading.current_thread().name.startswith("lock-build-prefetch"):
                with asked:
                    by_prefetch.add(name)
                    asked.notify_all()
            return super().releases(name)

    finder = PageFinder()
    inspector = RecordingInspector({"needy": ["tool", "cython"]})
    early = speculator(finder, inspector)
    (needy,) = finder.releases(canonicalize_name("needy"))
    early.needs_backend(needy)
    with asked:
        assert asked.wait_for(lambda: wanted <= by_prefetch, timeout=10)
    assert inspector.done.wait(10)
    early.close()
    # setuptools is not needy's, so only the early start asked for it.
    assert ("requires", "needy", {"cython": "3.0", "tool": "1.0"}) in inspector.calls
