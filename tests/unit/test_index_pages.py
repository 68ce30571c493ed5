"""Parsing PEP 691 JSON and PEP 503 HTML project pages, and find-links locations."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from lock_build.cache import CacheEntryError
from lock_build.errors import IndexPageError
from lock_build.index.pages import (
    HTML_TYPE,
    JSON_TYPE,
    artifacts_from_json,
    artifacts_to_json,
    parse_find_links_dir,
    parse_html_page,
    parse_project_page,
    parse_project_page_ahead,
)

SHA = "a" * 64
META_SHA = "b" * 64
PAGE = "https://idx.example/simple/demo/"

HTML = f"""<!DOCTYPE html><html><head><title>demo</title></head><body>
<a href="../../files/demo-1.0-py3-none-any.whl#sha256={SHA}"
   data-requires-python="&gt;=3.8"
   data-core-metadata="sha256={META_SHA}">demo-1.0-py3-none-any.whl</a>
<a href="/files/demo-1.0.tar.gz#md5=123" data-yanked="broken &amp; bad">demo-1.0.tar.gz</a>
<a href="https://cdn.example/demo-0.9.tar.gz" data-yanked="" data-dist-info-metadata="true">x</a>
<a href="demo-0.8.exe">installer, not a distribution</a>
<a>no href</a>
</body></html>"""


def test_html_page() -> None:
    wheel, sdist, old = parse_project_page(HTML.encode(), "text/html; charset=utf-8", PAGE, "idx")
    assert wheel.url == "https://idx.example/files/demo-1.0-py3-none-any.whl"
    assert wheel.sha256 == SHA
    assert wheel.requires_python == SpecifierSet(">=3.8")
    assert wheel.has_metadata_file and wheel.metadata_sha256 == META_SHA
    assert wheel.yanked is None and wheel.index == "idx"
    assert sdist.url == "https://idx.example/files/demo-1.0.tar.gz"
    assert sdist.sha256 is None  # only md5 given
    assert sdist.yanked == "broken & bad"
    assert not sdist.has_metadata_file
    assert old.yanked == "" and old.is_yanked
    assert old.has_metadata_file and old.metadata_sha256 is None  # PEP 714 old spelling


def test_html_base_href_is_honoured() -> None:
    body = (
        b'<html><head><base href="https://mirror.example/pkgs/"></head>'
        b'<body><a href="demo-1.0.tar.gz">demo</a></body></html>'
    )
    (sdist,) = parse_html_page(body, PAGE)
    assert sdist.url == "https://mirror.example/pkgs/demo-1.0.tar.gz"


def test_json_page() -> None:
    data = {
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "files": [
            {
                "filename": "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                "url": "../../files/demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                "hashes": {"sha256": SHA.upper(), "md5": "x"},
                "requires-python": ">=3.9",
                "yanked": "security issue",
                "upload-time": "2024-05-01T12:00:00.123456Z",
                "size": 1234,
                "core-metadata": {"sha256": META_SHA},
            },
            {
                "filename": "demo-1.0.tar.gz",
                "url": "https://files.example/demo-1.0.tar.gz",
                "hashes": {},
                "yanked": True,
                "dist-info-metadata": True,
            },
            {"filename": "demo-1.0.win32.exe", "url": "x.exe", "hashes": {}},
        ],
    }
    wheel, sdist = parse_project_page(json.dumps(data).encode(), JSON_TYPE, PAGE, "idx")
    assert wheel.url == "https://idx.example/files/demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    assert wheel.sha256 == SHA
    assert wheel.yanked == "security issue"
    assert wheel.upload_time == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert wheel.size == 1234
    assert wheel.metadata_sha256 == META_SHA and wheel.has_metadata_file
    assert {str(t) for t in wheel.tags} == {"cp311-cp311-manylinux_2_17_x86_64"}
    assert sdist.yanked == "" and sdist.has_metadata_file and sdist.sha256 is None
    assert sdist.upload_time is None


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"{not json", JSON_TYPE, "malformed JSON"),
        (b'{"name": "demo"}', JSON_TYPE, "without a 'files' list"),
        (b'{"files": [42]}', JSON_TYPE, r"files\[0\]"),
        (b'{"files": [{"url": "a.whl"}, {"url": "b", "filename": 7}]}', JSON_TYPE, r"files\[1\]"),
        (b'{"meta": {"api-version": "2.0"}, "files": []}', JSON_TYPE, "version 2.0"),
        (b'{"files": [{"url": "a.whl", "upload-time": "yesterday"}]}', JSON_TYPE, "upload-time"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", "'image/png'"),
        (b"\x00\x01\x02binary", HTML_TYPE, "binary data"),
        (b"\xff\xfe<html>", "text/html", "not UTF-8"),
    ],
)
def test_garbage_is_an_index_page_error_naming_the_url(
    body: bytes, content_type: str, message: str
) -> None:
    url = "https://user:s3cret@idx.example/simple/demo/"
    with pytest.raises(IndexPageError, match=message) as info:
        parse_project_page(body, content_type, url)
    text = info.value.render()
    assert "idx.example/simple/demo/" in text
    assert "s3cret" not in text
    assert info.value.url == "https://user:****@idx.example/simple/demo/"


def test_find_links_directory(tmp_path: Path) -> None:
    for name in ("demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz", "README.txt", "other-2.0.zip"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    found = parse_find_links_dir(tmp_path, "links")
    assert [a.filename for a in found] == [
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.tar.gz",
        "other-2.0.zip",
    ]
    assert all(a.is_local and a.index == "links" for a in found)
    assert found[0].url == (tmp_path / "demo-1.0-py3-none-any.whl").as_uri()


def test_find_links_html_page_keeps_every_project() -> None:
    body = b'<a href="demo-1.0.tar.gz">d</a><a href="sub/other-2.0-py3-none-any.whl">o</a>'
    found = parse_html_page(body, "https://links.example/dists/index.html")
    assert {(a.name, a.url) for a in found} == {
        ("demo", "https://links.example/dists/demo-1.0.tar.gz"),
        ("other", "https://links.example/dists/sub/other-2.0-py3-none-any.whl"),
    }


def test_the_parsed_page_cache_value_round_trips_and_refuses_a_bad_specifier() -> None:
    found = parse_project_page(json.dumps(_JSON_FOR_CACHE).encode(), JSON_TYPE, PAGE, PAGE)
    value = artifacts_to_json(found)
    again = artifacts_from_json(json.loads(json.dumps(value)))
    assert again == found
    # Equal Requires-Python strings give one shared object (decided once by selection).
    assert again[0].requires_python is again[1].requires_python
    rows = value["rows"]  # type: ignore[index]
    rows[0][4] = ">=3.9,<<"
    with pytest.raises(CacheEntryError, match=r"value.rows\[0\]: requires-python"):
        artifacts_from_json(value)


@pytest.mark.parametrize(
    ("column", "bad", "message"),
    [
        (0, 7, r"rows\[0\] is not a row"),  # a filename that is not a string
        (7, True, r"rows\[0\] is not a row"),  # a size that is a boolean
        (8, "yes", r"rows\[0\] is not a row"),
        (2, "A" * 64, r"sha256 is not a sha256 hex digest"),
        (9, "ab", r"metadata-sha256 is not a sha256 hex digest"),
        (0, "demo.exe", r"filename 'demo.exe' is not a distribution"),
    ],
)
def test_a_damaged_row_is_a_cache_entry_error(column: int, bad: object, message: str) -> None:
    found = parse_project_page(json.dumps(_JSON_FOR_CACHE).encode(), JSON_TYPE, PAGE, PAGE)
    value = artifacts_to_json(found)
    value["rows"][0][column] = bad  # type: ignore[index]
    with pytest.raises(CacheEntryError, match=message):
        artifacts_from_json(value)
    with pytest.raises(CacheEntryError, match="fields"):
        artifacts_from_json({**value, "fields": ["filename"]})


_JSON_FOR_CACHE = {
    "meta": {"api-version": "1.0"},
    "files": [
        {
            "filename": f"demo-{v}-py3-none-any.whl",
            "url": f"https://files.example/demo-{v}-py3-none-any.whl",
            "hashes": {"sha256": SHA},
            "requires-python": ">=3.9",
            "upload-time": "2026-01-02T03:04:05.123456Z",
        }
        for v in ("1.0", "2.0")
    ],
}


def test_a_page_read_ahead_gives_every_file_of_its_newest_versions() -> None:
    names = [
        f"demo-{v}-{tags}.whl"
        for v in ("1.0", "2.0", "3.0rc1")
        for tags in ("cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-win_amd64")
    ] + ["demo-1.0.tar.gz", "demo-3.0rc1.tar.gz", "demo-9.0-cp311-cp311-win_amd64.whl"]
    data = {
        "files": [{"filename": n, "url": f"https://f.example/{n}", "hashes": {}} for n in names]
    }
    body = json.dumps(data).encode()

    def usable(filename: str) -> bool:
        return "win_amd64" not in filename

    kept, whole = parse_project_page_ahead(body, JSON_TYPE, PAGE, "idx", usable, newest=2)
    assert kept == parse_project_page(body, JSON_TYPE, PAGE, "idx", keep=usable)
    # 9.0 has no usable file, so the two newest kept versions are 3.0rc1 and 2.0.
    assert {str(v): [a.filename for a in files] for v, files in whole.items()} == {
        "3.0rc1": [
            "demo-3.0rc1-cp311-cp311-manylinux_2_17_x86_64.whl",
            "demo-3.0rc1-cp311-cp311-win_amd64.whl",
            "demo-3.0rc1.tar.gz",
        ],
        "2.0": [
            "demo-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            "demo-2.0-cp311-cp311-win_amd64.whl",
        ],
    }
    everything = parse_project_page(body, JSON_TYPE, PAGE, "idx")
    for version, files in whole.items():
        assert files == tuple(a for a in everything if a.version == version)
    html_kept, html_whole = parse_project_page_ahead(
        HTML.encode(), "text/html", PAGE, "", usable, 2
    )
    assert len(html_kept) == 3 and html_whole == {}  # HTML pages: the second pass stays
