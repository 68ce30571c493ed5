"""The Reporter base class: typed progress events, worded once, shown as status lines."""

from __future__ import annotations

import pytest

from lock_build.reporting import (
    NULL_REPORTER,
    Building,
    Fetching,
    Installing,
    Reporter,
    Resolving,
)
from support.reporting import RecordingReporter


@pytest.mark.parametrize(
    ("event", "text"),
    [
        (
            Resolving(context="", pinned=3, candidate="numpy 2.2.6"),
            "Resolving: 3 pinned, now numpy 2.2.6",
        ),
        (
            Resolving(context="cftime 1.6.1 (build)", pinned=1, candidate="setuptools 80.0"),
            "Resolving for cftime 1.6.1 (build): 1 pinned, now setuptools 80.0",
        ),
        (Fetching(kind="page", subject="numpy"), "Fetching page numpy"),
        (
            Fetching(kind="metadata", subject="demo 1.0", how="range request"),
            "Reading metadata demo 1.0 (range request)",
        ),
        (Fetching(kind="file", subject="x-1.0.tar.gz"), "Fetching x-1.0.tar.gz"),
        (Fetching(kind="file", subject="x.whl", done=3, total=49), "Fetched 3/49: x.whl"),
        (
            Building(package="cftime", version="1.6.1", step="environment"),
            "Locking the build environment of cftime 1.6.1",
        ),
        (
            Building(package="cftime", version="1.6.1", step="requires"),
            "Running get_requires_for_build_wheel for cftime 1.6.1",
        ),
        (
            Building(package="cftime", version="1.6.1", step="metadata"),
            "Preparing metadata of cftime 1.6.1",
        ),
        (
            Building(package="cftime", version="1.6.1", step="wheel", done=1, total=2),
            "Building cftime 1.6.1 (1/2)",
        ),
        (Installing(step="install", total=49), "Installing 49 package(s)"),
        (Installing(step="unpack", total=49, done=7), "Installing: 7/49 unpacked"),
        (Installing(step="remove", total=2), "Removing 2 package(s)"),
    ],
)
def test_each_event_is_worded_once_and_shown_as_a_status_line(event, text) -> None:  # noqa: ANN001
    reporter = RecordingReporter()
    hook = {
        Resolving: reporter.resolving,
        Fetching: reporter.fetching,
        Building: reporter.building,
        Installing: reporter.installing,
    }[type(event)]
    hook(event)
    assert reporter.events == [event]
    assert reporter.statuses == [text]


def test_a_reporter_overrides_only_what_it_wants() -> None:
    class Counting(Reporter):
        def __init__(self) -> None:
            self.builds = 0

        def building(self, event: Building) -> None:
            self.builds += 1

    counting = Counting()
    counting.building(Building(package="a", version="1", step="wheel"))
    counting.fetching(Fetching(kind="page", subject="a"))  # the default: a status line, dropped
    assert counting.builds == 1
    NULL_REPORTER.installing(Installing(step="install", total=1))  # drops everything
