"""sync.inspect's search of sys.path finds what importlib.metadata's path finder finds."""

from __future__ import annotations

import itertools
import tempfile
import zipfile
from importlib.metadata import DistributionFinder, MetadataPathFinder
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lock_build.sync.inspect import MetadataDir, metadata_dirs

_UNIQUE = itertools.count()


def _finders_answer(sys_path: list[str]) -> list[str]:
    context = DistributionFinder.Context(path=sys_path)
    return [str(dist._path) for dist in MetadataPathFinder.find_distributions(context)]  # type: ignore[attr-defined]


def _ours(sys_path: list[str]) -> list[str]:
    found = metadata_dirs(sys_path)
    assert found is not None
    return [str(d.path) for d in found]


# Names that normalize alike in several spellings, and entries that are no metadata.
_CHILDREN = st.sampled_from(
    [
        "demo-1.0.dist-info",
        "Demo-2.0.dist-info",
        "demo_pkg-1.0.dist-info",
        "Demo.Pkg-1.1.DIST-INFO",
        "demo--pkg-3.dist-info",
        "other-1.0.egg-info",
        "OTHER.egg-info",
        "zeta-0.1.dist-info",
        "demo",
        "demo.py",
        "demo-1.0.data",
        "README.dist-info.txt",
    ]
)
_ENTRY = st.one_of(
    st.none(),  # a path entry that does not exist
    st.lists(st.tuples(_CHILDREN, st.booleans()), max_size=6, unique_by=lambda c: c[0]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_ENTRY, min_size=1, max_size=4))
def test_the_search_is_the_path_finders(entries: list[list[tuple[str, bool]] | None]) -> None:
    # A fresh directory per example: the path finder caches what it listed per path.
    base = Path(tempfile.mkdtemp(prefix=f"search-{next(_UNIQUE)}-"))
    sys_path = []
    for i, children in enumerate(entries):
        root = base / f"entry{i}"
        sys_path.append(str(root))
        if children is None:
            continue
        root.mkdir()
        for name, is_dir in children:
            if is_dir:
                (root / name).mkdir()
            else:
                (root / name).write_text("Name: x\n")
    assert _ours(sys_path) == _finders_answer(sys_path)


def test_the_current_directory_entry_is_searched_like_the_path_finder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "cwd"
    (here / "demo-1.0.dist-info").mkdir(parents=True)
    monkeypatch.chdir(here)
    assert _ours([""]) == _finders_answer([""]) == ["demo-1.0.dist-info"]


@pytest.mark.parametrize("kind", ["zip", "egg"])
def test_a_zip_or_an_egg_on_the_path_is_left_to_the_path_finder(tmp_path: Path, kind: str) -> None:
    if kind == "zip":
        entry = tmp_path / "bundle.zip"
        with zipfile.ZipFile(entry, "w") as archive:
            archive.writestr("demo-1.0.dist-info/METADATA", "Name: demo\nVersion: 1.0\n")
    else:
        entry = tmp_path / "demo-1.0-py3.11.egg"
        (entry / "EGG-INFO").mkdir(parents=True)
    assert metadata_dirs([str(tmp_path), str(entry)]) is None


def test_a_metadata_dir_reads_as_path_distribution_reads(tmp_path: Path) -> None:
    from importlib.metadata import PathDistribution

    info = tmp_path / "demo-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Name: demo\nVersion: 1.0\n")
    (info / "bad").write_bytes(b"\xff")
    egg = tmp_path / "legacy.egg-info"
    egg.write_text("Name: legacy\n")  # an egg-info that is a file, as distutils wrote them
    for path, name in [(info, "METADATA"), (info, "missing"), (info, ""), (egg, ""), (egg, "x")]:
        assert MetadataDir(path).read_text(name) == PathDistribution(path).read_text(name)
    with pytest.raises(UnicodeDecodeError):  # not taken as "absent": the caller falls back
        MetadataDir(info).read_text("bad")
    eggdir = tmp_path / "old-0.1.egg-info"
    eggdir.mkdir()
    (eggdir / "PKG-INFO").write_text("Name: old\nVersion: 0.1\n")
    (eggdir / "requires.txt").write_text("dep\n\n[extra]\nmore\n")
    assert MetadataDir(eggdir).requires == PathDistribution(eggdir).requires
