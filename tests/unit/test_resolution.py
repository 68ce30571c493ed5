"""The resolver against a dict-backed source: scenario tables, no I/O."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build.errors import Pin, ResolutionError
from lock_build.resolution.model import ResolveRequest, Wanted
from lock_build.resolution.resolver import resolve
from lock_build.target import resolve_target
from support.fake_source import DictSource, want

TARGET = resolve_target()


def run(index, *reqs, requires_python=None, **request_fields):
    request = ResolveRequest(requirements=want(*reqs), **request_fields)
    resolution, _ = resolve(DictSource(index, requires_python=requires_python), TARGET, request)
    return {str(k): str(v) for k, v in resolution.versions().items()}


def failure(index, *reqs, **fields) -> str:
    with pytest.raises(ResolutionError) as info:
        run(index, *reqs, **fields)
    return str(info.value)


@pytest.mark.parametrize(
    ("index", "reqs", "expected"),
    [
        pytest.param({"a": {"1.0": [], "2.0": []}}, ["a"], {"a": "2.0"}, id="newest"),
        pytest.param({"a": {"1.0": [], "2.0": []}}, ["a<2"], {"a": "1.0"}, id="specifier"),
        pytest.param(
            {"a": {"2.0": ["b<2"], "1.0": []}, "b": {"1.0": [], "2.0": []}},
            ["a", "b>=2"],
            {"a": "1.0", "b": "2.0"},
            id="backtracks",
        ),
        pytest.param(
            {"a": {"1.0": ['b; extra == "x"']}, "b": {"1.0": []}},
            ["a[x]"],
            {"a": "1.0", "b": "1.0"},
            id="extras",
        ),
        pytest.param(
            {
                "a": {"1.0": ['b; python_version < "3"', 'c; python_version >= "3"']},
                "b": {"1.0": []},
                "c": {"1.0": []},
            },
            ["a"],
            {"a": "1.0", "c": "1.0"},
            id="markers",
        ),
        pytest.param({"a": {"1.0": [], "2.0!y": []}}, ["a"], {"a": "1.0"}, id="yanked-skipped"),
        pytest.param({"a": {"1.0": [], "2.0!y": []}}, ["a==2.0"], {"a": "2.0"}, id="yanked-pinned"),
        pytest.param({"a": {"1.0": [], "2.0b1": []}}, ["a"], {"a": "1.0"}, id="no-pre"),
        pytest.param({"a": {"1.0": [], "2.0b1": []}}, ["a>=2.0b1"], {"a": "2.0b1"}, id="pre-named"),
        pytest.param({"a": {"2.0b1": []}}, ["a"], {"a": "2.0b1"}, id="pre-only-choice"),
        pytest.param(
            {"x": {"1.0": ["a>=2.0b1"]}, "a": {"1.0": [], "2.0b1": []}},
            ["x", "a"],
            {"x": "1.0", "a": "2.0b1"},
            id="pre-named-by-a-dependency",
        ),
        pytest.param(
            {"a": {"1.0": [], "2.0b1": []}},
            ["a!=1.0"],
            {"a": "2.0b1"},
            id="pre-when-no-final-fits-the-specifier",
        ),
        pytest.param(
            {"a": {"2.1": [], "2.0!y": []}}, ["a==2.*"], {"a": "2.1"}, id="wildcard-skips-yanked"
        ),
        pytest.param(
            {"a": {"2.0!y": [], "1.0": []}},
            ["a==2.0", "a>=1"],
            {"a": "2.0"},
            id="yanked-pinned-among-other-specifiers",
        ),
    ],
)
def test_resolution_scenarios(index, reqs, expected):
    assert run(index, *reqs) == expected


def test_pre_flag_allows_prereleases():
    assert run({"a": {"1.0": [], "2.0b1": []}}, "a", pre=True) == {"a": "2.0b1"}


def test_preferred_pin_is_kept_when_it_still_fits():
    index = {"a": {"1.0": [], "2.0": [], "3.0": []}}
    preferred = ((canonicalize_name("a"), Version("2.0")),)
    assert run(index, "a", preferred=preferred) == {"a": "2.0"}
    assert run(index, "a>=3", preferred=preferred) == {"a": "3.0"}


def test_constraints_narrow_without_adding():
    index = {"a": {"1.0": [], "2.0": []}, "b": {"1.0": []}}
    assert run(index, "a", constraints=want("a<2", "b==1.0", origin="-c c.txt")) == {"a": "1.0"}


def test_override_replaces_declared_requirement_and_is_recorded():
    index = {"meta": {"1.0": ["abi==1.0"]}, "abi": {"1.0": [], "2.0": []}}
    request = ResolveRequest(
        requirements=want("meta"), overrides=want("abi==2.0", origin="runtime")
    )
    resolution, provider = resolve(DictSource(index), TARGET, request)
    assert resolution.versions()[canonicalize_name("abi")] == Version("2.0")
    assert [(who, str(req)) for who, req in provider.overridden["abi"]] == [
        ("meta 1.0", "abi==1.0")
    ]


def test_via_and_dependencies():
    index = {"a": {"1.0": ["b"]}, "b": {"1.0": []}}
    resolution, _ = resolve(DictSource(index), TARGET, ResolveRequest(requirements=want("a", "b")))
    b = resolution.get(canonicalize_name("b"))
    assert b is not None and b.via == ("-r requirements.in", "a")
    assert resolution.get(canonicalize_name("a")).dependencies == ("b",)


def test_conflict_is_explained_as_chains():
    index = {"a": {"2.0": ["b<2"]}, "b": {"1.0": [], "2.1": []}}
    with pytest.raises(ResolutionError) as info:
        run(index, "a==2.0", "b>=2.1")
    message = str(info.value)
    assert "you asked for a==2.0 (-r requirements.in) -> a 2.0 requires b<2" in message
    assert "you asked for b>=2.1 (-r requirements.in)" in message


# input -> a -> b -> the conflicting c<2, against c>=2 from another input line.
THREE_DEEP = {
    "a": {"1.0": ["b>=1"]},
    "b": {"1.0": ["c<2"]},
    "c": {"1.0": [], "2.0": []},
}


def _lines(*texts: str) -> tuple[Wanted, ...]:
    """Input requirements as a requirements file gives them: each with its line."""
    return tuple(
        Wanted(
            requirement=Requirement(t),
            origin="-r requirements.in",
            location=f"requirements.in:{number}",
        )
        for number, t in enumerate(texts, start=1)
    )


def _conflict(index, requirements) -> ResolutionError:
    request = ResolveRequest(requirements=requirements)
    with pytest.raises(ResolutionError) as info:
        resolve(DictSource(index), TARGET, request)
    return info.value


def test_a_conflict_three_parents_deep_is_walked_back_to_its_input_line():
    error = _conflict(THREE_DEEP, _lines("a", "c>=2"))
    [conflict] = error.conflicts
    assert conflict.package == "c"
    by_start = {str(chain.links[0].requirement): chain for chain in conflict.chains}
    deep = by_start["a"]
    assert (deep.origin, deep.location) == ("-r requirements.in", "requirements.in:1")
    assert [(link.parent, str(link.requirement)) for link in deep.links] == [
        (None, "a"),
        (Pin(name="a", version=Version("1.0")), "b>=1"),
        (Pin(name="b", version=Version("1.0")), "c<2"),
    ]
    assert str(deep.requirement) == "c<2"
    assert [link.parent for link in by_start["c>=2"].links] == [None]
    assert by_start["c>=2"].location == "requirements.in:2"
    assert error.message == (
        "Cannot resolve: you asked for c>=2 (requirements.in:2); you asked for a "
        "(requirements.in:1) -> a 1.0 requires b>=1 -> b 1.0 requires c<2."
    )


@pytest.mark.parametrize(
    ("index", "requirements", "context", "chain"),
    [
        pytest.param(
            THREE_DEEP | {"x": {"1.0": ["a[q]"]}, "a": {"1.0": ['b; extra == "q"']}},
            ("x", "c>=2"),
            "",
            "you asked for x (-r requirements.in) -> x 1.0 requires a[q] -> "
            "a 1.0 requires b -> b 1.0 requires c<2",
            id="through-an-extra-without-its-base-pin-link",
        ),
        pytest.param(
            THREE_DEEP,
            ("a", "c>=2"),
            "cftime 1.6.1 (build)",
            "cftime 1.6.1 needs a to build -> a 1.0 requires b>=1 -> b 1.0 requires c<2",
            id="in-a-build-environment",
        ),
    ],
)
def test_conflict_chains_render_every_link(index, requirements, context, chain):
    origin = context or "-r requirements.in"
    request = ResolveRequest(requirements=want(*requirements, origin=origin), context=context)
    with pytest.raises(ResolutionError) as info:
        resolve(DictSource(index), TARGET, request)
    assert chain in [c.render() for conflict in info.value.conflicts for c in conflict.chains]
    assert chain in info.value.message


def test_missing_package_lists_what_exists():
    with pytest.raises(ResolutionError) as info:
        run({"a": {"1.0": [], "1.1": []}}, "a>=5")
    assert "you asked for a>=5" in str(info.value)
    assert "1.1, 1.0" in str(info.value)


# a 1.0 is pinned first; c then needs b 2.0, which the input excludes, so backtracking
# removes a 1.0. a 2.0b1 would fit, but nothing opted into it: pip reports the conflict.
BACKTRACKS_PAST_THE_FINAL = {
    "a": {"1.0": ["c"], "2.0b1": []},
    "c": {"1.0": ["b==2.0"]},
    "b": {"1.0": [], "2.0": []},
}


def test_pre_release_is_not_taken_because_backtracking_removed_the_finals():
    message = failure(BACKTRACKS_PAST_THE_FINAL, "a", "b<2")
    # a 1.0 was dropped by backtracking, but it does require c: the chain still says so.
    assert (
        "you asked for a (-r requirements.in) -> a 1.0 requires c -> c 1.0 requires b==2.0"
        in message
    )


def test_pre_release_is_not_taken_because_a_build_mismatch_excluded_the_final():
    excluded = ((canonicalize_name("a"), Version("1.0")),)
    assert "you asked for a" in failure({"a": {"1.0": [], "2.0b1": []}}, "a", excluded=excluded)


def test_pre_flag_takes_the_pre_release_after_backtracking():
    assert run(BACKTRACKS_PAST_THE_FINAL, "a", "b<2", pre=True) == {"a": "2.0b1", "b": "1.0"}


@pytest.mark.parametrize(
    ("index", "reqs", "expected"),
    [
        pytest.param({"a": {"2.0": [], "1.0": []}}, ["a"], {"a": "1.0"}, id="root"),
        pytest.param(
            {"x": {"1.0": ["a"]}, "a": {"2.0": [], "1.0": []}},
            ["x"],
            {"x": "1.0", "a": "1.0"},
            id="dependency",
        ),
        pytest.param(
            {"x": {"2.0": ["a==2.0"], "1.0": ["a==1.0"]}, "a": {"2.0": [], "1.0": []}},
            ["x"],
            {"x": "1.0", "a": "1.0"},
            id="backtracks-the-parent",
        ),
    ],
)
def test_metadata_requires_python_skips_a_release(index, reqs, expected):
    assert run(index, *reqs, requires_python={"a==2.0": ">=3.30"}) == expected


def test_metadata_requires_python_rejections_are_explained_per_version():
    message = failure(
        {"a": {"2.0": [], "1.0": []}}, "a", requires_python={"a==2.0": ">=3.30", "a==1.0": "<3"}
    )
    python = TARGET.python_full_version
    assert "the versions that exist for this target are 2.0, 1.0" in message
    assert (
        f"why each was rejected: 2.0 (its metadata requires Python >=3.30, not {python}), "
        f"1.0 (its metadata requires Python <3, not {python})" in message
    )


def test_all_yanked_lists_the_yanked_versions_with_reasons():
    message = failure({"a": {"2.0!y=broken build": [], "1.0!y": []}}, "a")
    assert (
        "every version of a is yanked: 2.0 (reason: broken build), 1.0 (no reason given)" in message
    )


def test_yanked_versions_are_named_beside_the_live_ones():
    message = failure({"a": {"3.0!y=bad": [], "1.0": []}}, "a>=2")
    assert "the versions that exist for this target are 1.0" in message
    assert "yanked, so not considered without an exact pin: 3.0 (reason: bad)" in message


def test_the_overflow_counts_only_versions_not_shown():
    index = {"a": {f"{n}.0": [] for n in range(1, 11)} | {"11.0!y": []}}
    message = failure(index, "a>=50")
    # Many versions collapse into a range (issue 13); the yanked 11.0 is not counted in it.
    assert "the versions that exist for this target are 1.0 to 10.0 (10 versions)" in message


class _PlainSource:
    """A source that cannot say why a name is missing (as the speculating one cannot)."""

    def __init__(self, source: DictSource) -> None:
        self.releases = source.releases
        self.metadata = source.metadata
        self.direct_release = source.direct_release

    def why_unusable(self, name):
        return None

    def describe_locations(self):
        return ""


@pytest.mark.parametrize(
    ("explaining", "said"),
    [
        (True, "the dict has no project named b"),
        (False, "no index has a usable file of b for this target"),
    ],
)
def test_a_missing_name_is_explained_by_the_source_when_it_can(explaining, said):
    dict_source = DictSource({"a": {"1.0": ["b"]}})
    source = dict_source if explaining else _PlainSource(dict_source)
    with pytest.raises(ResolutionError) as info:
        resolve(source, TARGET, ResolveRequest(requirements=want("a")))
    assert said in info.value.message
