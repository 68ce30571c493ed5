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
from lock_build.index.prefetch import (
    WALK_AHEAD,
    DownwardWalks,
    Prefetcher,
    best_candidate,
    prefetch_enabled,
)
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


@pytest.mark.parametrize(
    ("asked", "started"),
    [
        (["5.0"], [[]]),  # one version: no walk yet
        (["5.0", "6.0"], [[], []]),  # upwards is no walk
        (["5.0", "4.0"], [[], ["3.0", "2.0"]]),  # downwards: the next two below
        (["5.0", "4.0", "3.0"], [[], ["3.0", "2.0"], ["2.0", "1.0"]]),
        (["3.0", "2.0"], [[], ["1.0"]]),  # 1.5b1 is a pre-release, 1.2 yanked
        (["6.0b1", "5.0"], [[], ["4.0", "3.0"]]),
        (["6.0b1", "5.5b1"], [[], ["5.0", "4.0"]]),  # after a pre-release, pre-releases too
    ],
)
def test_a_downward_walk_is_noticed_and_the_next_releases_named(
    asked: list[str], started: list[list[str]]
) -> None:
    releases = _releases(
        "6.0b1", "6.0", "5.5b1", "5.0", "4.0", "3.0", "2.0", "1.5b1", "1.2", "1.0", yanked=("1.2",)
    )
    releases = tuple(sorted(releases, key=lambda r: r.version, reverse=True))
    by_version = {str(r.version): r for r in releases}
    walks = DownwardWalks(ahead=2)
    answers = [walks.next_after(by_version[v], releases) for v in asked]
    assert [[str(r.version) for r in a] for a in answers] == started


def test_a_downward_walk_reads_the_next_metadata_ahead(
    local_index: LocalIndex, tmp_path: Path
) -> None:
    for n in range(1, WALK_AHEAD + 4):
        local_index.add_wheel("lib", f"{n}.0")
    finder = _finder(local_index, tmp_path)
    started: list[str] = []
    finder.prefetch_metadata = lambda releases: started.extend(  # type: ignore[method-assign]
        str(r.version) for r in releases
    )
    prefetcher = Prefetcher(finder, TARGET, workers=2)
    newest_first = finder.releases("lib")
    try:
        prefetcher.asked_metadata(newest_first[0])
        assert started == []  # the first version asked: no walk
        prefetcher.asked_metadata(newest_first[1])  # the resolver left the newest
    finally:
        prefetcher.close()
        finder.close()
    assert started == [str(r.version) for r in newest_first[2 : 2 + WALK_AHEAD]]
