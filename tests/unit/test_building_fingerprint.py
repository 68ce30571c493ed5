"""The one build-fingerprint recipe (pure): what changes a fingerprint and what does not."""

from __future__ import annotations

import pytest

from lock_build.building.fingerprint import (
    SOURCE_TREE_SETTING,
    BuildFingerprint,
    BuildPin,
    build_fingerprint,
    built_identity,
    target_key,
)

NUMPY = BuildPin(name="numpy", version="2.2.6", sha256="a" * 64)
SETUPTOOLS = BuildPin(name="setuptools", version="80.0", sha256="b" * 64)
TAG = "cp311-cp311-manylinux_2_36_x86_64"


def test_fingerprint_is_order_and_spelling_independent() -> None:
    one = BuildFingerprint.of([NUMPY, SETUPTOOLS], {"b": "1", "a": ["x", "y"]}, TAG)
    two = BuildFingerprint.of(
        [BuildPin(name="SetupTools", version="80.0.0", sha256="b" * 64), NUMPY],
        {"a": ["x", "y"], "b": "1"},
        TAG,
    )
    assert one.digest == two.digest
    assert len(one.digest) == 64
    assert "numpy==2.2.6 " + "a" * 64 in one.text()


@pytest.mark.parametrize(
    "other",
    [
        BuildFingerprint.of(
            [BuildPin(name="numpy", version="1.26.4", sha256="a" * 64), SETUPTOOLS], None, TAG
        ),
        BuildFingerprint.of(
            [BuildPin(name="numpy", version="2.2.6", sha256="c" * 64), SETUPTOOLS], None, TAG
        ),
        BuildFingerprint.of([NUMPY], None, TAG),
        BuildFingerprint.of([NUMPY, SETUPTOOLS], {"setup-args": "-Dblas=none"}, TAG),
        BuildFingerprint.of([NUMPY, SETUPTOOLS], None, "cp312-cp312-manylinux_2_36_x86_64"),
    ],
    ids=["other-version", "other-hash", "missing-pin", "config-settings", "other-target"],
)
def test_fingerprint_changes_with_anything_that_changes_the_build(
    other: BuildFingerprint,
) -> None:
    base = BuildFingerprint.of([NUMPY, SETUPTOOLS], None, TAG)
    assert other.digest != base.digest


def test_config_setting_string_and_list_differ() -> None:
    as_str = BuildFingerprint.of([NUMPY], {"k": "v"}, TAG)
    as_list = BuildFingerprint.of([NUMPY], {"k": ["v"]}, TAG)
    assert as_str.digest != as_list.digest


def test_target_key_names_implementation_version_and_platform() -> None:
    key = target_key(implementation="cpython", python_version="3.11", platform="linux_x86_64")
    assert key == "cpython-3.11-linux_x86_64"


def test_build_fingerprint_adds_the_source_tree_digest_as_a_setting() -> None:
    plain = build_fingerprint([NUMPY], {"k": "v"}, target_key=TAG)
    assert plain == BuildFingerprint.of([NUMPY], {"k": "v"}, TAG).digest
    with_tree = build_fingerprint([NUMPY], {"k": "v"}, target_key=TAG, source_digest="d1")
    assert (
        with_tree == BuildFingerprint.of([NUMPY], {"k": "v", SOURCE_TREE_SETTING: "d1"}, TAG).digest
    )
    assert build_fingerprint([NUMPY], {"k": "v"}, target_key=TAG, source_digest="d2") != with_tree


@pytest.mark.parametrize(
    ("sdist", "inner"),
    [("a" * 64, "f" * 63 + "0"), ("b" * 64, "f" * 64), (None, "f" * 64)],
    ids=["other-fingerprint", "other-sdist", "no-sdist"],
)
def test_built_identity_depends_on_the_sdist_and_the_inner_fingerprint(
    sdist: str | None, inner: str
) -> None:
    assert built_identity("a" * 64, "f" * 64) != built_identity(sdist, inner)
    assert len(built_identity(sdist, inner)) == 64
