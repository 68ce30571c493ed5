"""The typed scan of PEP 691 pages (msgspec) against the whole-page reading it stands in for.

Whatever the scan reads must give the artifacts (or the error) the whole-page reading
gives; whatever it cannot read falls back to it."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lock_build.errors import IndexPageError
from lock_build.index import pages
from lock_build.index.pages import parse_json_page, parse_project_page_ahead

PAGE = "https://idx.example/simple/demo/"
SHA = "c" * 64


def _reference(body: bytes, keep: pages.FileFilter | None = None) -> tuple[object, ...]:
    return pages._json_artifacts(pages._whole_page_files(body, PAGE), PAGE, "", keep)


def _outcome(read: object) -> object:
    try:
        return read()  # type: ignore[operator]
    except IndexPageError as exc:
        return ("error", exc.message)


def _wheel(version: str, platform: str = "any") -> dict[str, object]:
    return {
        "filename": f"demo-{version}-py3-none-{platform}.whl",
        "url": f"../../files/demo-{version}-py3-none-{platform}.whl",
        "hashes": {"sha256": SHA},
        "requires-python": ">=3.8",
        "yanked": False,
        "upload-time": "2024-05-01T10:00:00.123456Z",
        "size": 1234,
        "core-metadata": {"sha256": SHA},
    }


@pytest.mark.parametrize(
    "body",
    [
        # Forms the scan does not read, each left to the whole-page reading:
        b'\xef\xbb\xbf{"files": []}',  # a byte-order mark
        b'{"files": [{"url": "demo-1.0.tar.gz", "size": NaN}]}',  # NaN is not JSON
        b'{"files": [{"url": "demo-1.0.tar.gz", "filename": 7}]}',  # a non-str filename
        b'{"files": [{"url": "demo-1.0.tar.gz", "x": "\\ud800"}]}',  # a lone surrogate
        # and forms it reads, as json does:
        b'{"files": [{"url": "demo-1.0.tar.gz", "url": "demo-2.0.tar.gz"}]}',  # last key wins
        b'{"meta": [1], "files": [{"url": "demo-1.0.tar.gz"}]}',
        b'{"files": [{"url": "demo-1.0.tar.gz", "size": 1e400}]}',  # beyond msgspec's floats
        b'{"files": [{"url": "demo-1.0.tar.gz", "filename": "", "size": 12345678901234567890}]}',
    ],
)
def test_unusual_pages_give_what_the_whole_page_reading_gives(body: bytes) -> None:
    assert _outcome(lambda: parse_json_page(body, PAGE)) == _outcome(lambda: _reference(body))


def test_files_the_filter_skips_are_never_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    page = {"files": [_wheel("1.0", "win_amd64"), _wheel("1.0"), _wheel("0.9", "win_amd64")]}
    decoded: list[str] = []
    real = pages._entry_dict

    def spy(raw: object) -> dict[str, object]:
        entry = real(raw)  # type: ignore[arg-type]
        decoded.append(str(entry["filename"]))
        return entry

    monkeypatch.setattr(pages, "_entry_dict", spy)
    kept = parse_json_page(json.dumps(page).encode(), PAGE, keep=lambda name: "any" in name)
    assert [a.filename for a in kept] == ["demo-1.0-py3-none-any.whl"]
    assert decoded == ["demo-1.0-py3-none-any.whl"]


def test_a_page_read_ahead_decodes_each_entry_once(monkeypatch: pytest.MonkeyPatch) -> None:
    page = {"files": [_wheel("1.0"), _wheel("1.0", "win_amd64"), _wheel("0.9")]}
    calls: list[int] = []
    real = pages._entry_dict
    monkeypatch.setattr(pages, "_entry_dict", lambda raw: calls.append(1) or real(raw))
    kept, whole = parse_project_page_ahead(
        json.dumps(page).encode(), pages.JSON_TYPE, PAGE, "", lambda n: "any" in n, newest=1
    )
    assert len(kept) == 2 and [len(files) for files in whole.values()] == [2]
    assert len(calls) == 3  # the kept two, then the other platform's wheel of 1.0


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.floats(allow_nan=False)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
_names = st.sampled_from(
    ["demo-1.0-py3-none-any.whl", "demo-2.0.tar.gz", "demo-1.0-cp311-cp311-win32.whl", "x.exe"]
)
_entries = st.fixed_dictionaries(
    {"url": st.one_of(_names, st.integers())},
    optional={
        "filename": st.one_of(_names, st.just(""), st.none(), st.integers()),
        "hashes": st.one_of(st.just({"sha256": SHA}), _values),
        "requires-python": st.one_of(st.just(">=3.8"), _values),
        "yanked": _values,
        "upload-time": st.one_of(st.just("2024-01-01T00:00:00Z"), _values),
        "size": _values,
        "core-metadata": st.one_of(st.just({"sha256": SHA}), _values),
        "extra": _values,
    },
)
_pages = st.one_of(
    st.fixed_dictionaries(
        {"files": st.lists(st.one_of(_entries, _values), max_size=4)},
        optional={"meta": st.one_of(st.just({"api-version": "1.1"}), _values), "name": _values},
    ),
    _values,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page=_pages, keep_any=st.booleans())
def test_any_page_gives_what_the_whole_page_reading_gives(page: object, keep_any: bool) -> None:
    body = json.dumps(page).encode()
    keep = (lambda name: "any" in name) if keep_any else None
    # Both are one answer or one IndexPageError, never another exception.
    expected = _outcome(lambda: _reference(body, keep))
    assert _outcome(lambda: parse_json_page(body, PAGE, keep=keep)) == expected


def _reference_ahead(
    body: bytes, keep: pages.FileFilter, newest: int
) -> tuple[object, dict[object, object]]:
    """parse_project_page_ahead as two whole-page passes: the kept files, then every
    file of the newest kept versions (sdists and skipped wheels included), page order."""
    files = pages._whole_page_files(body, PAGE)
    kept = pages._json_artifacts(files, PAGE, "", keep)
    versions = frozenset(sorted({a.version for a in kept}, reverse=True)[:newest])
    every = pages._json_artifacts(files, PAGE, "", pages.version_filter(versions))
    whole = {v: tuple(a for a in every if a.version == v) for v in versions}
    return kept, whole


_files = st.lists(
    st.tuples(
        st.sampled_from(["0.9", "1.0", "1.0.0", "2.0rc1", "2.0", "bad!"]),
        st.sampled_from(["any", "win_amd64", "manylinux_2_17_x86_64", "sdist", "egg"]),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(files=_files, newest=st.integers(min_value=1, max_value=3))
def test_a_page_read_ahead_gives_what_two_whole_readings_give(
    files: list[tuple[str, str]], newest: int
) -> None:
    entries = []
    for version, platform in files:
        if platform == "sdist":
            entries.append({"filename": f"demo-{version}.tar.gz", "url": f"demo-{version}.tar.gz"})
        elif platform == "egg":
            entries.append({"filename": f"demo-{version}.egg", "url": f"demo-{version}.egg"})
        else:
            entries.append(_wheel(version, platform))
    body = json.dumps({"files": entries}).encode()

    def keep(name: str) -> bool:
        return "win_amd64" not in name

    kept, whole = parse_project_page_ahead(body, pages.JSON_TYPE, PAGE, "", keep, newest=newest)
    assert (kept, whole) == _reference_ahead(body, keep, newest)
