"""The InputSet values: the input digest, required hashes, frozen values."""

from __future__ import annotations

from pathlib import Path

import pytest

from lock_build.inputs.index_options import IndexOptions
from lock_build.inputs.requirement_files import parse_requirements_file
from support.input_files import make_project, parse, write

# --------------------------------------------------------------------------- digest

BASE = """
--index-url https://idx/simple
numpy>=1.26
requests[socks]>=2.31 ; python_version >= "3.8"
-c constraints.txt
"""


@pytest.mark.parametrize(
    "same",
    [
        "# a comment first\n" + BASE,
        "\n".join(reversed(BASE.strip().splitlines())) + "\n",
        BASE.replace("numpy>=1.26", "numpy >= 1.26   # pinned for ABI"),
        BASE.replace("requests[socks]>=2.31", "requests[socks] \\\n    >=2.31"),
        BASE.replace("numpy>=1.26", "NumPy>=1.26"),
        BASE + "\n\n   \n",
    ],
)
def test_digest_ignores_formatting(tmp_path: Path, same: str) -> None:
    write(tmp_path, {"constraints.txt": "urllib3<2\n"})
    expected = parse(tmp_path, BASE).digest()
    assert parse(tmp_path, same).digest() == expected


@pytest.mark.parametrize(
    ("changed", "constraint"),
    [
        (BASE.replace("numpy>=1.26", "numpy>=1.27"), "urllib3<2\n"),
        (BASE.replace("[socks]", ""), "urllib3<2\n"),
        (BASE.replace('>= "3.8"', '>= "3.9"'), "urllib3<2\n"),
        (BASE.replace("idx", "other"), "urllib3<2\n"),
        (BASE + "--pre\n", "urllib3<2\n"),
        (BASE + "six\n", "urllib3<2\n"),
        (BASE, "urllib3<3\n"),
        (BASE + f"six==1.16 --hash=sha256:{'0' * 64}\n", "urllib3<2\n"),
    ],
)
def test_digest_changes_with_content(tmp_path: Path, changed: str, constraint: str) -> None:
    write(tmp_path, {"constraints.txt": "urllib3<2\n"})
    before = parse(tmp_path, BASE).digest()
    write(tmp_path, {"constraints.txt": constraint})
    assert parse(tmp_path, changed).digest() != before
    assert before.startswith("sha256:") and len(before) == len("sha256:") + 64


def test_digest_does_not_depend_on_checkout_location(tmp_path: Path) -> None:
    digests = []
    for where in ("one", "two"):
        root = tmp_path / where
        make_project(root, "pkg")
        write(root, {"requirements.in": f"-e ./pkg\npkg2 @ file://{root}/pkg\n"})
        digests.append(
            parse_requirements_file(Path("requirements.in"), cwd=root, environ={}).digest()
        )
    assert digests[0] == digests[1]


def test_digest_ignores_url_credentials(tmp_path: Path) -> None:
    text = "--index-url https://${TOKEN}@idx/simple\nsix\n"
    first = parse(tmp_path, text, environ={"TOKEN": "alice:secret"}).digest()
    assert parse(tmp_path, text, environ={"TOKEN": "bob:other"}).digest() == first


def test_value_types_are_frozen() -> None:
    with pytest.raises(AttributeError):
        IndexOptions().pre = True  # type: ignore[misc]


H1, H2 = "a" * 64, "b" * 64


def test_required_hashes_intersect_every_line(tmp_path: Path) -> None:
    text = (
        f"six==1.16 --hash=sha256:{H1} --hash=sha256:{H2}\n"
        f"-c constraints.txt\nattrs==23.1 --hash=sha256:{H1.upper()}\nidna==3\n"
    )
    (tmp_path / "constraints.txt").write_text(f"six==1.16 --hash=sha256:{H2}\n")
    found = parse(tmp_path, text).required_hashes()
    assert found == {"six": frozenset({H2}), "attrs": frozenset({H1})}
