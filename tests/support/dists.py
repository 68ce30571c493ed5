"""Factories that write real distributions for tests, with no build tool installed.

Wheels are written with `zipfile` (valid RECORD with sha256 hashes, so `pip` and
`installer` accept them). Sdists carry an in-tree PEP 517 backend (`lbbackend.py`, pure
standard library) configured by a JSON file, so they build under `pyproject_hooks`,
`pip wheel` and `pip install`, isolated or not.

The "ABI" simulation: an sdist made with `abi_provider="abiprov"` imports `abiprov` at build
time and records its `__version__` in the wheel (`<pkg>/_built_against.py`); the package's
`__init__` then refuses to import (ImportError mentioning "binary incompatibility") when the
installed `abiprov` differs — the numpy failure mode this project exists to prevent. With
`abi_rule="numpy"` it follows numpy's rule instead (a 2.x build also runs on 1.x).
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from . import lbbackend
from .lbbackend import filename_name, metadata_text

_BACKEND_SOURCE = Path(lbbackend.__file__).read_text(encoding="utf-8")

_ABI_CHECK = """
from importlib import import_module as _import_module


def _release(text):
    return tuple(int(part) for part in text.split("+")[0].split(".")[:3])


def _runs(built, installed):
    if installed == built:
        return True
    if _ABI_RULE != "numpy" or installed is None:
        return False  # "same": only the very version it was built against
    b, i = _release(built), _release(installed)
    if b[0] == 1:
        return i[0] == 1 and i >= b  # a 1.x build runs on later 1.x, never on 2.x
    return i[0] in (1, b[0]) and i >= (1, 19)  # a 2.x build runs back to 1.19


try:
    from . import _built_against as _built
except ImportError:  # not built by lbbackend with an ABI provider
    _built = None
if _built is not None:
    _installed = getattr(_import_module(_built.PROVIDER), "__version__", None)
    if not _runs(_built.BUILT_AGAINST, _installed):
        raise ImportError(
            f"{__name__} was built against {_built.PROVIDER} {_built.BUILT_AGAINST} but "
            f"{_built.PROVIDER} {_installed} is installed (binary incompatibility)"
        )
