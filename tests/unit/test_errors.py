"""The error root and its subclasses: data in typed attributes, messages rendered from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build import errors
from lock_build.errors import (
    ChainLink,
    Conflict,
    HashMismatchError,
    LockBuildError,
    Pin,
    RequirementChain,
    ResolutionError,
)

SECRET_URL = "https://alice:hunter2@idx.example/simple/demo/"
SHOWN_URL = "https://alice:****@idx.example/simple/demo/"


def _subclasses(cls: type[LockBuildError]) -> list[type[LockBuildError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


# The classes whose constructor is still ``(message, *, hint=...)`` plus keyword data.
PLAIN = [
    c
    for c in [LockBuildError, *_subclasses(LockBuildError)]
    if c.__module__ == "lock_build.errors"
    and c not in (errors.TargetSpecError, errors.NoMatchingTargetError, errors.ForeignBuildError)
    and c is not errors.OfflineError
]


@pytest.mark.parametrize("cls", PLAIN, ids=lambda c: c.__name__)
def test_the_many_raise_sites_keep_working_with_a_message_and_a_hint(
    cls: type[LockBuildError],
) -> None:
    error = cls("Something is wrong.", hint="Do this.")
    assert (error.message, error.hint, error.detail) == ("Something is wrong.", "Do this.", None)
    assert error.render() == "Something is wrong. Do this."


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: errors.NetworkError("m", url=SECRET_URL), id="network"),
        pytest.param(lambda: errors.OfflineError("m", url=SECRET_URL), id="offline"),
        pytest.param(lambda: errors.IndexPageError("m", url=SECRET_URL), id="index-page"),
        pytest.param(lambda: errors.MetadataError("m", source=SECRET_URL), id="metadata"),
        pytest.param(
            lambda: HashMismatchError(url=SECRET_URL, expected=("0" * 64,), got="1" * 64),
            id="hash-mismatch",
        ),
    ],
)
def test_urls_are_kept_redacted(make) -> None:  # noqa: ANN001
    error = make()
    kept = getattr(error, "url", None) or getattr(error, "source", None)
    assert kept == SHOWN_URL
    assert "hunter2" not in error.render()


@pytest.mark.parametrize(
    ("expected", "message"),
    [
        (("a" * 64,), f"{SHOWN_URL} has sha256 {'f' * 64}, but {'a' * 64} was expected."),
        (
            ("b" * 64, "a" * 64),
            f"{SHOWN_URL} has sha256 {'f' * 64}, but one of {'a' * 64}, {'b' * 64} was expected.",
        ),
    ],
)
def test_a_hash_mismatch_is_rendered_from_its_data(expected: tuple[str, ...], message: str) -> None:
    error = HashMismatchError(url=SECRET_URL, expected=expected, got="f" * 64, hint="Retry.")
    assert (error.expected, error.got) == (expected, "f" * 64)
    assert error.render() == f"{message} Retry."


def test_build_and_sync_errors_carry_what_they_are_about(tmp_path: Path) -> None:
    build = errors.BuildError(
        "m",
        package=canonicalize_name("Cftime"),
        version=Version("1.6.1"),
        hook="build_wheel",
        log=tmp_path / "build.log",
    )
    assert (build.package, build.version, build.hook) == ("cftime", Version("1.6.1"), "build_wheel")
    assert build.log == tmp_path / "build.log"
    sync = errors.SyncError("m", package=canonicalize_name("abiext"), path=tmp_path / "python")
    assert (sync.package, sync.path) == ("abiext", tmp_path / "python")


def _link(requirement: str, parent: str | None = None) -> ChainLink:
    if parent is None:
        return ChainLink(requirement=Requirement(requirement))
    name, version = parent.split()
    pin = Pin(name=canonicalize_name(name), version=Version(version))
    return ChainLink(requirement=Requirement(requirement), parent=pin)


@pytest.mark.parametrize(
    ("chain", "text"),
    [
        pytest.param(
            RequirementChain(
                links=(_link("a"), _link("b>=1", "a 1.0"), _link("c<2", "b 1.0")),
                origin="-r requirements.in",
                location="requirements.in:3",
            ),
            "you asked for a (requirements.in:3) -> a 1.0 requires b>=1 -> b 1.0 requires c<2",
            id="location-over-origin",
        ),
        pytest.param(
            RequirementChain(links=(_link("c>=2"),), origin="pyproject.toml (extra: dev)"),
            "you asked for c>=2 (pyproject.toml (extra: dev))",
            id="origin",
        ),
        pytest.param(
            RequirementChain(links=(_link("numpy>=2"),), origin="cftime 1.6.1 (build)"),
            "cftime 1.6.1 needs numpy>=2 to build",
            id="build-environment",
        ),
        pytest.param(
            RequirementChain(links=(_link("c<2", "b 1.0"),)),
            "b 1.0 requires c<2",
            id="not-walked-back-to-an-input",
        ),
    ],
)
def test_a_chain_renders_every_link(chain: RequirementChain, text: str) -> None:
    assert chain.render() == text
    assert chain.requirement == chain.links[-1].requirement


def test_a_resolution_error_is_rendered_from_its_conflicts() -> None:
    error = ResolutionError(
        conflicts=(
            Conflict(
                package=canonicalize_name("zeta"),
                chains=(RequirementChain(links=(_link("zeta>=9"),), origin="-r in.txt"),),
                available="the versions that exist for this target are 1.0",
            ),
            Conflict(
                package=canonicalize_name("c"),
                chains=(
                    RequirementChain(links=(_link("a"), _link("c<2", "a 1.0")), origin="-r in.txt"),
                    RequirementChain(links=(_link("c>=2"),), origin="-r in.txt"),
                ),
            ),
        ),
        context="cftime 1.6.1 (build)",
        constraints=(Requirement("setuptools<82"), Requirement("cython<3")),
    )
    assert error.message == (
        "Cannot resolve the build environment of cftime 1.6.1: "
        "you asked for a (-r in.txt) -> a 1.0 requires c<2; you asked for c>=2 (-r in.txt). "
        "you asked for zeta>=9 (-r in.txt); the versions that exist for this target are 1.0. "
        "(constraints in force: cython<3, setuptools<82)"
    )
    assert [c.package for c in error.conflicts] == ["zeta", "c"]  # kept as given


def test_a_resolution_error_with_its_own_words_keeps_them() -> None:
    error = ResolutionError("Resolution gave up after 10 rounds.", hint="Narrow it.")
    assert error.render() == "Resolution gave up after 10 rounds. Narrow it."
    assert error.conflicts == ()


@pytest.mark.parametrize(("terminated", "code"), [(False, 130), (True, 143)])
def test_an_interrupted_sync_exits_with_the_signal_s_code(terminated: bool, code: int) -> None:
    error = errors.SyncInterrupted("Interrupted while changing x.", terminated=terminated)
    assert error.exit_code == code and isinstance(error, errors.SyncError)
