"""What a probe said about an interpreter, kept until the interpreter could answer otherwise.

Asking an interpreter for its platform and paths starts a Python (tens of milliseconds),
and a sync with nothing to do asks every time. The answer depends only on files we can
watch, so it is kept in the cache (the one JSON format of :mod:`lock_build.cache`) with
a *stamp* of those files, and reused while the stamp is unchanged:

- the executable as named and as resolved (a venv's ``bin/python`` is a symlink: a new
  base interpreter is a new inode, size, mtime or ctime), and ``pyvenv.cfg`` beside it
  or one directory up (PEP 405), as uv keys its own interpreter cache;
- the machine: kernel and C library (they feed markers and manylinux tags), and the few
  environment variables ``sysconfig`` reads even in isolated mode;
- the site directories whose ``.pth`` files build ``sys.path``: each ``.pth`` file's
  digest and whether the directories it names exist (``site`` adds only those that do),
  and the files of the modules ``site`` runs from there (those a ``.pth`` import line
  names, ``sitecustomize``, ``usercustomize``): the code that could change the answer.
  Not the directory's mtime: installing an ordinary distribution changes it and not the
  answer, so a sync's check after installing, and the next sync, reuse the probe.

What is *installed* is never cached: sync reads the distributions fresh every run.
A stamp that differs is a miss (said at debug level), the interpreter is asked again and
the entry rewritten; an entry that is not of this shape is dropped by ``read_entry``.
A change made by another process *while* the probe runs can be missed until the next
change to the same files; sync does not promise more than that against concurrent
writers anyway.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from lock_build.cache import CacheEntryError, expect_dict, expect_str, read_entry, write_entry

__all__ = ["KIND", "entry_path", "load", "stamp", "store"]

T = TypeVar("T")

log = logging.getLogger("lock_build.cache")

# Bumped when the probe's answer or the stamp changes shape.
KIND = "interpreter-1"

# Read by sysconfig / platform even under -I (which ignores only PYTHON* variables).
_ENVIRONMENT = (
    "_PYTHON_HOST_PLATFORM",
    "_PYTHON_SYSCONFIGDATA_NAME",
    "MACOSX_DEPLOYMENT_TARGET",
    "SYSTEM_VERSION_COMPAT",
    "__PYVENV_LAUNCHER__",
)


def entry_path(cache_dir: Path, interpreter: Path) -> Path:
    """One entry per interpreter path as named (not resolved: two venvs share a binary)."""
    key = hashlib.sha256(os.fsencode(interpreter)).hexdigest()
    return cache_dir / "interpreters" / key[:2] / f"{key}.json"


def stamp(interpreter: Path, site_dirs: Sequence[str]) -> dict[str, object]:
    """What the probe's answer depends on, as plain JSON values (compared for equality)."""
    resolved = os.path.realpath(interpreter)
    return {
        "interpreter": str(interpreter),
        "named": _stat(str(interpreter), follow=False),
        "resolved": [resolved, _stat(resolved, follow=True)],
        "pyvenv.cfg": [
            _stat(str(where / "pyvenv.cfg"), follow=True)
            for where in (interpreter.parent, interpreter.parent.parent)
        ],
        "machine": _machine(),
        "environment": [os.environ.get(name) for name in _ENVIRONMENT],
        "site-dirs": {site: _site_dir(site) for site in site_dirs},
    }


def load(cache_dir: Path, interpreter: Path, parse: Callable[[dict[str, object]], T]) -> T | None:
    """The cached answer for ``interpreter`` through ``parse``, if its stamp still holds."""
    path = entry_path(cache_dir, interpreter)
    # The stamp first: an entry of an interpreter that changed since (or of an older
    # lock-build, whose answers had fewer fields) is a plain miss, never parsed.
    return read_entry(path, KIND, lambda value: _answer_if_fresh(value, interpreter, parse))


def store(
    cache_dir: Path, interpreter: Path, answer: dict[str, object], site_dirs: Sequence[str]
) -> None:
    """Keep ``answer`` (the probe's raw JSON) with the stamp of ``interpreter`` now."""
    value = {"stamp": stamp(interpreter, site_dirs), "answer": answer}
    write_entry(entry_path(cache_dir, interpreter), KIND, value)


def _answer_if_fresh(
    value: object, interpreter: Path, parse: Callable[[dict[str, object]], T]
) -> T | None:
    """The entry's answer through ``parse`` if its stamp is ``interpreter``'s now."""
    entry = expect_dict(value, "value")
    kept = expect_dict(entry.get("stamp"), "stamp")
    if expect_str(kept.get("interpreter"), "stamp.interpreter") != str(interpreter):
        raise CacheEntryError("the entry is another interpreter's")
    site_dirs = expect_dict(kept.get("site-dirs"), "stamp.site-dirs")
    if kept != stamp(interpreter, list(site_dirs)):
        log.debug("%s changed since it was last asked; asking it again", interpreter)
        return None
    return parse(expect_dict(entry.get("answer"), "answer"))


def _stat(path: str, *, follow: bool) -> list[int] | None:
    try:
        found = os.stat(path, follow_symlinks=follow)
    except OSError:
        return None
    # ctime too: a file copied into place with its old mtime (and, often, a recycled
    # inode number) still has a new ctime.
    return [found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns]


def _machine() -> list[str | None]:
    """The kernel (its release and build feed the platform markers) and the C library."""
    uname = getattr(os, "uname", None)  # POSIX only
    if uname is not None:
        kernel = [str(part) for part in uname()]
    else:
        kernel = [sys.platform, repr(getattr(sys, "getwindowsversion", lambda: None)())]
    return [*kernel, _libc()]


def _libc() -> str | None:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, OSError, ValueError):
        return None


# Modules site.py imports once the site directories are on sys.path.
_CUSTOMIZE = ("sitecustomize", "usercustomize")


def _site_dir(site: str) -> dict[str, object] | None:
    """A site directory's .pth files, as ``site.addsitedir`` reads them, and the files of
    the modules they import (and the customize modules) found there."""
    try:
        entries = sorted(os.listdir(site))
    except OSError:
        return None
    pth: dict[str, object] = {}
    modules = set(_CUSTOMIZE)
    for name in (n for n in entries if n.endswith(".pth")):
        try:
            data = Path(site, name).read_bytes()
        except OSError:
            pth[name] = None
            continue
        # site.addpackage: comments add nothing, import lines run code, any other line
        # adds the directory it names, if that exists.
        lines = data.decode("utf-8", "replace").splitlines()
        named = []
        for line in lines:
            if line.startswith(("import ", "import\t")):
                modules.update(_imported(line))
            elif line.strip() and not line.startswith("#"):
                named.append(line.rstrip())
        exists = [os.path.exists(os.path.join(site, line)) for line in named]
        pth[name] = [hashlib.sha256(data).hexdigest(), exists]
    code = {
        entry: _stat(os.path.join(site, entry), follow=True)
        for entry in entries
        if entry.split(".", 1)[0] in modules
    }
    for entry in list(code):  # a package: its __init__ is what runs
        if "." not in entry:
            init = os.path.join(entry, "__init__.py")
            code[init] = _stat(os.path.join(site, init), follow=True)
    return {"pth": pth, "code": code}


def _imported(line: str) -> set[str]:
    """The top-level modules the first statement of a .pth import line names
    (``import a.b, c as d; a.install()``: a and c)."""
    statement = line.split(";", 1)[0][len("import") :]
    return {part.split()[0].split(".", 1)[0] for part in statement.split(",") if part.split()}
