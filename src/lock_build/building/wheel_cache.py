"""Built wheels, keyed by what they were built from AND what they were built against.

pip's and uv's wheel caches key a build by the sdist alone, so a wheel once built
against the wrong numpy is reused forever. Here the key is (sdist sha256, build
fingerprint, target), so a different set of build pins can never hit.

Each entry holds the wheel and a sidecar (``entry.json``, a :mod:`lock_build.cache`
entry) with the key, the wheel's filename and the sha256 it had when it was built. A
read re-hashes the wheel: a wheel edited after its build is dropped with a warning
and rebuilt, never installed (pip's hash check would only compare the file with
itself).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from lock_build.cache import (
    CacheEntryError,
    expect_dict,
    expect_str,
    log,
    read_entry,
    sha256_file,
    write_entry,
)
from lock_build.errors import BuildError

__all__ = ["WheelCache"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SIDECAR = "entry.json"
_KIND = "built-wheel-v2"
_LOCK_TIMEOUT = 600.0  # seconds another process may hold an entry's lock while storing it


@dataclass(frozen=True, kw_only=True, slots=True)
class _Sidecar:
    key: dict[str, str]
    filename: str
    sha256: str


def _sidecar(value: object) -> _Sidecar:
    data = expect_dict(value, "value")
    key = expect_dict(data["key"], "key")
    filename = expect_str(data["filename"], "filename")
    sha256 = expect_str(data["sha256"], "sha256")
    if not _SHA256.match(sha256):
        raise CacheEntryError("sha256 is not a sha256 hex digest")
    if "/" in filename or "\\" in filename or not filename.endswith(".whl"):
        raise CacheEntryError(f"filename {filename!r} is not a wheel name")
    return _Sidecar(
        key={k: expect_str(v, f"key.{k}") for k, v in key.items()}, filename=filename, sha256=sha256
    )


class WheelCache:
    """A directory of built wheels: ``root/<k[:2]>/<k[2:4]>/<k>/{entry.json,<wheel>}``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _entry(
        self, sdist_sha256: str, fingerprint: str, target_key: str
    ) -> tuple[Path, dict[str, str]]:
        if not _SHA256.match(sdist_sha256):
            raise BuildError(f"Wheel cache: {sdist_sha256!r} is not a sha256 hex digest.")
        key = {"sdist_sha256": sdist_sha256, "fingerprint": fingerprint, "target": target_key}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()
        return self.root / digest[:2] / digest[2:4] / digest, key

    def get(self, sdist_sha256: str, fingerprint: str, target_key: str) -> Path | None:
        """The wheel built from that sdist against that fingerprint for that target.

        Verified against the sha256 recorded when it was built; a damaged entry is
        removed (with a warning) and reported as a miss, so the caller rebuilds it.
        """
        entry, key = self._entry(sdist_sha256, fingerprint, target_key)
        if not entry.is_dir():
            return None
        sidecar = read_entry(entry / _SIDECAR, _KIND, _sidecar)
        if sidecar is None:
            self._discard(entry, "no valid entry.json")
            return None
        if sidecar.key != key:
            # never trust a digest alone for "built against the same pins"
            self._discard(entry, "its key is not the one it is filed under")
            return None
        wheel = entry / sidecar.filename
        try:
            actual = sha256_file(wheel)
        except OSError as exc:
            self._discard(entry, f"{sidecar.filename} cannot be read: {exc.strerror}")
            return None
        if actual != sidecar.sha256:
            self._discard(
                entry,
                f"{sidecar.filename} has sha256 {actual}, but {sidecar.sha256} when it was built",
            )
            return None
        return wheel

    def put(self, wheel: Path, sdist_sha256: str, fingerprint: str, target_key: str) -> Path:
        """Store a copy of ``wheel``; return the cached path.

        The entry appears at once or not at all (built in a temporary directory,
        then renamed), and a file lock keeps two processes from storing the same key
        at once, so a crash or a concurrent sync never leaves half a wheel.
        """
        entry, key = self._entry(sdist_sha256, fingerprint, target_key)
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(entry) + ".lock", timeout=_LOCK_TIMEOUT):
                existing = self.get(sdist_sha256, fingerprint, target_key)
                if existing is not None:
                    return existing
                return self._store(wheel, entry, key)
        except Timeout:
            raise BuildError(
                f"Another lock-build process has held the wheel cache entry for {wheel.name} "
                f"for {_LOCK_TIMEOUT:.0f} seconds.",
                hint=f"If no other lock-build is running, delete {entry}.lock.",
            ) from None
        except OSError as exc:
            raise BuildError(
                f"Cannot store {wheel.name} in the wheel cache {self.root}: {exc}."
            ) from exc

    def _store(self, wheel: Path, entry: Path, key: dict[str, str]) -> Path:
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
        try:
            shutil.copyfile(wheel, tmp / wheel.name)
            value = {"key": key, "filename": wheel.name, "sha256": sha256_file(tmp / wheel.name)}
            if not write_entry(tmp / _SIDECAR, _KIND, value):
                raise OSError(f"cannot write {tmp / _SIDECAR}")
            if entry.exists():
                shutil.rmtree(entry)  # a broken leftover the lock holder may replace
            os.rename(tmp, entry)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return entry / wheel.name

    def _discard(self, entry: Path, reason: str) -> None:
        log.warning(
            "dropped a damaged built-wheel cache entry %s (%s); rebuilding it", entry, reason
        )
        shutil.rmtree(entry, ignore_errors=True)
