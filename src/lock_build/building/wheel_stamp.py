"""Record, inside a built wheel, exactly what it was built against.

A wheel compiled against numpy 1.26 looks like any other wheel of its version; once
installed, nothing tells it apart from one compiled against numpy 2.2. The stamp
(``<dist-info>/lock_build_build.json``) is how sync later knows whether an
installed build still matches the lock's build pins.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from lock_build.errors import ArchiveError

# Reading an installed stamp (every sync) needs none of the archive machinery that
# stamping a wheel does: that is imported where a wheel is opened.
if TYPE_CHECKING:
    import zipfile

STAMP_NAME = "lock_build_build.json"
_STAMP_FORMAT = 1


def stamp_wheel(wheel: Path, pins: Mapping[str, str], fingerprint: str) -> Path:
    """Add ``lock_build_build.json`` to the wheel's dist-info, in place; return ``wheel``.

    RECORD is rewritten with the stamp's hash so the wheel stays valid for pip and
    installer. Stamping again replaces the earlier stamp.
    """
    import tempfile
    import zipfile

    stamp = (
        json.dumps(
            {
                "format": _STAMP_FORMAT,
                "fingerprint": fingerprint,
                "pins": {
                    str(canonicalize_name(name)): version for name, version in sorted(pins.items())
                },
            },
            indent=2,
            sort_keys=True,
        ).encode("utf-8")
        + b"\n"
    )
    try:
        with zipfile.ZipFile(wheel) as source:
            dist_info = _dist_info_dir(wheel, source)
            stamp_path = f"{dist_info}/{STAMP_NAME}"
            record_path = f"{dist_info}/RECORD"
            fd, tmp = tempfile.mkstemp(prefix=".stamp-", suffix=".whl", dir=wheel.parent)
            os.close(fd)
            try:
                with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as target:
                    rows = _copy_members(source, target, skip={stamp_path, record_path})
                    _write(target, stamp_path, stamp, like=source.getinfo(record_path))
                    rows.append((stamp_path, _record_hash(stamp), str(len(stamp))))
                    rows.append((record_path, "", ""))
                    _write(
                        target, record_path, _record_bytes(rows), like=source.getinfo(record_path)
                    )
                os.replace(tmp, wheel)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ArchiveError(f"Cannot stamp {wheel.name}: {exc}.", path=wheel) from exc
    return wheel


def _dist_info_dir(wheel: Path, archive: zipfile.ZipFile) -> str:
    candidates = {
        name.split("/", 1)[0]
        for name in archive.namelist()
        if name.count("/") == 1
        and name.split("/", 1)[0].endswith(".dist-info")
        and name.endswith("/RECORD")
    }
    if len(candidates) != 1:
        raise ArchiveError(
            f"{wheel.name} does not have exactly one .dist-info directory with a RECORD "
            f"(found {sorted(candidates) or 'none'}).",
            path=wheel,
        )
    return candidates.pop()


def _copy_members(
    source: zipfile.ZipFile, target: zipfile.ZipFile, *, skip: set[str]
) -> list[tuple[str, str, str]]:
    # Re-hash every member rather than trusting the old RECORD: the new RECORD then
    # describes exactly what is in the archive.
    rows = []
    for info in source.infolist():
        if info.filename in skip:
            continue
        data = source.read(info)
        target.writestr(info, data)
        if not info.is_dir():
            rows.append((info.filename, _record_hash(data), str(len(data))))
    return rows


def _write(target: zipfile.ZipFile, path: str, data: bytes, *, like: zipfile.ZipInfo) -> None:
    import zipfile

    info = zipfile.ZipInfo(path, date_time=like.date_time)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    target.writestr(info, data)


def _record_hash(data: bytes) -> str:
    import base64

    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def _record_bytes(rows: list[tuple[str, str, str]]) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def read_stamp(dist_info_dir: Path) -> dict[str, Any] | None:
    """The stamp of an installed distribution; ``None`` if it was not built by lock-build."""
    path = dist_info_dir / STAMP_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None  # unreadable counts as "not ours": sync then rebuilds, which is safe
    if not isinstance(data, dict) or not isinstance(data.get("fingerprint"), str):
        return None
    if not isinstance(data.get("pins"), dict):
        return None
    return data


def read_wheel_stamp(wheel: Path) -> dict[str, Any] | None:
    """The stamp inside a wheel file (before installation), or ``None``."""
    import zipfile

    try:
        with zipfile.ZipFile(wheel) as archive:
            dist_info = _dist_info_dir(wheel, archive)
            try:
                data = json.loads(archive.read(f"{dist_info}/{STAMP_NAME}"))
            except KeyError:
                return None
    except (zipfile.BadZipFile, OSError, ValueError, ArchiveError):
        return None
    return data if isinstance(data, dict) else None


__all__ = ["STAMP_NAME", "read_stamp", "read_wheel_stamp", "stamp_wheel"]
