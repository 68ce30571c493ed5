"""A tiny PEP 517 build backend, pure standard library, copied verbatim into test sdists.

`tests/support/dists.make_sdist` writes this file as `_backend/lbbackend.py` next to a JSON
config (`_backend/lbconfig.json`) that says what to build; the backend is loaded through
`[build-system] backend-path`, so no build tool has to be installed to build the sdist.
The same wheel-writing helpers are reused by `make_wheel`, so every test wheel is written
the same way (deterministic zip: fixed timestamps, sorted members).
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import re
import tarfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

CONFIG_NAME = "lbconfig.json"
# Fixed timestamp so the same inputs give byte-identical archives (stable sha256 in tests).
ZIP_DATE = (2020, 1, 1, 0, 0, 0)
TAR_MTIME = 1577836800


def normalize(name: str) -> str:
    """PEP 503 name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def filename_name(name: str) -> str:
    """The form of a project name used in wheel/sdist filenames and as the import package."""
    return normalize(name).replace("-", "_")


def extra_requirement(req: str, extra: str) -> str:
    """Attach `extra == "x"` to a requirement, keeping any marker it already has."""
    if ";" in req:
        spec, marker = req.split(";", 1)
        return f'{spec.strip()} ; ({marker.strip()}) and extra == "{extra}"'
    return f'{req.strip()} ; extra == "{extra}"'


def metadata_text(
    name: str,
    version: str,
    *,
    metadata_version: str = "2.1",
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    extras: Mapping[str, Sequence[str]] | None = None,
    dynamic: Sequence[str] = (),
) -> str:
    """Core metadata (METADATA / PKG-INFO) in email-header form."""
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines += [f"Dynamic: {field}" for field in dynamic]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {req}" for req in requires]
    for extra, reqs in (extras or {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f"Requires-Dist: {extra_requirement(req, extra)}" for req in reqs]
    return "\n".join(lines) + "\n\n"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def expand_tag(tag: str) -> list[str]:
    """`py2.py3-none-any` -> ["py2-none-any", "py3-none-any"] (compressed tag sets)."""
    py, abi, plat = tag.split("-")
    return [
        f"{p}-{a}-{pl}" for p in py.split(".") for a in abi.split(".") for pl in plat.split(".")
    ]


def write_wheel(
    wheel_dir: str | os.PathLike[str],
    name: str,
    version: str,
    *,
    metadata: str,
    files: Mapping[str, str | bytes],
    tag: str = "py3-none-any",
) -> str:
    """Write `<name>-<version>-<tag>.whl` with WHEEL and a sha256 RECORD; return its basename."""
    dist = filename_name(name)
    dist_info = f"{dist}-{version}.dist-info"
    wheel_meta = "Wheel-Version: 1.0\nGenerator: lbbackend\nRoot-Is-Purelib: true\n"
    wheel_meta += "".join(f"Tag: {t}\n" for t in expand_tag(tag)) + "\n"
    members: dict[str, bytes] = {
        path: data.encode("utf-8") if isinstance(data, str) else data
        for path, data in files.items()
    }
    members[f"{dist_info}/METADATA"] = metadata.encode("utf-8")
    members[f"{dist_info}/WHEEL"] = wheel_meta.encode("utf-8")
    record_path = f"{dist_info}/RECORD"
    record = "".join(
        f"{path},{_record_hash(data)},{len(data)}\n" for path, data in sorted(members.items())
    )
    members[record_path] = (record + f"{record_path},,\n").encode("utf-8")

    basename = f"{dist}-{version}-{tag}.whl"
    Path(wheel_dir).mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(Path(wheel_dir, basename), "w", zipfile.ZIP_DEFLATED) as zf:
        # RECORD last, as wheel builders conventionally do.
        for path in sorted(members, key=lambda p: (p == record_path, p)):
            info = zipfile.ZipInfo(path, date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, members[path])
    return basename


def write_tar_gz(target: str | os.PathLike[str], entries: Iterable[tuple[str, bytes]]) -> None:
    """Write a gzip tarball of regular files with fixed metadata (reproducible)."""
    import gzip
    import io

    Path(target).parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=TAR_MTIME, filename="") as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for path, data in sorted(entries):
                    info = tarfile.TarInfo(path)
                    info.size = len(data)
                    info.mtime = TAR_MTIME
                    info.mode = 0o644
                    tar.addfile(info, io.BytesIO(data))


