"""The one recipe for a build's fingerprint: what a built wheel is keyed and stamped by.

compile (building build-environment pins and caching hook results), plan (a build's
fingerprint in the plan) and sync (the wheel cache and the stamp in the installed
``.dist-info``) all compute it here, so a wheel that compile built for a build
environment is the wheel sync finds in the cache for the same pins. Pure: callers hand
in hashes and names; nothing here reads a file.

A fingerprint hashes, canonically:
- every pin of the build environment as ``name==version identity``, where the identity
  of a pin installed from a wheel is that wheel's sha256 and the identity of a pin that
  is itself built is :func:`built_identity` (its sdist's sha256 and its own fingerprint);
- the build's config settings, plus the digest of a local source tree when there is one;
- the target (:func:`target_key`: implementation, Python version, platform).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.utils import canonicalize_name, canonicalize_version

_FORMAT = 1
# The config-settings key under which a local directory's tree digest enters the hash.
SOURCE_TREE_SETTING = "lock-build:source-tree"


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildPin:
    """One distribution in a build environment, as the lock pins it."""

    name: str
    version: str
    sha256: str = ""  # the pin's identity; empty for unhashed sources (local directories)

    def line(self) -> str:
        return f"{canonicalize_name(self.name)}=={_normal_version(self.version)} {self.sha256}"


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildFingerprint:
    """Everything that can change the bytes a build produces, hashed.

    Two builds of one sdist with equal fingerprints are interchangeable; that is the
    wheel cache's key (with the sdist hash and the target).
    """

    pins: tuple[BuildPin, ...]
    config_settings: tuple[tuple[str, str | tuple[str, ...]], ...] = ()
    target_tag: str = ""  # target_key(...), e.g. "cpython-3.11-manylinux_2_36_x86_64"

    @classmethod
    def of(
        cls,
        pins: Iterable[BuildPin],
        config_settings: Mapping[str, str | list[str]] | None = None,
        target_tag: str = "",
    ) -> BuildFingerprint:
        settings = tuple(
            sorted(
                (key, value if isinstance(value, str) else tuple(value))
                for key, value in (config_settings or {}).items()
            )
        )
        return cls(
            pins=tuple(sorted(pins, key=lambda pin: pin.line())),
            config_settings=settings,
            target_tag=target_tag,
        )

    def text(self) -> str:
        """The canonical text that is hashed (sorted; stable across runs and machines)."""
        lines = [f"lock-build-fingerprint {_FORMAT}"]
        lines += sorted(pin.line() for pin in self.pins)
        settings = {
            key: value if isinstance(value, str) else list(value)
            for key, value in self.config_settings
        }
        lines.append("config-settings " + json.dumps(settings, sort_keys=True))
        lines.append(f"target {self.target_tag}")
        return "\n".join(lines) + "\n"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text().encode("utf-8")).hexdigest()


def target_key(*, implementation: str, python_version: str, platform: str) -> str:
    """The target part of fingerprints and of the wheel-cache key."""
    return f"{implementation}-{python_version}-{platform}"


def built_identity(sdist_sha256: str | None, fingerprint: str) -> str:
    """The identity of a pin that is built from its sdist: what it is built from and against."""
    return hashlib.sha256(f"{sdist_sha256 or ''}:{fingerprint}".encode()).hexdigest()


def build_fingerprint(
    pins: Iterable[BuildPin],
    config_settings: Mapping[str, str],
    *,
    target_key: str,
    source_digest: str | None = None,
) -> str:
    """The fingerprint (a sha256 hex digest) of one build; see the module docstring."""
    settings: dict[str, str | list[str]] = dict(config_settings)
    if source_digest is not None:
        settings[SOURCE_TREE_SETTING] = source_digest
    return BuildFingerprint.of(pins, settings, target_key).digest


def _normal_version(version: str) -> str:
    # "80.0" and "80.0.0" are one version to installers, so one fingerprint here.
    return canonicalize_version(version, strip_trailing_zero=True)


__all__ = [
    "SOURCE_TREE_SETTING",
    "BuildFingerprint",
    "BuildPin",
    "build_fingerprint",
    "built_identity",
    "target_key",
]
