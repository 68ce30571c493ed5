"""One requirement in each of pip's forms (PEP 508, local paths, archives, VCS URLs), read
through a requirements file as users write them."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from lock_build.inputs.requirement_files import parse_requirements_file
from support.input_files import make_project, parse, write


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("numpy", "numpy"),
        ("numpy>=1.26,<2", "numpy<2,>=1.26"),
        ("Requests[socks,security] >= 2.31", "Requests[security,socks]>=2.31"),
        ('pywin32 ; sys_platform == "win32"', 'pywin32; sys_platform == "win32"'),
        (
            "foo @ https://example.org/foo-1.0.tar.gz#sha256=ab12",
            "foo@ https://example.org/foo-1.0.tar.gz#sha256=ab12",
        ),
    ],
)
def test_pep508_lines(tmp_path: Path, line: str, expected: str) -> None:
    result = parse(tmp_path, line + "\n")
    (req,) = result.requirements
    assert str(req.requirement).replace(" @ ", "@ ") == expected.replace(" @ ", "@ ")
    assert req.source == "-r requirements.in"
    assert req.location == "requirements.in:1"


# --------------------------------------------------------------------------- links and paths


def test_local_directories_editables_and_archives(tmp_path: Path) -> None:
    make_project(tmp_path, "pkg")
    make_project(tmp_path / "sub", "other")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "My_Lib-1.0.tar.gz").write_bytes(b"")
    (tmp_path / "dist" / "wheelie-2.0-py3-none-any.whl").write_bytes(b"")
    result = parse(
        tmp_path,
        """
        -e ./pkg
        -e ./pkg[dev,test]
        ./sub/other ; python_version >= "3.9"
        ./dist/My_Lib-1.0.tar.gz
        dist/wheelie-2.0-py3-none-any.whl
        named @ file://{root}/pkg
        ./pkg#egg=pkg
    """.replace("{root}", tmp_path.as_posix()),
    )
    first, second, third = result.unnamed
    assert first.editable and first.link.kind == "directory"
    assert first.link.path == tmp_path / "pkg"
    assert second.extras == {"dev", "test"} and second.editable
    assert third.link.path == tmp_path / "sub" / "other" and not third.editable
    assert str(third.marker) == 'python_version >= "3.9"'

    archive, wheel, named, egg = result.requirements
    assert archive.requirement.name == "my-lib"
    assert archive.link is not None and archive.link.kind == "archive"
    assert archive.link.version == Version("1.0")
    assert archive.requirement.url == (tmp_path / "dist" / "My_Lib-1.0.tar.gz").as_uri()
    assert wheel.requirement.name == "wheelie" and wheel.link.version == Version("2.0")
    assert named.requirement.name == "named" and named.link.kind == "directory"
    assert egg.requirement.name == "pkg" and egg.requirement.url == (tmp_path / "pkg").as_uri()


def test_unnamed_link_can_be_named_later(tmp_path: Path) -> None:
    make_project(tmp_path, "pkg")
    result = parse(tmp_path, '-e ./pkg[x] \n./pkg ; os_name == "posix"\n')
    editable = result.unnamed[0].named("pkg")
    assert editable.editable and str(editable.requirement) == (
        f"pkg[x]@ {(tmp_path / 'pkg').as_uri()}".replace("@ ", " @ ")
    )
    plain = result.unnamed[1].named("pkg")
    assert str(plain.requirement.marker) == 'os_name == "posix"'


def test_dot_project_and_bare_dot_editable(tmp_path: Path) -> None:
    make_project(tmp_path, ".")
    (tmp_path / "reqs").mkdir()
    write(tmp_path, {"reqs/dev.in": "-e ..\n"})
    result = parse_requirements_file(Path("reqs/dev.in"), cwd=tmp_path, environ={})
    (link,) = result.unnamed
    assert link.link.path == tmp_path and link.source == "-r reqs/dev.in"


@pytest.mark.parametrize(
    ("line", "name", "vcs", "revision", "subdirectory"),
    [
        ("git+https://github.com/o/bar.git@v1.0#egg=bar", "bar", "git", "v1.0", None),
        ("foo @ git+https://github.com/o/foo@main#subdirectory=py", "foo", "git", "main", "py"),
        ("git+ssh://git@github.com/o/baz.git#egg=baz", "baz", "git", None, None),
        (
            "-e git+https://github.com/o/ed.git@abc123#egg=ed&subdirectory=s",
            "ed",
            "git",
            "abc123",
            "s",
        ),
        ("hg+https://hg.example/repo@tip#egg=hgpkg", "hgpkg", "hg", "tip", None),
    ],
)
def test_vcs_links(
    tmp_path: Path,
    line: str,
    name: str,
    vcs: str,
    revision: str | None,
    subdirectory: str | None,
) -> None:
    (req,) = parse(tmp_path, line + "\n").requirements
    assert req.requirement.name == name
    assert req.link is not None
    assert (req.link.kind, req.link.vcs, req.link.revision, req.link.subdirectory) == (
        "vcs",
        vcs,
        revision,
        subdirectory,
    )
    assert "egg=" not in req.link.url
    assert req.editable == line.startswith("-e")


def test_vcs_link_without_name_is_unnamed(tmp_path: Path) -> None:
    result = parse(tmp_path, "git+https://github.com/o/anon.git@v2\n")
    assert result.requirements == ()
    assert result.unnamed[0].link.revision == "v2"


def test_remote_archive_url_takes_name_and_version_from_filename(tmp_path: Path) -> None:
    (req,) = parse(tmp_path, "https://files.example/x/Foo-2.1.zip#sha256=00ff\n").requirements
    assert req.requirement.name == "foo"
    assert req.link is not None and req.link.version == Version("2.1")
    assert req.link.url.endswith("#sha256=00ff")
