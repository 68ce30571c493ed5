"""The build-environment policy (locking/builds.py) over a dict source and a fake inspector."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build.abi import AbiRules, equal_rule
from lock_build.building.build_system import BuildSystem
from lock_build.errors import BuildError, ResolutionError
from lock_build.locking.builds import (
    BuildLocker,
    BuildMismatchError,
    BuildOptions,
    default_abi_rules,
)
from lock_build.resolution.model import ResolveRequest
from lock_build.resolution.resolver import resolve
from lock_build.target import resolve_target
from support.fake_source import DictSource, want

TARGET = resolve_target()
ABI = AbiRules(rules={canonicalize_name("abi"): equal_rule(canonicalize_name("abi"))})


class FakeInspector:
    """build_requires: sdist -> static requires; dynamic: sdist -> what the hook returns."""

    def __init__(
        self, static: Mapping[str, list[str]], dynamic: Mapping[str, list[str]] | None = None
    ):
        self.static = static
        self.dynamic = dynamic or {}
        self.hook_calls: list[tuple[str, dict[str, str]]] = []

    def build_system(self, sdist):
        return BuildSystem(
            requires=tuple(Requirement(r) for r in self.static.get(sdist.name, [])),
            backend="fake.backend",
        )

    def dynamic_requires(self, sdist, environment, config, editable=False):
        pins = {str(k): str(v.version) for k, v in environment.pins.items()}
        self.hook_calls.append((sdist.name, pins))
        return tuple(Requirement(r) for r in self.dynamic.get(sdist.name, []))

    def metadata(self, sdist, environment, config):
        raise AssertionError("the build policy never asks for metadata")


def lock(index, runtime_reqs, static, *, sdists=(), dynamic=None, **options):
    source = DictSource(index, sdists=sdists)
    runtime, _ = resolve(source, TARGET, ResolveRequest(requirements=want(*runtime_reqs)))
    inspector = FakeInspector(static, dynamic)
    options.setdefault("abi", ABI)
    locker = BuildLocker(
        source=source,
        target=TARGET,
        inspector=inspector,
        options=BuildOptions(**options),
        runtime=runtime,
    )
    to_build = [p.candidate.release for p in runtime.packages if p.candidate.release.needs_build]
    outcome = locker.lock_all(to_build)
    if outcome.rejected is not None:
        raise outcome.rejected  # lock_all returns it as data: the compile loop's next round
    assert outcome.settled
    builds = {b.sdist.name: b for b in outcome.builds}
    return runtime, builds, inspector


def pins(build):
    return {str(k): str(v.version) for k, v in build.pins.items()}


# An index with an ABI provider, an "oldest-supported" style metapackage and build tools.
INDEX = {
    "abi": {"1.0": [], "2.0": []},
    "ext": {"1.0": ["abi>=1"]},
    "oldest": {"2024.1": ["abi==1.0"], "2022.1": ["abi"]},
    "oldest-strict": {"1.0": ["abi==1.0"]},
    "tool": {"1.0": [], "2.0": [], "3.0": []},
}


def test_shared_pin_when_declared_requirements_allow_it():
    _, builds, _ = lock(INDEX, ["abi==2.0", "ext"], {"ext": ["abi>=1", "tool"]}, sdists=["ext"])
    assert pins(builds["ext"]) == {"abi": "2.0", "tool": "3.0"}
    assert builds["ext"].shared == {"abi"}
    assert builds["ext"].substitutions == ()


def test_joint_solution_backtracks_the_metapackage():
    _, builds, _ = lock(INDEX, ["abi==2.0", "ext"], {"ext": ["oldest"]}, sdists=["ext"])
    assert pins(builds["ext"]) == {"abi": "2.0", "oldest": "2022.1"}
    assert builds["ext"].substitutions == ()


def test_substitution_when_no_joint_solution():
    _, builds, _ = lock(INDEX, ["abi==2.0", "ext"], {"ext": ["oldest-strict"]}, sdists=["ext"])
    build = builds["ext"]
    assert pins(build) == {"abi": "2.0", "oldest-strict": "1.0"}
    (sub,) = build.substitutions
    assert sub.package == "abi" and sub.used == Version("2.0")
    assert "abi==1.0 via oldest-strict 1.0" in sub.declared


def test_declared_mode_refuses_with_explanation():
    with pytest.raises(BuildMismatchError) as info:
        lock(
            INDEX, ["abi==2.0", "ext"], {"ext": ["oldest-strict"]}, sdists=["ext"], match="declared"
        )
    message = info.value.render()
    assert "ext 1.0 needs abi==1.0 via oldest-strict 1.0 to build" in message
    assert "abi==2.0" in message and "--build-match declared" in message


def test_a_rejection_is_returned_as_data_for_the_next_round():
    source = DictSource(INDEX, sdists=["ext"])
    runtime, _ = resolve(source, TARGET, ResolveRequest(requirements=want("abi==2.0", "ext")))
    locker = BuildLocker(
        source=source,
        target=TARGET,
        inspector=FakeInspector({"ext": ["oldest-strict"]}),
        options=BuildOptions(abi=ABI, match="declared"),
        runtime=runtime,
    )
    outcome = locker.lock_all(
        [p.candidate.release for p in runtime.packages if p.candidate.name == "ext"]
    )
    assert not outcome.settled and outcome.builds == () and outcome.needs_runtime == ()
    assert outcome.rejected is not None
    assert (outcome.rejected.sdist.name, str(outcome.rejected.sdist.version)) == ("ext", "1.0")


def test_build_only_tool_gets_its_own_version_without_error():
    _, builds, _ = lock(INDEX, ["tool==3.0", "ext"], {"ext": ["tool<3"]}, sdists=["ext"])
    assert pins(builds["ext"])["tool"] == "2.0"
    assert builds["ext"].substitutions == ()
    assert "tool" not in builds["ext"].shared


def test_conflicting_build_only_requirements_get_separate_environments():
    index = {**INDEX, "one": {"1.0": []}, "two": {"1.0": []}}
    _, builds, _ = lock(
        index, ["one", "two"], {"one": ["tool<2"], "two": ["tool>=2"]}, sdists=["one", "two"]
    )
    assert pins(builds["one"]) == {"tool": "1.0"}
    assert pins(builds["two"]) == {"tool": "3.0"}


def test_agreeing_environments_share_pins():
    index = {**INDEX, "one": {"1.0": []}, "two": {"1.0": []}}
    _, builds, _ = lock(
        index, ["one", "two"], {"one": ["tool<3"], "two": ["tool"]}, sdists=["one", "two"]
    )
    # "one" is locked first and takes tool 2.0; "two" prefers what another env uses.
    assert pins(builds["one"])["tool"] == pins(builds["two"])["tool"] == "2.0"


def test_dynamic_requirements_from_the_hook_are_locked():
    _, builds, inspector = lock(
        INDEX, ["ext"], {"ext": ["tool<3"]}, sdists=["ext"], dynamic={"ext": ["abi"]}
    )
    assert pins(builds["ext"]) == {"abi": "2.0", "tool": "2.0"}
    assert [str(r) for r in builds["ext"].dynamic] == ["abi"]
    # The hook ran in the pinned static environment first, then confirmed the full one.
    assert inspector.hook_calls[0] == ("ext", {"tool": "2.0"})


def test_build_constraints_are_never_overridden():
    with pytest.raises(ResolutionError) as info:
        lock(
            INDEX,
            ["abi==2.0", "ext"],
            {"ext": ["oldest-strict"]},
            sdists=["ext"],
            constraints=want("abi==1.0", origin="-b build.txt"),
        )
    assert "abi" in str(info.value)


def test_recursion_two_levels_deep():
    index = {**INDEX, "mid": {"1.0": []}, "low": {"1.0": []}}
    _, builds, _ = lock(
        index,
        ["ext"],
        {"ext": ["mid"], "mid": ["low"], "low": ["tool"]},
        sdists=["ext", "mid", "low"],
    )
    assert set(builds) == {"ext", "mid", "low"}
    assert pins(builds["low"]) == {"tool": "3.0"}


def test_cycle_is_reported_with_its_chain():
    index = {**INDEX, "a": {"1.0": []}, "b": {"1.0": []}}
    with pytest.raises(BuildError) as info:
        lock(index, ["a"], {"a": ["b"], "b": ["a"]}, sdists=["a", "b"])
    assert "a 1.0 → b 1.0 → a 1.0" in str(info.value)


# -- ABI rules: the shipped numpy (ranges) and torch (same artifact) rules ---------------

RULED = {
    "numpy": {v: [] for v in ("1.23.2", "1.26.4", "2.0.2", "2.2.6", "2.3.0", "2.9.0")},
    "torch": {"2.3.0": [], "2.4.0": []},
    "oldest": {"2023.1": ["numpy==1.23.2"]},
    **{name: {"1.0": []} for name in ("pw", "pw2", "cf", "tx", "tany")},
}
SHIPPED = default_abi_rules()


def ruled(runtime_reqs, static, sdists, **options):
    options.setdefault("abi", SHIPPED)
    _, builds, _ = lock(RULED, runtime_reqs, static, sdists=sdists, **options)
    return builds


def records(build):
    return [(r.package, str(r.built), str(r.runtime), str(r.runs_with), r.rule) for r in build.abi]


def test_a_numpy_2_build_runs_on_the_runtime_numpy_1_without_substitution():
    build = ruled(["numpy==1.26.4", "pw"], {"pw": ["numpy>=2"]}, ["pw"])["pw"]
    # The newest version whose builds run with 1.26.4: 2.9.0 has no clause, so 2.3.0.
    assert pins(build) == {"numpy": "2.3.0"}
    assert build.substitutions == () and build.shared == frozenset()
    assert records(build) == [("numpy", "2.3.0", "1.26.4", "<3,>=1.23", "numpy")]


def test_declared_mode_accepts_a_compatible_build():
    build = ruled(["numpy==1.26.4", "pw"], {"pw": ["numpy>=2"]}, ["pw"], match="declared")["pw"]
    assert pins(build) == {"numpy": "2.3.0"} and build.substitutions == ()


def test_an_older_numpy_1_build_runs_on_a_later_runtime_1x():
    # oldest-supported-numpy's pin (1.23.2) next to a runtime 1.26.4 is compatible.
    build = ruled(["numpy==1.26.4", "pw"], {"pw": ["oldest"]}, ["pw"])["pw"]
    assert pins(build) == {"numpy": "1.23.2", "oldest": "2023.1"}
    assert build.substitutions == ()
    assert records(build) == [("numpy", "1.23.2", "1.26.4", "<2,>=1.23.2", "numpy")]


def test_the_seed_failure_stays_impossible():
    # Runtime numpy 2: a build that declares numpy<2 would not run; built against 2.2.6.
    build = ruled(["numpy==2.2.6", "cf"], {"cf": ["numpy<2"]}, ["cf"])["cf"]
    assert pins(build) == {"numpy": "2.2.6"}
    (sub,) = build.substitutions
    assert sub.used == Version("2.2.6") and sub.declared == "numpy<2"
    with pytest.raises(BuildMismatchError) as info:
        ruled(["numpy==2.2.6", "cf"], {"cf": ["numpy<2"]}, ["cf"], match="declared")
    assert "rule 'numpy'" in info.value.render()


def test_same_artifact_rule_shares_the_runtime_pin_or_substitutes():
    builds = ruled(
        ["torch==2.3.0", "tx", "tany"], {"tx": ["torch>=2.4"], "tany": ["torch"]}, ["tx", "tany"]
    )
    assert pins(builds["tany"]) == {"torch": "2.3.0"} and builds["tany"].shared == {"torch"}
    assert records(builds["tany"]) == [("torch", "2.3.0", "2.3.0", "===2.3.0", "torch")]
    assert pins(builds["tx"]) == {"torch": "2.3.0"}
    assert [s.package for s in builds["tx"].substitutions] == ["torch"]


def test_per_sdist_equality_override():
    rules = SHIPPED.overridden(equal_for=[("pw", "numpy")])
    builds = ruled(
        ["numpy==1.26.4", "pw", "pw2"],
        {"pw": ["numpy>=2"], "pw2": ["numpy>=2"]},
        ["pw", "pw2"],
        abi=rules,
    )
    assert pins(builds["pw"]) == {"numpy": "1.26.4"}
    assert [str(s.used) for s in builds["pw"].substitutions] == ["1.26.4"]
    assert records(builds["pw"]) == [("numpy", "1.26.4", "1.26.4", "==1.26.4", "equal")]
    assert pins(builds["pw2"]) == {"numpy": "2.3.0"} and builds["pw2"].substitutions == ()
