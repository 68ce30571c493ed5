"""What a build's ABI packages were built against, and sync's check of it.

The lock records, per build, each ABI package's build version, the runtime version it
was locked next to, and the range the rule gave (``runs-with``). sync checks the
*recorded* range, never local configuration: a lock made elsewhere must not be
re-judged by rules this machine happens to have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from lock_build.errors import SyncError
from lock_build.lockfile import AbiRecord

__all__ = ["AbiMismatchError", "AbiRecord", "check_runtime"]


class AbiMismatchError(SyncError):
    """A built wheel would run next to an ABI package version outside its recorded range."""

    def __init__(
        self,
        *,
        build: str,
        package: NormalizedName,
        built: str,
        runtime: Version,
        runs_with: SpecifierSet | None,
    ) -> None:
        allowed = f"runs with {package}{runs_with}" if runs_with is not None else ""
        super().__init__(
            f"{build} was built against {package} {built} and would run with {package} "
            f"{runtime}"
            + (
                f", but a build against {package} {built} {allowed} (the lock's record)"
                if allowed
                else ", and the lock records no ABI range for that build"
            )
            + "; the extension could fail to load. Nothing in the target environment was "
            "changed.",
            hint="Regenerate the lock with lock-build compile; it picks a build version the "
            "runtime can use.",
        )
        self.build = build
        self.package = package
        self.built = built
        self.runtime = runtime
        self.runs_with = runs_with


def check_runtime(
    build: str,
    records: Iterable[AbiRecord],
    runtime: Mapping[NormalizedName, Version],
    built_against: Mapping[str, str] | None = None,
) -> None:
    """Refuse ``build`` if a runtime ABI version falls outside its recorded ``runs-with``.

    ``runtime``: the versions the environment will hold. ``built_against``: the pins of
    the wheel's stamp (what it was really built against); without it, the records' own
    ``built`` versions are checked (a lock validated before anything is fetched).
    """
    stamped = {canonicalize_name(k): v for k, v in (built_against or {}).items()}
    for record in records:
        version = runtime.get(record.package)
        if version is None:
            continue  # not installed at runtime: nothing for the extension to mismatch
        built = stamped.get(record.package, str(record.built))
        if not _same_version(built, record.built):
            raise AbiMismatchError(
                build=build, package=record.package, built=built, runtime=version, runs_with=None
            )
        if not record.runs_with.contains(version, prereleases=True):
            raise AbiMismatchError(
                build=build,
                package=record.package,
                built=built,
                runtime=version,
                runs_with=record.runs_with,
            )


def _same_version(text: str, version: Version) -> bool:
    try:
        return Version(text) == version
    except InvalidVersion:
        return False
