"""One redaction function for every text a credential can hide in."""

from __future__ import annotations

import pytest

from lock_build.redaction import redact

A = "https://user:pw@host/simple"


@pytest.mark.parametrize(
    ("text", "shown", "anonymous"),
    [
        (A, "https://user:****@host/simple", "https://***@host/simple"),
        (
            "https://tok3n@host:8443/simple/",
            "https://****@host:8443/simple/",
            "https://***@host:8443/simple/",
        ),
        (
            f"--index-url={A}",
            "--index-url=https://user:****@host/simple",
            "--index-url=https://***@host/simple",
        ),
        (f"-i{A}", "-ihttps://user:****@host/simple", "-ihttps://***@host/simple"),
        (f"--extra-index-url={A}", "--extra-index-url=https://user:****@host/simple", None),
        (
            f"--index-url {A}  # comment",
            "--index-url https://user:****@host/simple  # comment",
            None,
        ),
        (
            f"pkg @ git+{A.replace('simple', 'r.git')}@v1",
            "pkg @ git+https://user:****@host/r.git@v1",
            None,
        ),
        ("https://u:p@ss@host/x", "https://u:****@host/x", "https://***@host/x"),
        ("https://host/f.whl?token=abc&x=1", "https://host/f.whl?token=****&x=1", None),
        ("https://host/f?x=1&api_key=abc#frag", "https://host/f?x=1&api_key=****#frag", None),
        (
            f"'{A}' and \"{A}\"",
            "'https://user:****@host/simple' and \"https://user:****@host/simple\"",
            None,
        ),
        ("https://host/simple/", "https://host/simple/", "https://host/simple/"),
        ("mail me at user@example.com", "mail me at user@example.com", None),
        ("file:///opt/wheels", "file:///opt/wheels", None),
    ],
)
def test_every_spelling(text: str, shown: str, anonymous: str | None) -> None:
    assert redact(text) == shown
    if anonymous is not None:
        assert redact(text, keep_user=False) == anonymous
    assert "pw" not in redact(text).replace("pwd", "")


def test_stable_for_digests() -> None:
    """A digest over redacted text does not change with the user or the password."""
    assert redact("https://alice:one@h/s", keep_user=False) == redact(
        "https://bob:two@h/s", keep_user=False
    )
