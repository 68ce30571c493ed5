"""The prefetcher: its switch, which candidate it warms, and how far it walks."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build.index.finder import PackageFinder
from lock_build.index.http import HttpClient
from lock_build.index.prefetch import Prefetcher, best_candidate, prefetch_enabled
from lock_build.models import Release
from lock_build.settings import IndexSettings
from lock_build.target import Target
from support.index import LocalIndex

PLAT = "manylinux_2_17_x86_64"
TARGET = Target(
    python_version="3.11",
    python_full_version="3.11.7",
    implementation="cpython",
    platform=PLAT,
    markers=(("python_version", "3.11"), ("sys_platform", "linux")),
    tags=(Tag("py3", "none", "any"),),
)


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({}, True),
        ({"LOCK_BUILD_NO_PREFETCH": ""}, True),
        ({"LOCK_BUILD_NO_PREFETCH": "0"}, True),
        ({"LOCK_BUILD_NO_PREFETCH": "1"}, False),
        ({"LOCK_BUILD_NO_PREFETCH": "yes"}, False),
    ],
)
def test_switch(environ: dict[str, str], enabled: bool) -> None:
    assert prefetch_enabled(environ) is enabled


def _releases(*versions: str, yanked: tuple[str, ...] = ()) -> tuple[Release, ...]:
    return tuple(
        Release(name=canonicalize_name("demo"), version=Version(v), yanked=v in yanked)
        for v in versions
    )


@pytest.mark.parametrize(
    ("versions", "yanked", "specifier", "best"),
    [
        (("3.0", "2.0", "1.0"), (), "", "3.0"),  # newest first, as the finder gives them
        (("3.0", "2.0", "1.0"), ("3.0",), "", "2.0"),  # yanked: not what the resolver takes
        (("3.0", "2.0", "1.0"), (), "<3", "2.0"),  # inside the requirement's specifier
        (("4.0b1", "3.0"), (), "", "3.0"),  # a final release beats a newer pre-release
        (("4.0b1",), (), "", "4.0b1"),  # unless nothing else matches
        (("1.0",), (), ">=2", None),
    ],
)
def test_best_candidate(
    versions: tuple[str, ...], yanked: tuple[str, ...], specifier: str, best: str | None
) -> None:
    chosen = best_candidate(_releases(*versions, yanked=yanked), SpecifierSet(specifier))
    assert (None if chosen is None else str(chosen.version)) == best


def _finder(local_index: LocalIndex, tmp_path: Path) -> PackageFinder:
    settings = IndexSettings(index_url=local_index.url, cache_dir=tmp_path / "cache", retries=1)
    client = HttpClient(settings, settings.cache_dir, backoff=0.001)
    return PackageFinder(settings, TARGET, client)


def _pages(local_index: LocalIndex) -> set[str]:
    prefix = "/" + local_index.name + "/simple/"
    return {r.path[len(prefix) :].strip("/") for r in local_index.requests if prefix in r.path}


def test_walks_best_candidates_breadth_first_and_only_what_applies(
    local_index: LocalIndex, tmp_path: Path
) -> None:
    local_index.add_wheel(
        "app",
        "1.0",
        requires=["lib>=1", "winonly; sys_platform == 'win32'"],
        extras={"fast": ["speedup"]},
    )
    local_index.add_wheel("lib", "2.0", requires=["leaf"])
    local_index.add_wheel("lib", "1.0", requires=["oldleaf"])
    local_index.add_wheel("leaf", "1.0")
    local_index.add_wheel("speedup", "1.0")
    finder = _finder(local_index, tmp_path)
    prefetcher = Prefetcher(finder, TARGET, workers=4)
    try:
        prefetcher.want([Requirement("app")])
        prefetcher.wait()
    finally:
        prefetcher.close()
        finder.close()

    # lib 2.0 is the best candidate, so leaf (not oldleaf) comes next; the extra and the
    # Windows-only dependency do not apply without being asked for.
    assert _pages(local_index) == {"app", "lib", "leaf"}
    assert local_index.requests_for("lib-2.0-py3-none-any.whl.metadata")
    assert not local_index.requests_for("lib-1.0-py3-none-any.whl.metadata")


def test_extras_asked_for_are_walked(local_index: LocalIndex, tmp_path: Path) -> None:
    local_index.add_wheel("app", "1.0", extras={"fast": ["speedup"]})
    local_index.add_wheel("speedup", "1.0")
    finder = _finder(local_index, tmp_path)
    prefetcher = Prefetcher(finder, TARGET, workers=2)
    try:
        prefetcher.want([Requirement("app[fast]")])
        prefetcher.wait()
    finally:
        prefetcher.close()
        finder.close()
    assert _pages(local_index) == {"app", "speedup"}
