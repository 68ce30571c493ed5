"""The requirements-file parser on arbitrary input: never a traceback, and every error
names the file and line it is about (a bounded Hypothesis run in the default suite)."""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lock_build.errors import LockBuildError
from lock_build.inputs.requirement_files import parse_requirements_file

# Pieces real files are made of, plus the ones that broke the parser before.
FRAGMENTS = st.sampled_from(
    [
        "six",
        "Django[argon2,bcrypt]",
        "numpy>=1.26",
        "==1.0",
        "; python_version < '3.12'",
        " @ ",
        "https://host/simple",
        "https://u:p@host/pkg-1.0.tar.gz",
        "file:///tmp/x.whl",
        "git+https://host/r.git@v1#egg=r",
        "./local",
        "../up",
        "pkg.whl",
        "x-1.0.tar.gz",
        "-r",
        "-c",
        "-e",
        "-i",
        "-f",
        "--index-url",
        "--index-url=",
        "--extra-index-url=",
        "--hash=sha256:" + "a" * 64,
        "--hash",
        "--no-binary",
        ":all:",
        "--pre",
        "--trusted-host",
        "--config-settings",
        "k=v",
        "#",
        " # comment",
        "\\",
        "${HOME}",
        "${NOPE}",
        "$X",
        " ",
        "\t",
        "\x00",
        "\r",
        "\x0b",
        "\u00e9",
        "\ufeff",
        "'",
        '"',
        "[",
        "]",
        "(",
        ")",
        ",",
        "a" * 300,
        "d/" * 40,
        "x" * 255 + "/",
        "~",
        "*",
        "=",
        "@",
        ":",
        "/",
        "%00",
        "%2F",
    ]
)
LINE = st.lists(FRAGMENTS | st.text(max_size=8), max_size=8).map("".join)
FILE = st.lists(LINE, max_size=6).map("\n".join)

_LOCATION = re.compile(r"(^|\W)(requirements\.in|inc\.txt):\d+")


_BUDGET = 20.0  # seconds of wall time; examples after it are generated but not run
_started: list[float] = []


@settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
@given(main=FILE, included=FILE)
def test_parser_never_raises_a_traceback(main: str, included: str) -> None:
    if not _started:
        _started.append(time.monotonic())
    if time.monotonic() - _started[0] > _BUDGET:
        return
    root = _ROOT
    (root / "requirements.in").write_text(
        main + "\n-r inc.txt\n", encoding="utf-8", errors="surrogateescape"
    )
    (root / "inc.txt").write_text(included, encoding="utf-8", errors="surrogateescape")
    try:
        parse_requirements_file(Path("requirements.in"), cwd=root, environ={"HOME": "/h"})
    except LockBuildError as exc:
        assert _LOCATION.search(exc.render()), exc.render()


_ROOT = Path(tempfile.mkdtemp(prefix="lock-build-fuzz-"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("./" + "x" * 300 + "\n", "requirements.in:1: './xxx"),
        ("-r " + "y" * 300 + "\n", "requirements.in:1: Cannot read requirements file"),
        ("-r foo\x00bar\n", "requirements.in:1: Cannot read requirements file"),
        ("-c a\x00b\n", "requirements.in:1: Cannot read requirements file"),
        ("./a\x00b\n", "requirements.in:1:"),
        ("https://a/x.whl\thttps://b/y.whl\n", "a URL cannot contain whitespace"),
        ("-r missing.txt\n", "requirements.in:1: Requirements file missing.txt does not exist"),
    ],
    ids=[
        "long-path",
        "long-include",
        "nul-include",
        "nul-constraint",
        "nul-path",
        "tab-urls",
        "missing-include",
    ],
)
def test_strange_paths_are_one_located_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "requirements.in").write_text(text, encoding="utf-8")
    with pytest.raises(LockBuildError) as info:
        parse_requirements_file(Path("requirements.in"), cwd=tmp_path, environ={})
    assert message in info.value.render()
