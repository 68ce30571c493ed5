"""changes.py: the summary compile prints, from two locks."""

from __future__ import annotations

from dataclasses import replace

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version
from test_graph import SAMPLE, pkg

from lock_build.changes import summarize
from lock_build.lockfile import Lock


def _with(lock: Lock, **changes: object) -> Lock:
    return replace(lock, **changes)  # type: ignore[arg-type]


UPGRADED = _with(
    SAMPLE,
    packages=tuple(
        replace(p, version=Version("2.32.0")) if p.name == "requests" else p
        for p in SAMPLE.packages
        if p.name != "idna"
    )
    + (pkg("certifi", "2024.2.2"),),
    builds=(replace(SAMPLE.builds[0], pins=("numpy==1.26.4", "setuptools==70.0.0")),),
)

SCENARIOS = [
    # (previous, new, recorded options before / after, expected lines)
    (SAMPLE, SAMPLE, ({}, {}), []),
    (
        SAMPLE,
        UPGRADED,
        ({}, {}),
        [
            "Added certifi 2024.2.2",
            "Updated requests 2.31.0 -> 2.32.0",
            "Removed idna 3.6",
            "Build cftime: oldest-supported-numpy 2022.5.28 -> (none)",
            "Build cftime: setuptools 69.0.0 -> 70.0.0",
            "Build cftime: wheel 0.42.0 -> (none)",
        ],
    ),
    (
        SAMPLE,
        SAMPLE,
        ({"all-extras": True, "groups": ["dev"]}, {}),
        ["The lock was made with --all-extras --group dev; this run has neither."],
    ),
    (
        SAMPLE,
        SAMPLE,
        ({"extras": ["fast"]}, {}),
        ["The lock was made with --extra fast; this run does not."],
    ),
    (
        SAMPLE,
        SAMPLE,
        ({"index-urls": ["https://a/simple"]}, {"index-urls": ["https://b/simple"]}),
        [
            "The lock was made with --index-url https://a/simple; this run has --index-url "
            "https://b/simple."
        ],
    ),
    (
        SAMPLE,
        SAMPLE,
        ({}, {"groups": ["dev"]}),
        ["This run adds --group dev to the options the lock was made with."],
    ),
]


@pytest.mark.parametrize(("previous", "new", "options", "expected"), SCENARIOS)
def test_summary(
    previous: Lock,
    new: Lock,
    options: tuple[dict[str, object], dict[str, object]],
    expected: list[str],
) -> None:
    before, after = _with(previous, options=options[0]), _with(new, options=options[1])
    assert list(summarize(before, after).lines()) == expected


def test_drift_comes_before_removals_and_pins_from_another_file() -> None:
    before = _with(SAMPLE, options={"all-extras": True})
    summary = summarize(
        before, UPGRADED, previous_pins=((canonicalize_name("requests"), Version("2.0")),)
    )
    lines = list(summary.lines())
    assert lines[0].startswith("The lock was made with --all-extras")
    assert "Updated requests 2.0 -> 2.32.0" in lines
    assert "Added cftime 1.6.3" in lines  # not in the other file's pins
