"""cli.collector: the cycle collector set once the work starts."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from lock_build.cli.collector import settle


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # CPython's defaults (an in-process compile test settles)
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_settle_freezes_what_exists_and_collects_young_objects_less_often() -> None:
    settle()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] > 700
    assert gc.isenabled()  # cycles made later are still freed


@pytest.mark.usefixtures("restored_collector")
def test_a_cycle_made_after_settling_is_still_collected() -> None:
    settle()

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2
