"""Known build-failure causes (building/failure_hints.py): each signature gives its fix."""

from __future__ import annotations

import pytest

from lock_build.building.failure_hints import KnownBuildFailure, build_failure, sdist_identity

# (a log tail, what the hint must end with)
SIGNATURES = [
    (
        '  File "setup.py", line 3\n    import pkg_resources\n'
        "ModuleNotFoundError: No module named 'pkg_resources'",
        "--extra-build-requires 'pyworld:setuptools<82'.",
    ),
    (
        "error in pyworld setup command: use_2to3 is invalid.",
        "--extra-build-requires 'pyworld:setuptools<58'.",
    ),
    (
        "pyworld/x.c:120:25: error: 'PyArray_Descr' {aka 'struct _PyArray_Descr'} has no "
        "member named 'subarray'",
        "a constraints file holding the line numpy<2, passed as -c FILE.",
    ),
    (
        "pyworld/x.c:88:9: error: \u2018NPY_CHAR\u2019 undeclared (first use in this function)",
        "a constraints file holding the line numpy<2, passed as -c FILE.",
    ),
]


@pytest.mark.parametrize(("tail", "ends_with"), SIGNATURES)
def test_a_known_signature_ends_the_error_with_its_fix(tail: str, ends_with: str) -> None:
    error = build_failure(
        "pyworld-0.3.5: build_wheel failed.", log_tail=tail, label="pyworld-0.3.5", hint="generic"
    )
    assert isinstance(error, KnownBuildFailure)
    text = error.render()
    assert text.startswith("pyworld-0.3.5: build_wheel failed. The build failed because ")
    assert text.endswith(ends_with), text
    assert "\n" not in text and error.detail == tail
    assert (error.package, str(error.version)) == ("pyworld", "0.3.5")


def test_the_setuptools_fixes_name_the_build_constraint_option() -> None:
    error = build_failure("m", log_tail=SIGNATURES[0][0], label="cftime-1.6.1", hint="generic")
    assert "setuptools 82 removed" in error.render()
    assert "setuptools<82, passed as -b FILE" in error.render()
    assert "'cftime:setuptools<82'" in error.render()


def test_an_unknown_failure_keeps_the_generic_hint() -> None:
    error = build_failure("m", log_tail="error: something else", label="x-1.0", hint="generic")
    assert not isinstance(error, KnownBuildFailure)
    assert error.render() == "m generic"
    assert (error.package, str(error.version)) == ("x", "1.0")


@pytest.mark.parametrize(
    ("label", "package", "version"),
    [
        ("cftime-1.6.1", "cftime", "1.6.1"),
        ("zope.interface-6.0", "zope-interface", "6.0"),
        ("my-project", None, None),  # a local tree: its directory name tells neither
        ("project", None, None),
    ],
)
def test_the_sdist_is_named_from_its_unpacked_directory(
    label: str, package: str | None, version: str | None
) -> None:
    name, parsed = sdist_identity(label)
    assert (name, None if parsed is None else str(parsed)) == (package, version)
