"""lockfile.reading's URL checks: the short way for a plain https URL answers as the long way."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lock_build.lockfile import reading
from lock_build.lockfile.reading import last_segment, url_problem

PYPI = "https://files.pythonhosted.org/packages/4b/46/64c69cdd/amqp-5.4.2-py3-none-any.whl"


def _long_way(url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str | None, str | None]:
    """Both answers with the short way switched off (a URL urlsplit refuses: no segment)."""
    with monkeypatch.context() as patch:
        patch.setattr(reading, "_PLAIN_URL", reading.re.compile("(?!)"))  # matches nothing
        problem = url_problem(url)
        return problem, None if problem == "is not a valid URL" else last_segment(url)


@pytest.mark.parametrize(
    ("url", "problem", "segment"),
    [
        (PYPI, None, "amqp-5.4.2-py3-none-any.whl"),
        ("http://127.0.0.1:8080/simple/demo/demo%2B1-1.0.tar.gz", None, "demo+1-1.0.tar.gz"),
        ("https://host/a/b@c/d.whl", None, "d.whl"),  # an @ in the path is no user
        ("https://user:secret@host/d.whl", "must not contain credentials", "d.whl"),
        ("https://host/d.whl?x=1#frag", None, "d.whl"),
        ("https://[::1/d.whl", "is not a valid URL", None),
        (
            "ftp://host/d.whl",
            "has the scheme 'ftp'; only https, http and file are allowed",
            "d.whl",
        ),
        ("HTTPS://host/d.whl", None, "d.whl"),
        ("https://host", None, ""),
        ("wheels/d.whl", None, "d.whl"),
        ("../d.whl", "must not leave the lock's directory (..)", "d.whl"),
        ("https://host/a b.whl", "must not contain whitespace", "a b.whl"),
    ],
)
def test_url_checks(
    url: str, problem: str | None, segment: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert url_problem(url) == problem
    if segment is not None:
        assert last_segment(url) == segment
    assert _long_way(url, monkeypatch) == (problem, segment)


_HOST = st.from_regex(r"[A-Za-z0-9.-]{1,12}(:[0-9]{1,5})?", fullmatch=True)
_PATH = st.text(alphabet="abcAZ09-._~!$&'()*+,;=:@%/", max_size=30)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["http", "https"]), _HOST, _PATH)
def test_a_plain_url_is_judged_as_urlsplit_judges_it(scheme: str, host: str, path: str) -> None:
    url = f"{scheme}://{host}/{path}"
    assert reading._PLAIN_URL.fullmatch(url)
    parts = urlsplit(url)  # the long way's view of the same URL
    assert (parts.scheme, parts.username, parts.password) == (scheme, None, None)
    assert url_problem(url) is None
    assert last_segment(url) == unquote(parts.path.rsplit("/", 1)[-1])
