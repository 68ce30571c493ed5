"""Unpack sdists and zips without letting a hostile archive write outside its directory."""

from __future__ import annotations

import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from lock_build.errors import ArchiveError

_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar")


def extract_archive(archive: Path, dest: Path) -> Path:
    """Extract ``archive`` into ``dest``; return its single top-level directory if it has one.

    sdists hold one ``<name>-<version>/`` directory, which is what a build runs in;
    archives without one return ``dest`` itself.
    """
    dest.mkdir(parents=True, exist_ok=True)
    name = archive.name.lower()
    try:
        if name.endswith(".zip") or name.endswith(".whl"):
            names = _extract_zip(archive, dest)
        elif name.endswith(_TAR_SUFFIXES):
            names = _extract_tar(archive, dest)
        else:
            raise ArchiveError(f"{archive.name} is not a .tar.gz or .zip archive.")
    except ArchiveError:
        raise
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ArchiveError(f"The archive {archive.name} cannot be unpacked ({exc}).") from exc
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
            f"The archive {archive.name} holds an absolute path {member!r}; refusing it."
        )
    if ".." in path.parts:
        raise ArchiveError(
            f"The archive {archive.name} holds a member {member!r} that escapes its directory; "
            "refusing it."
        )


def _extract_tar(archive: Path, dest: Path) -> list[str]:
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for member in members:
            _check_member_path(archive, member.name)
            if member.isdev() or member.isfifo():
                raise ArchiveError(
                    f"The archive {archive.name} holds a device or pipe {member.name!r}; "
                    "refusing it."
                )
            if member.issym() or member.islnk():
                _check_link(archive, member)
        try:
            # The "data" filter also strips setuid bits and rejects what we missed.
            tf.extractall(dest, members=members, filter="data")
        except tarfile.FilterError as exc:
            raise ArchiveError(
                f"The archive {archive.name} holds an unsafe member {exc.tarinfo.name!r} ({exc}); "
                "refusing it."
            ) from exc
        return [m.name for m in members]


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
            "pointing outside it; refusing it."
        )


def _extract_zip(archive: Path, dest: Path) -> list[str]:
    root = dest.resolve()
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:
            _check_member_path(archive, info.filename)
            mode = info.external_attr >> 16
            if mode and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)):
                raise ArchiveError(
                    f"The archive {archive.name} holds a device or pipe {info.filename!r}; "
                    "refusing it."
                )
            target = (root / info.filename).resolve()
            if not target.is_relative_to(root):
                raise ArchiveError(
                    f"The archive {archive.name} holds a member {info.filename!r} that escapes "
                    "its directory; refusing it."
                )
        for info in infos:
            # zipfile writes symlink entries as small regular files, so they cannot escape.
            path = Path(zf.extract(info, dest))
            mode = info.external_attr >> 16
            if not info.is_dir() and mode & 0o111:
                path.chmod(0o755)
        return [i.filename for i in infos]
