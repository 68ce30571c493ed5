"""Unpack sdists and zips without letting a hostile archive write outside its directory.

Every archive is checked before anything is written: member paths, links, devices,
and the total unpacked size and member count (a small sdist can expand to gigabytes).
Tar files are then extracted with tarfile's "data" filter where this Python has it
(3.11.4+), else with the same rules applied here.
"""

from __future__ import annotations

import copy
import lzma
import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lock_build.errors import ArchiveError

__all__ = ["ExtractLimits", "extract_archive"]

_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar")
_MIB = 1 << 20


@dataclass(frozen=True, kw_only=True, slots=True)
class ExtractLimits:
    """The most an archive may unpack to. Large enough for real sdists (scipy's is about
    100 MB unpacked); raise them with LOCK_BUILD_MAX_UNPACKED_MB / LOCK_BUILD_MAX_MEMBERS."""

    max_bytes: int = 2048 * _MIB
    max_members: int = 200_000

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ExtractLimits:
        default = cls()
        return cls(
            max_bytes=_positive(environ, "LOCK_BUILD_MAX_UNPACKED_MB", default.max_bytes // _MIB)
            * _MIB,
            max_members=_positive(environ, "LOCK_BUILD_MAX_MEMBERS", default.max_members),
        )


def _positive(environ: Mapping[str, str], key: str, default: int) -> int:
    text = environ.get(key, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) <= 0:
        raise ArchiveError(f"{key}={text!r} is not a positive whole number.")
    return int(text)


def extract_archive(archive: Path, dest: Path, limits: ExtractLimits | None = None) -> Path:
    """Extract ``archive`` into ``dest``; return its single top-level directory if it has one.

    sdists hold one ``<name>-<version>/`` directory, which is what a build runs in;
    archives without one return ``dest`` itself. ``limits`` default to the environment's.
    """
    limits = limits or ExtractLimits.from_environ(os.environ)
    dest.mkdir(parents=True, exist_ok=True)
    name = archive.name.lower()
    try:
        if name.endswith(".zip") or name.endswith(".whl"):
            names = _extract_zip(archive, dest, limits)
        elif name.endswith(_TAR_SUFFIXES):
            names = _extract_tar(archive, dest, limits)
        else:
            raise ArchiveError(f"{archive.name} is not a .tar.gz or .zip archive.", path=archive)
    except ArchiveError:
        raise
    except (
        tarfile.TarError,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        lzma.LZMAError,
        OSError,
        EOFError,
        ValueError,  # bad headers, bad CRCs, NUL bytes in names ...
        NotImplementedError,  # an unsupported zip compression method
        RuntimeError,  # an encrypted zip member
    ) as exc:
        raise ArchiveError(
            f"The archive {archive.name} cannot be unpacked ({exc}).", path=archive
        ) from exc
    tops = {PurePosixPath(n).parts[0] for n in names if PurePosixPath(n).parts}
    if len(tops) == 1:
        top = dest / tops.pop()
        if top.is_dir():
            return top
    return dest


def _check_member_path(archive: Path, member: str) -> None:
    path = PurePosixPath(member.replace("\\", "/"))
    drive = bool(path.parts) and ":" in path.parts[0]  # "C:/..." from a Windows-made zip
    if path.is_absolute() or member.startswith(("/", "\\")) or drive:
        raise ArchiveError(
            f"The archive {archive.name} holds an absolute path {member!r}; refusing it.",
            path=archive,
        )
    if ".." in path.parts:
        raise ArchiveError(
            f"The archive {archive.name} holds a member {member!r} that escapes its directory; "
            "refusing it.",
            path=archive,
        )


def _check_size(archive: Path, members: int, total: int, limits: ExtractLimits) -> None:
    if members > limits.max_members:
        raise ArchiveError(
            f"The archive {archive.name} holds more than the limit of {limits.max_members} "
            "members; refusing it.",
            path=archive,
            hint="If it is genuine, raise LOCK_BUILD_MAX_MEMBERS.",
        )
    if total > limits.max_bytes:
        raise ArchiveError(
            f"The archive {archive.name} unpacks to more than the limit of "
            f"{limits.max_bytes // _MIB} MiB (at least {total / _MIB:.1f} MiB); refusing it.",
            path=archive,
            hint="If it is genuine, raise LOCK_BUILD_MAX_UNPACKED_MB.",
        )


def _extract_tar(archive: Path, dest: Path, limits: ExtractLimits) -> list[str]:
    with tarfile.open(archive) as tf:
        members = []
        total = 0
        # Read headers one by one, so a bomb of members is refused before it is all read.
        for member in tf:
            members.append(member)
            total += member.size if member.isreg() else 0
            _check_size(archive, len(members), total, limits)
        for member in members:
            _check_member_path(archive, member.name)
            if member.isdev() or member.isfifo():
                raise ArchiveError(
                    f"The archive {archive.name} holds a device or pipe {member.name!r}; "
                    "refusing it.",
                    path=archive,
                )
            if member.issym() or member.islnk():
                _check_link(archive, member)
        if hasattr(tarfile, "data_filter"):
            try:
                # The "data" filter also strips setuid bits and rejects what we missed.
                tf.extractall(dest, members=members, filter="data")
            except tarfile.FilterError as exc:
                raise ArchiveError(
                    f"The archive {archive.name} holds an unsafe member "
                    f"{exc.tarinfo.name!r} ({exc}); refusing it.",
                    path=archive,
                ) from exc
        else:
            tf.extractall(dest, members=[_data_member(m) for m in members])
        return [m.name for m in members]


def _data_member(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """What the "data" filter does beyond the checks above, for Pythons before 3.11.4:
    no setuid/setgid/sticky bits, no group/other write, owner read/write kept, and no
    owner or group taken from the archive."""
    safe = copy.copy(member)
    if member.isreg() or member.islnk():
        mode = member.mode & 0o755 | 0o600
        safe.mode = mode if mode & 0o100 else mode & ~0o011
    else:
        safe.mode = 0o755  # the filter leaves directories to the umask
    safe.uid = safe.gid = 0
    safe.uname = safe.gname = ""
    return safe


def _check_link(archive: Path, member: tarfile.TarInfo) -> None:
    target = PurePosixPath(member.linkname)
    # Hard links name a member path; symlinks are relative to the link's directory.
    base = PurePosixPath() if member.islnk() else PurePosixPath(member.name).parent
    depth = 0
    for part in (base / target).parts if not target.is_absolute() else ("/",):
        if part == "/":
            depth = -1
            break
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            break
    if depth < 0:
        raise ArchiveError(
            f"The archive {archive.name} holds a link {member.name!r} -> {member.linkname!r} "
            "pointing outside it; refusing it.",
            path=archive,
        )


def _extract_zip(archive: Path, dest: Path, limits: ExtractLimits) -> list[str]:
    root = dest.resolve()
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        # zipfile never writes more than a member's declared size.
        _check_size(archive, len(infos), sum(i.file_size for i in infos), limits)
        for info in infos:
            _check_member_path(archive, info.filename)
            mode = info.external_attr >> 16
            if mode and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)):
                raise ArchiveError(
                    f"The archive {archive.name} holds a device or pipe {info.filename!r}; "
                    "refusing it.",
                    path=archive,
                )
            target = (root / info.filename).resolve()
            if not target.is_relative_to(root):
                raise ArchiveError(
                    f"The archive {archive.name} holds a member {info.filename!r} that escapes "
                    "its directory; refusing it.",
                    path=archive,
                )
        for info in infos:
            # zipfile writes symlink entries as small regular files, so they cannot escape.
            path = Path(zf.extract(info, dest))
            mode = info.external_attr >> 16
            if not info.is_dir() and mode & 0o111:
                path.chmod(0o755)
        return [i.filename for i in infos]
