"""Hand-written locks over a local index, and a CLI runner, for the sync and plan tests.

The locks are written by hand (not by compile) so these tests exercise plan and sync
alone: each entry points at a real file on the local index, with its real sha256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner
from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build.errors import LockBuildError
from lock_build.lockfile import BuildEnvironment, Lock, LockedFile, LockedPackage, LockTarget
from lock_build.metadata import parse_core_metadata, read_wheel_metadata
from lock_build.target import target_for_interpreter


def locked_file(path: Path, url: str) -> LockedFile:
    return LockedFile(
        url=url, sha256=hashlib.sha256(path.read_bytes()).hexdigest(), filename=path.name
    )


def wheel_pkg(
    index, path: Path, *, runtime: bool = True, deps: Sequence[str] = ()
) -> LockedPackage:  # noqa: ANN001
    name, version = path.name.split("-")[:2]
    # What compile records: the Requires-Dist of the metadata it used (sync compares).
    metadata = parse_core_metadata(read_wheel_metadata(path, name), path.name)
    return LockedPackage(
        name=canonicalize_name(name),
        version=Version(version),
        runtime=runtime,
        wheels=(locked_file(path, index.file_url(path.name)),),
        requires_dist=metadata.requires_dist,
        dependencies=tuple(canonicalize_name(d) for d in deps),
    )


def sdist_pkg(
    index, path: Path, *, runtime: bool = True, deps: Sequence[str] = ()
) -> LockedPackage:  # noqa: ANN001
    name, version = path.name.removesuffix(".tar.gz").rsplit("-", 1)
    return LockedPackage(
        name=canonicalize_name(name),
        version=Version(version),
        runtime=runtime,
        sdist=locked_file(path, index.file_url(path.name)),
        dependencies=tuple(canonicalize_name(d) for d in deps),
    )


def build_env(
    name: str,
    version: str,
    pins: Sequence[str],
    *,
    shared: Sequence[str] = (),
    requires: Sequence[str] = (),
) -> BuildEnvironment:
    return BuildEnvironment(
        package=canonicalize_name(name),
        version=Version(version),
        backend="lbbackend",
        backend_path=("_backend",),
        requires=tuple(requires),
        pins=tuple(pins),
        shared=tuple(canonicalize_name(s) for s in shared),
    )


def make_lock(
    python: Path, packages: Sequence[LockedPackage], builds: Sequence[BuildEnvironment] = ()
) -> Lock:
    return Lock(
        inputs_digest="sha256:test",
        input_files=("requirements.in",),
        command="lock-build compile requirements.in",
        targets=(LockTarget.from_values(target_for_interpreter(python).to_dict()),),
        packages=tuple(packages),
        builds=tuple(builds),
    )


def run_cli(command, args: Sequence[str]) -> tuple[int, str]:  # noqa: ANN001
    """Invoke a command as `main` would: a LockBuildError becomes its exit code."""
    result = CliRunner().invoke(command, [str(a) for a in args], standalone_mode=False)
    exc = result.exception
    if exc is None:
        return 0, result.output
    if isinstance(exc, LockBuildError):
        return exc.exit_code, result.output + exc.render()
    raise exc