# --- the PEP 517 hooks -------------------------------------------------------------------


def _config() -> dict:
    return json.loads(Path(__file__).with_name(CONFIG_NAME).read_text(encoding="utf-8"))


def _provider_version(cfg: dict) -> str:
    provider = cfg["abi_provider"]
    try:
        module = importlib.import_module(provider)
    except ImportError as exc:
        raise RuntimeError(
            f"lbbackend: cannot build {cfg['name']}: its build needs {provider!r}, which is not "
            f"importable in the build environment ({exc})"
        ) from exc
    return str(getattr(module, "__version__", "unknown"))


def _requires(cfg: dict) -> list[str]:
    reqs = list(cfg["requires"])
    if cfg.get("requires_from_build") and cfg.get("abi_provider"):
        reqs.append(f"{cfg['abi_provider']}>={_provider_version(cfg)}")
    return reqs


def _wheel_metadata(cfg: dict) -> str:
    return metadata_text(
        cfg["name"],
        cfg["version"],
        metadata_version="2.1",
        requires=_requires(cfg),
        requires_python=cfg.get("requires_python"),
        extras=cfg.get("extras") or {},
    )


def _pause(hook: str) -> None:
    """Tests of interruptions: with LB_TEST_PAUSE_DIR set, a hook says it runs (its pid in
    <dir>/<hook>.pid) and waits to be stopped."""
    where = os.environ.get("LB_TEST_PAUSE_DIR")
    if where:
        import time

        Path(where, f"{hook}.pid").write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(300)


def get_requires_for_build_wheel(config_settings=None):
    _pause("get_requires_for_build_wheel")
    cfg = _config()
    if cfg.get("hook_error"):
        raise RuntimeError(cfg["hook_error"])
    return list(cfg.get("dynamic_build_requires", []))


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    cfg = _config()
    dist_info = f"{filename_name(cfg['name'])}-{cfg['version']}.dist-info"
    target = Path(metadata_directory, dist_info)
    target.mkdir(parents=True, exist_ok=True)
    (target / "METADATA").write_text(_wheel_metadata(cfg), encoding="utf-8")
    return dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _pause("build_wheel")
    cfg = _config()
    if cfg.get("build_error"):
        raise RuntimeError(cfg["build_error"])
    pkg = filename_name(cfg["name"])
    files: dict[str, bytes] = {}
    # The hooks run with the unpacked source tree as the working directory.
    for path in sorted(Path(pkg).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[path.as_posix()] = path.read_bytes()
    if cfg.get("abi_provider"):
        built = _provider_version(cfg)
        files[f"{pkg}/_built_against.py"] = (
            f"PROVIDER = {cfg['abi_provider']!r}\nBUILT_AGAINST = {built!r}\n"
        ).encode()
    return write_wheel(
        wheel_directory,
        cfg["name"],
        cfg["version"],
        metadata=_wheel_metadata(cfg),
        files=files,
        tag=cfg.get("wheel_tag", "py3-none-any"),
    )


def build_sdist(sdist_directory, config_settings=None):
    cfg = _config()
    base = f"{filename_name(cfg['name'])}-{cfg['version']}"
    entries = [
        (f"{base}/{path.as_posix()}", path.read_bytes())
        for path in sorted(Path(".").rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    ]
    write_tar_gz(Path(sdist_directory, base + ".tar.gz"), entries)
    return base + ".tar.gz"
