"""Built wheels, keyed by what they were built from AND what they were built against.

pip's and uv's wheel caches key a build by the sdist alone, so a wheel once built
against the wrong numpy is reused forever. Here the key is (sdist sha256, build
fingerprint, target), so a different set of build pins can never hit.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from lock_build.errors import BuildError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEY_FILE = "key.json"


class WheelCache:
    """A directory of built wheels: ``root/<k[:2]>/<k[2:4]>/<k>/{key.json,<wheel>}``."""

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
        """The wheel built from that sdist against that fingerprint for that target."""
        entry, key = self._entry(sdist_sha256, fingerprint, target_key)
        try:
            stored = json.loads((entry / _KEY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if stored != key:
            return None  # never trust a digest alone for "built against the same pins"
        wheels = sorted(entry.glob("*.whl"))
        return wheels[0] if len(wheels) == 1 else None

    def put(self, wheel: Path, sdist_sha256: str, fingerprint: str, target_key: str) -> Path:
        """Store a copy of ``wheel``; return the cached path.

        The entry appears at once or not at all (built in a temporary directory,
        then renamed), so a crash or a concurrent sync never leaves half a wheel.
        """
        entry, key = self._entry(sdist_sha256, fingerprint, target_key)
        existing = self.get(sdist_sha256, fingerprint, target_key)
        if existing is not None:
            return existing
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
        try:
            shutil.copyfile(wheel, tmp / wheel.name)
            (tmp / _KEY_FILE).write_text(
                json.dumps(key, sort_keys=True, indent=2) + "\n", encoding="utf-8"
            )
            if entry.exists():
                # A broken leftover (no key, or two wheels): replace it.
                shutil.rmtree(entry, ignore_errors=True)
            try:
                os.rename(tmp, entry)
            except OSError:
                # Lost a race with another writer of the same key: theirs is as good.
                winner = self.get(sdist_sha256, fingerprint, target_key)
                if winner is None:
                    raise
                return winner
        except OSError as exc:
            raise BuildError(
                f"Cannot store {wheel.name} in the wheel cache {self.root}: {exc}."
            ) from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return entry / wheel.name
