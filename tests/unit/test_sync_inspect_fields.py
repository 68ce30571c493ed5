"""sync.inspect's header split gives exactly what the email parser gives, for any block."""

from __future__ import annotations

import email
from email.header import Header

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lock_build.sync.inspect import header_fields


def _parsed(block: str) -> list[tuple[str, str]]:
    return list(email.message_from_string(block).items())


@pytest.mark.parametrize(
    "block",
    [
        "",
        "\n",
        "Metadata-Version: 2.1\nName: demo\nVersion: 1.0",
        "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",  # a file without a description
        "Name:demo\nVersion:\t 1.0  ",  # no blank after the colon, blanks after the value
        "name: demo\nNAME: other",  # a repeated field, in another case
        "Name: dëmo\nSummary: ünïcode, \x0b \x0c \x1c \x85 \u2028 in a value",
        "Requires-Dist: a>=1\nRequires-Dist: b; extra == 'x'\nRequires-Dist: c",
        "Name: demo\nSummary: folded\n  onto the next line",  # continuation: the parser's
        "Name: demo\r\nVersion: 1.0\r\n",  # CRLF: the parser's
        "Name: demo\rVersion: 1.0",  # a lone CR ends a line for the parser
        "Name: demo\nthis is no header\nVersion: 1.0",  # the headers end before it
        ": no name\nName: demo",
        "From someone\nName: demo",
        "Name : demo",  # a blank before the colon: no header
        "\nName: demo",  # an empty first line: no headers at all
    ],
)
def test_header_fields_are_the_parsers_fields(block: str) -> None:
    assert header_fields(block) == _parsed(block)


_NAMES = st.sampled_from(["Name", "Version", "Requires-Dist", "name", "X-Odd(1)", "From", ""])
# No lone surrogates: METADATA is read as strict UTF-8 (they are the next test's).
_VALUES = st.text(
    alphabet=st.characters(exclude_characters="\n", exclude_categories=["Cs"]), max_size=12
)
_LINES = st.one_of(
    st.builds(
        lambda n, sep, v: f"{n}{sep}{v}", _NAMES, st.sampled_from([":", ": ", ":\t"]), _VALUES
    ),
    st.builds(lambda v: f" {v}", _VALUES),  # a continuation
    _VALUES,  # anything at all
)


def test_a_lone_surrogate_is_left_to_the_parser() -> None:
    """compat32 makes such a value a Header; the split does not return the raw text."""
    [(name, value)] = header_fields("Name: \ud800")
    assert name == "Name" and isinstance(value, Header)


@settings(max_examples=400, deadline=None)
@given(st.lists(_LINES, max_size=6), st.booleans())
def test_any_header_block_splits_as_the_parser_splits_it(lines: list[str], trailing: bool) -> None:
    block = "\n".join(lines) + ("\n" if trailing else "")
    assert header_fields(block) == _parsed(block)


def test_a_plain_block_is_split_without_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(block: str) -> None:
        raise AssertionError("the email parser ran")

    monkeypatch.setattr(email, "message_from_string", refuse)
    block = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: a>=1\n"
    assert header_fields(block) == [
        ("Metadata-Version", "2.1"),
        ("Name", "demo"),
        ("Version", "1.0"),
        ("Requires-Dist", "a>=1"),
    ]
