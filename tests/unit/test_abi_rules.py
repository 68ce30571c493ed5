"""ABI rules (lock_build.abi): the shipped table, user rules, overrides, the sync check."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build.abi import (
    AbiMismatchError,
    AbiRecord,
    AbiRuleError,
    builtin_rules,
    check_runtime,
    parse_rules,
)

RULES = builtin_rules()
NUMPY = canonicalize_name("numpy")
TORCH = canonicalize_name("torch")


# (package, built against, runtime, runs?) — numpy per its guide and conda-forge's run-export.
SHIPPED = [
    ("numpy", "2.2.6", "1.26.4", True),  # a 2.x build runs on 1.x back to its target version
    ("numpy", "2.0.2", "1.19.5", True),
    ("numpy", "2.2.6", "1.20.3", False),  # 2.1/2.2 target 1.21
    ("numpy", "2.3.0", "1.22.4", False),  # 2.3 targets 1.23
    ("numpy", "2.3.0", "2.2.6", True),  # ... and any later version of the range
    ("numpy", "1.23.2", "1.26.4", True),  # oldest-supported-numpy on Python 3.11
    ("numpy", "1.23.2", "2.2.6", False),  # the seed's failure: a 1.x build on numpy 2
    ("numpy", "1.26.4", "1.25.2", False),  # 1.x builds never run on older 1.x
    ("numpy", "2.9.0", "1.26.4", False),  # no clause: only itself
    ("numpy", "2.9.0", "2.9.0", True),
    ("torch", "2.3.0", "2.3.0", True),
    ("torch", "2.3.0", "2.3.0+cu121", False),  # `==2.3.0` would match; the artifact differs
    ("torch", "2.3.0", "2.3.1", False),
    ("pyarrow", "16.0.0", "16.0.0", True),
    ("pyarrow", "16.0.0", "16.1.0", False),
]


@pytest.mark.parametrize(("package", "built", "runtime", "runs"), SHIPPED)
def test_shipped_rules(package: str, built: str, runtime: str, runs: bool) -> None:
    rule = RULES.rules[canonicalize_name(package)]
    assert rule.accepts(Version(built), Version(runtime)) is runs


def test_every_shipped_range_rule_cites_its_upstream_statement() -> None:
    assert RULES.rules[NUMPY].source == "https://numpy.org/doc/stable/dev/depending_on_numpy.html"
    assert RULES.rules[TORCH].kind == "same-artifact" and RULES.rules[TORCH].source
    assert all(r.source for r in RULES.rules.values() if r.kind != "equal")
    assert RULES.packages >= {NUMPY, TORCH, canonicalize_name("pyarrow")}


def test_runs_with_fills_in_the_build_version() -> None:
    numpy = RULES.rules[NUMPY]
    assert numpy.runs_with(Version("1.23.2")) == SpecifierSet(">=1.23.2,<2")
    assert numpy.runs_with(Version("2.2.6")) == SpecifierSet(">=1.21,<3")
    assert RULES.rules[TORCH].runs_with(Version("2.3.0+cu121")) == SpecifierSet("===2.3.0+cu121")


def test_compatible_builds_newest_first() -> None:
    available = [Version(v) for v in ("1.20.3", "1.26.4", "2.0.2", "2.2.6", "2.3.1", "2.9.0")]
    found = RULES.rules[NUMPY].compatible(Version("1.26.4"), available)
    assert [str(v) for v in found] == ["2.3.1", "2.2.6", "2.0.2", "1.26.4", "1.20.3"]
    found = RULES.rules[NUMPY].compatible(Version("2.2.6"), available)
    assert [str(v) for v in found] == ["2.3.1", "2.2.6", "2.0.2"]


def test_user_rules_and_options_override_the_shipped_ones() -> None:
    config = parse_rules(
        {
            "mylib": {"source": "https://x", "clauses": [{"build": ">=3", "runs-with": ">=2"}]},
            "numpy": "equal",
            "pyarrow": False,
        },
        where="pyproject.toml [tool.lock-build.abi]",
    )
    rules = RULES.overridden(
        config=config,
        match_runtime=["Extra_Lib"],
        no_match_runtime=["cupy"],
        equal_for=[("PyWorld", "torch")],
    )
    mylib = rules.rules[canonicalize_name("mylib")]
    assert mylib.kind == "ranges" and mylib.accepts(Version("3.1"), Version("2.0"))
    assert rules.rules[NUMPY].kind == "equal"
    assert canonicalize_name("pyarrow") not in rules.packages
    assert canonicalize_name("cupy") not in rules.packages
    assert rules.rules[canonicalize_name("extra-lib")].name == "equal"
    # --abi-equal: one sdist's build must match torch exactly; the others keep the rule.
    pyworld, other = canonicalize_name("pyworld"), canonicalize_name("other")
    assert rules.rule_for(TORCH, pyworld).name == "equal"  # type: ignore[union-attr]
    assert rules.rule_for(TORCH, other).kind == "same-artifact"  # type: ignore[union-attr]
    assert rules.rule_for(canonicalize_name("requests"), other) is None
    # ... and it makes a package that has no rule an equal one for that sdist.
    forced = rules.overridden(equal_for=[("pyworld", "cython")])
    assert forced.rule_for(canonicalize_name("cython"), pyworld).kind == "equal"  # type: ignore[union-attr]
    assert forced.rule_for(canonicalize_name("cython"), other) is None


BAD = [
    ({"x": 3}, "x", "not a rule table"),
    ({"x": {"kind": "loose"}}, "x.kind", "not one of"),
    ({"x": {"kind": "ranges"}}, "x.clauses", "non-empty"),
    ({"x": {"kind": "equal", "clauses": [{"build": "<2", "runs-with": "<2"}]}}, "x.clauses", ""),
    ({"x": {"clauses": [{"build": "<2"}]}}, "x.clauses[0]", "exactly"),
    ({"x": {"clauses": [{"build": "two", "runs-with": "<2"}]}}, "x.clauses[0].build", "two"),
    (
        {"x": {"clauses": [{"build": "<2", "runs-with": ">>{build}"}]}},
        "x.clauses[0].runs-with",
        ">>",
    ),
    ({"x": {"clauses": [{"build": "<2", "runs-with": "<2"}], "typo": 1}}, "x", "typo"),
    ({"x": {"kind": "equal", "source": 3}}, "x.source", "URL"),
]


@pytest.mark.parametrize(("data", "where", "says"), BAD)
def test_a_bad_rule_is_one_paragraph_naming_where(data: dict, where: str, says: str) -> None:
    with pytest.raises(AbiRuleError) as info:
        parse_rules(data, where="cfg")
    text = info.value.render()
    assert f"cfg: {where}" in text and says in text
    assert "\n" not in text


def record(built: str, runtime: str, runs_with: str) -> AbiRecord:
    return AbiRecord(
        package=NUMPY,
        built=Version(built),
        runtime=Version(runtime),
        runs_with=SpecifierSet(runs_with),
        rule="numpy",
    )


def test_sync_check_accepts_a_runtime_inside_the_recorded_range() -> None:
    records = [record("2.2.6", "1.26.4", ">=1.21,<3")]
    check_runtime("pyworld==0.3.5", records, {NUMPY: Version("1.26.4")}, {"numpy": "2.2.6"})
    check_runtime("pyworld==0.3.5", records, {NUMPY: Version("2.0.2")})
    check_runtime("pyworld==0.3.5", records, {})  # no numpy at runtime: nothing to mismatch


def test_sync_check_refuses_a_runtime_outside_the_recorded_range() -> None:
    records = [record("1.23.2", "1.26.4", ">=1.23.2,<2")]
    with pytest.raises(AbiMismatchError) as info:
        check_runtime("cftime==1.6.1", records, {NUMPY: Version("2.2.6")}, {"numpy": "1.23.2"})
    text = info.value.render()
    assert "cftime==1.6.1 was built against numpy 1.23.2" in text
    assert "numpy 2.2.6" in text and "numpy<2,>=1.23.2" in text
    assert info.value.exit_code == 2


def test_sync_check_refuses_a_stamp_that_disagrees_with_the_record() -> None:
    records = [record("2.2.6", "1.26.4", ">=1.21,<3")]
    with pytest.raises(AbiMismatchError) as info:
        check_runtime("pyworld==0.3.5", records, {NUMPY: Version("1.26.4")}, {"numpy": "2.3.0"})
    assert "built against numpy 2.3.0" in info.value.render()
    assert "records no ABI range" in info.value.render()
