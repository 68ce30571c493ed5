"""Wheels unpacked beside the environment while the rest still downloads, moved in later.

The builtin installer must not write into the environment before every wheel's files
have been checked against the others (two wheels writing one file is an error before
anything changes), and that check needs every wheel. Unpacking is most of a sync's work,
so waiting for the last download before starting it left the unpack workers idle for
the whole fetch. A staging area lets them start on the first wheel that arrives.

The area is a directory in the target's prefix that mirrors the prefix's layout, one
tree per wheel: ``<prefix>/.lock-build-staging-<pid>-<random>/<n>/lib/python3.X/
site-packages/...``. A wheel unpacked there has the same relative paths as one unpacked
in place (its RECORD, which names files relative to the library directory, is the same
bytes) and the same shebangs (they name the target interpreter). Moving it in is a
rename of each directory the environment does not have yet and a merge of the others
(``site-packages``, ``bin``, a namespace package another wheel made): a handful of
system calls per wheel instead of one write per file.

Staging is only used where renames are sure to work: a virtual environment whose scheme
directories are all inside its prefix and on the prefix's filesystem. Elsewhere the
installer unpacks in place after the check, as before. An area left by a process that
was killed is removed by the next one that stages into the same environment.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping

__all__ = ["STAGING_PREFIX", "StagingArea"]

STAGING_PREFIX = ".lock-build-staging-"


class StagingArea:
    """One sync's staging directory in ``prefix``; :meth:`tree` names one wheel's mirror."""

    def __init__(self, prefix: str, root: str) -> None:
        self.prefix = prefix
        self.root = root

    @classmethod
    def create(cls, prefix: str, targets: Iterable[str]) -> StagingArea | None:
        """A new area in ``prefix``, or None where renames from it into ``targets`` (the
        scheme directories) might not work: one is outside the prefix or on another
        filesystem, or the prefix is not writable."""
        if os.name != "posix":  # where a dead process is told apart with kill(pid, 0)
            return None
        prefix = os.path.abspath(prefix)
        targets = [os.path.abspath(target) for target in targets]
        if not all(_inside(prefix, target) for target in targets):
            return None
        _remove_abandoned(prefix)
        try:
            root = tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=prefix)
            device = os.stat(root).st_dev
            if any(os.stat(_existing_ancestor(t)).st_dev != device for t in targets):
                shutil.rmtree(root, ignore_errors=True)
                return None
        except OSError:
            return None
        return cls(prefix, root)

    def tree(self, index: int) -> str:
        """The mirror of the prefix that wheel number ``index`` is unpacked into."""
        return os.path.join(self.root, str(index))

    def staged(self, index: int, scheme: Mapping[str, str]) -> dict[str, str]:
        """``scheme`` (directories in the prefix) as they are in wheel ``index``'s mirror."""
        tree = self.tree(index)
        return {
            key: os.path.join(tree, os.path.relpath(os.path.abspath(path), self.prefix))
            for key, path in scheme.items()
        }

    def final(self, index: int, path: str) -> str:
        """Where ``path``, in wheel ``index``'s mirror, is once the wheel is moved in."""
        tree = self.tree(index) + os.sep
        if not path.startswith(tree):
            raise ValueError(f"{path} is not in the staging tree of wheel {index}")
        return os.path.join(self.prefix, path[len(tree) :])

    def move_in(self, index: int) -> None:
        """Move wheel ``index``'s files into the prefix: a directory the prefix lacks is
        renamed whole, one it has is merged into, a file replaces the one it finds (as
        the installer overwrites a stray file). Raises OSError where that cannot be done
        (a file where the wheel has a directory)."""
        _merge(self.tree(index), self.prefix)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _merge(source: str, destination: str) -> None:
    with os.scandir(source) as entries:
        for entry in entries:
            target = os.path.join(destination, entry.name)
            # isdir follows a symlink: a venv's lib64 -> lib is merged into, as writing
            # through it in place would.
            if entry.is_dir(follow_symlinks=False) and os.path.isdir(target):
                _merge(entry.path, target)
            elif entry.is_dir(follow_symlinks=False) or not os.path.lexists(target):
                os.rename(entry.path, target)
            else:
                os.replace(entry.path, target)


def _inside(prefix: str, path: str) -> bool:
    return os.path.commonpath((prefix, path)) == prefix  # the prefix itself too ("data")


def _existing_ancestor(path: str) -> str:
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _remove_abandoned(prefix: str) -> None:
    """Remove staging areas whose process is gone (killed mid-sync): never another live
    sync's."""
    try:
        names = [name for name in os.listdir(prefix) if name.startswith(STAGING_PREFIX)]
    except OSError:
        return
    for name in names:
        pid, _, _ = name[len(STAGING_PREFIX) :].partition("-")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(prefix, name), ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours to signal
        return True
    return True