"""


def package_name(name: str) -> str:
    """The import package a factory-made distribution contains (`My-Pkg` -> `my_pkg`)."""
    return filename_name(name)


def _init_source(version: str, abi_check: bool = False, abi_rule: str = "same") -> str:
    source = f"__version__ = {version!r}\n"
    return source + f"_ABI_RULE = {abi_rule!r}\n" + _ABI_CHECK if abi_check else source


def make_wheel(
    dest: Path,
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    extras: Mapping[str, Sequence[str]] | None = None,
    tag: str = "py3-none-any",
    files: Mapping[str, str] | None = None,
    metadata_version: str = "2.1",
) -> Path:
    """Write a wheel into `dest` and return its path.

    - `requires`: Requires-Dist lines (markers allowed).
    - `extras`: extra name -> requirements; each becomes Provides-Extra plus Requires-Dist
      with `extra == "name"` (and-ed with the requirement's own marker).
    - `tag`: the wheel tag, also written as WHEEL `Tag:` lines (compressed sets expand).
    - `files`: extra members, path inside the wheel -> text; a `<pkg>/__init__.py` entry
      replaces the default one (which defines `__version__`).
    The archive is deterministic: the same arguments give the same bytes.
    """
    dest.mkdir(parents=True, exist_ok=True)
    pkg = package_name(name)
    members = {f"{pkg}/__init__.py": _init_source(version)}
    members.update(files or {})
    metadata = metadata_text(
        name,
        version,
        metadata_version=metadata_version,
        requires=requires,
        requires_python=requires_python,
        extras=extras,
    )
    basename = lbbackend.write_wheel(dest, name, version, metadata=metadata, files=members, tag=tag)
    return dest / basename


_DEFAULT = object()
BuildSystem = Literal["broken", "invalid-toml"] | None | Literal[False]


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


def _pyproject(
    name: str,
    version: str,
    *,
    requires: Sequence[str],
    requires_python: str | None,
    build_requires: Sequence[str],
    dynamic_requires_dist: bool,
    build_system: object,
) -> str:
    if build_system == "invalid-toml":
        return "[build-system\nrequires = [\n"
    parts: list[str] = []
    if build_system is _DEFAULT:
        parts.append(
            "[build-system]\n"
            f"requires = {_toml_list(build_requires)}\n"
            'build-backend = "lbbackend"\n'
            'backend-path = ["_backend"]\n'
        )
    elif build_system == "broken":
        parts.append('[build-system]\nrequires = "notalist"\nbuild-backend = "lbbackend"\n')
    project = f"[project]\nname = {json.dumps(name)}\nversion = {json.dumps(version)}\n"
    if requires_python:
        project += f"requires-python = {json.dumps(requires_python)}\n"
    if dynamic_requires_dist:
        project += 'dynamic = ["dependencies"]\n'
    else:
        project += f"dependencies = {_toml_list(requires)}\n"
    parts.append(project)
    if build_system is None:
        # setuptools (the PEP 517 fallback) must find the package without a setup.py.
        parts.append(f'[tool.setuptools]\npackages = ["{package_name(name)}"]\n')
    return "\n".join(parts)


def _setup_py(name: str, version: str, requires: Sequence[str], requires_python: str | None) -> str:
    return (
        "from setuptools import setup\n\n"
        "setup(\n"
        f"    name={name!r},\n"
        f"    version={version!r},\n"
        f"    packages=[{package_name(name)!r}],\n"
        f"    install_requires={list(requires)!r},\n"
        f"    python_requires={requires_python!r},\n"
        ")\n"
    )


def make_sdist(
    dest: Path,
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    extras: Mapping[str, Sequence[str]] | None = None,
    build_requires: Sequence[str] = (),
    dynamic_build_requires: Sequence[str] = (),
    metadata_version: str = "2.2",
    dynamic_requires_dist: bool = False,
    abi_provider: str | None = None,
    abi_rule: Literal["same", "numpy"] = "same",
    requires_from_build: bool = False,
    hook_error: str | None = None,
    build_error: str | None = None,
    build_system: BuildSystem | object = _DEFAULT,
    files: Mapping[str, str] | None = None,
) -> Path:
    """Write `<name>-<version>.tar.gz` (PEP 625 name) into `dest` and return its path.

    The tree is `<name>-<version>/` with pyproject.toml, PKG-INFO, `<pkg>/__init__.py` and,
    by default, an in-tree backend (`backend-path = ["_backend"]`, `build-backend =
    "lbbackend"`, `requires = build_requires`).

    - `requires` / `requires_python` / `extras`: the runtime metadata of the built wheel.
    - `dynamic_build_requires`: what `get_requires_for_build_wheel` returns.
    - `metadata_version`: PKG-INFO's Metadata-Version (< 2.2 means "not trustworthy").
    - `dynamic_requires_dist`: PKG-INFO says `Dynamic: Requires-Dist` and lists no
      requirements; the backend's prepared metadata is the only source.
    - `abi_provider`: a module imported at build time (must be importable in the build
      environment — declare it in `build_requires` for isolated builds); its `__version__`
      is baked into the wheel and checked at import (see module docstring). The runtime
      requirement on it is yours to put in `requires`.
    - `abi_rule`: which installed provider versions the built wheel imports next to:
      `"same"` (only the one it was built against, torch-like) or `"numpy"` (numpy's
      rule: a 1.x build runs on later 1.x; a 2.x build runs on 2.x and on 1.x >= 1.19).
    - `requires_from_build`: with `abi_provider`, the prepared/built metadata also requires
      `<provider>>=<version found at build time>` (like old numpy-based setup.py files).
    - `hook_error`: get_requires_for_build_wheel raises RuntimeError(hook_error).
    - `build_error`: build_wheel raises RuntimeError(build_error).
    - `build_system`: default = the in-tree backend; `None` = pyproject.toml without a
      [build-system] table (setuptools fallback); `False` = no pyproject.toml, a legacy
      setuptools `setup.py`; `"broken"` = `requires = "notalist"`; `"invalid-toml"` = a
      pyproject.toml that does not parse.
    - `files`: extra members, path relative to the sdist root -> text; files under
      `<pkg>/` also end up in the built wheel.
    """
    dest.mkdir(parents=True, exist_ok=True)
    pkg = package_name(name)
    base = f"{pkg}-{version}"
    dynamic = ["Requires-Dist"] if dynamic_requires_dist else []
    members: dict[str, str] = {
        "PKG-INFO": metadata_text(
            name,
            version,
            metadata_version=metadata_version,
            requires=() if dynamic_requires_dist else requires,
            requires_python=requires_python,
            extras=None if dynamic_requires_dist else extras,
            dynamic=dynamic,
        ),
        f"{pkg}/__init__.py": _init_source(
            version, abi_check=abi_provider is not None, abi_rule=abi_rule
        ),
    }
    if build_system is False:
        members["setup.py"] = _setup_py(name, version, requires, requires_python)
    else:
        members["pyproject.toml"] = _pyproject(
            name,
            version,
            requires=requires,
            requires_python=requires_python,
            build_requires=build_requires,
            dynamic_requires_dist=dynamic_requires_dist,
            build_system=build_system,
        )
    if build_system is _DEFAULT or build_system == "broken":
        config = {
            "name": name,
            "version": version,
            "requires": list(requires),
            "requires_python": requires_python,
            "extras": {k: list(v) for k, v in (extras or {}).items()},
            "dynamic_build_requires": list(dynamic_build_requires),
            "abi_provider": abi_provider,
            "requires_from_build": requires_from_build,
            "hook_error": hook_error,
            "build_error": build_error,
        }
        members[f"_backend/{lbbackend.CONFIG_NAME}"] = json.dumps(config, indent=2) + "\n"
        members["_backend/lbbackend.py"] = _BACKEND_SOURCE
    members.update(files or {})
    target = dest / f"{base}.tar.gz"
    lbbackend.write_tar_gz(
        target, [(f"{base}/{path}", text.encode("utf-8")) for path, text in members.items()]
    )
    return target


def make_bad_sdist(
    dest: Path,
    name: str,
    version: str,
    kind: Literal["traversal", "symlink-out", "absolute"],
) -> Path:
    """Write an sdist whose archive tries to escape the extraction directory.

    - `traversal`: a member named `<base>/../../escaped.txt`.
    - `symlink-out`: `<base>/escape` is a symlink to `../..`, followed by a member
      `<base>/escape/escaped.txt` written through it.
    - `absolute`: a member with an absolute path `/tmp/lock-build-escaped.txt`.
    The rest of the tree is a normal, buildable-looking sdist (PKG-INFO, pyproject.toml).
    """
    dest.mkdir(parents=True, exist_ok=True)
    base = f"{package_name(name)}-{version}"
    target = dest / f"{base}.tar.gz"

    def add_file(tar: tarfile.TarFile, path: str, text: str) -> None:
        data = text.encode("utf-8")
        info = tarfile.TarInfo(path)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))

    with tarfile.open(target, "w:gz", format=tarfile.GNU_FORMAT) as tar:
        add_file(tar, f"{base}/PKG-INFO", metadata_text(name, version, metadata_version="2.2"))
        add_file(
            tar, f"{base}/pyproject.toml", f'[project]\nname = "{name}"\nversion = "{version}"\n'
        )
        if kind == "traversal":
            add_file(tar, f"{base}/../../escaped.txt", "escaped\n")
        elif kind == "symlink-out":
            link = tarfile.TarInfo(f"{base}/escape")
            link.type = tarfile.SYMTYPE
            link.linkname = "../.."
            tar.addfile(link)
            add_file(tar, f"{base}/escape/escaped.txt", "escaped\n")
        elif kind == "absolute":
            add_file(tar, "/tmp/lock-build-escaped.txt", "escaped\n")
        else:
            raise ValueError(f"unknown bad sdist kind {kind!r}")
    return target
