"""make_plan from hand-written locks: stages, actions, fingerprints, cycles."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build.errors import LockfileError
from lock_build.lockfile import BuildEnvironment, Lock, LockedFile, LockedPackage, LockTarget
from lock_build.plan import InstalledDist, make_plan

TARGET = {
    "implementation": "cpython",
    "python-version": "3.11",
    "platform": "manylinux_2_36_x86_64",
}


def _file(name: str) -> LockedFile:
    return LockedFile(
        url=f"https://files.test/{name}", sha256=(name.encode().hex() * 64)[:64], filename=name
    )


def wheel(name: str, version: str, runtime: bool = True) -> LockedPackage:
    return LockedPackage(
        name=canonicalize_name(name),
        version=Version(version),
        runtime=runtime,
        wheels=(_file(f"{name}-{version}-py3-none-any.whl"),),
    )


def sdist(name: str, version: str, runtime: bool = True) -> LockedPackage:
    return LockedPackage(
        name=canonicalize_name(name),
        version=Version(version),
        runtime=runtime,
        sdist=_file(f"{name}-{version}.tar.gz"),
    )


def build(name: str, version: str, *pins: str, **kw: object) -> BuildEnvironment:
    return BuildEnvironment(
        package=canonicalize_name(name), version=Version(version), backend="be", pins=pins, **kw
    )  # type: ignore[arg-type]


def lock(*packages: LockedPackage, builds: tuple[BuildEnvironment, ...] = ()) -> Lock:
    return Lock(
        inputs_digest="d",
        input_files=(),
        command="c",
        targets=(LockTarget.from_values(TARGET),),
        packages=packages,
        builds=builds,
    )


def installed(**versions: str | tuple[str, str | None]) -> dict:
    result = {}
    for name, value in versions.items():
        version, fp = value if isinstance(value, tuple) else (value, None)
        key = canonicalize_name(name)
        result[key] = InstalledDist(name=key, version=version, fingerprint=fp)
    return result


DIAMOND = lock(
    wheel("numpy", "2.2.6"),
    sdist("cftime", "1.6.1"),
    sdist("pyworld", "0.3.5"),
    sdist("cython", "3.0.0", runtime=False),
    sdist("backend", "1.0", runtime=False),
    wheel("setuptools", "80.0", runtime=False),
    builds=(
        build("cftime", "1.6.1", "numpy==2.2.6", "cython==3.0.0", shared=("numpy",)),
        build("pyworld", "0.3.5", "numpy==2.2.6", "setuptools==80.0"),
        build("cython", "3.0.0", "backend==1.0", "setuptools==80.0"),
        build("backend", "1.0", "setuptools==80.0"),
    ),
)


def test_build_stages_follow_the_build_graph() -> None:
    plan = make_plan(DIAMOND)
    stages = [[s.key for s in stage] for stage in plan.build_stages]
    # independent builds share stage 1; cftime waits for cython, which waits for backend
    assert stages == [["backend==1.0", "pyworld==0.3.5"], ["cython==3.0.0"], ["cftime==1.6.1"]]
    cftime = plan.build_stages[2][0]
    assert [(p.name, p.built) for p in cftime.pins] == [("cython", True), ("numpy", False)]
    # every artifact fetched once, with its hash; the build-only wheel is fetched too
    assert [f.filename for f in plan.fetch] == [
        "backend-1.0.tar.gz",
        "cftime-1.6.1.tar.gz",
        "cython-3.0.0.tar.gz",
        "numpy-2.2.6-py3-none-any.whl",
        "pyworld-0.3.5.tar.gz",
        "setuptools-80.0-py3-none-any.whl",
    ]
    assert all(f.sha256 for f in plan.fetch)
    assert [(s.name, s.action, s.built) for s in plan.install] == [
        ("cftime", "install", True),
        ("numpy", "install", False),
        ("pyworld", "install", True),
    ]
    assert plan.remove == () and not plan.against_environment


def test_build_cycle_is_an_error_with_the_chain() -> None:
    cyclic = lock(
        sdist("a", "1"),
        sdist("b", "1", runtime=False),
        builds=(build("a", "1", "b==1"), build("b", "1", "a==1")),
    )
    with pytest.raises(LockfileError, match=r"cycle: a==1 needs b==1 \(to build\) needs a==1"):
        make_plan(cyclic)


def test_sdist_without_build_environment_is_an_error() -> None:
    with pytest.raises(LockfileError, match="no \\[\\[build\\]\\] environment"):
        make_plan(lock(sdist("a", "1")))


@pytest.mark.parametrize(
    ("have", "action"),
    [("2.0", "downgrade"), ("0.5", "upgrade"), ("1.0", None), (None, "install")],
)
def test_wheel_install_actions(have: str | None, action: str | None) -> None:
    env = installed(pkg=have) if have else {}
    plan = make_plan(lock(wheel("pkg", "1.0")), env)
    assert [s.action for s in plan.install] == ([action] if action else [])
    assert plan.changes is (action is not None)


def test_built_package_matches_only_with_the_locked_fingerprint() -> None:
    fresh = make_plan(DIAMOND)
    fps = {s.name: s.fingerprint for s in fresh.builds}
    env = installed(numpy="2.2.6", cftime=("1.6.1", fps["cftime"]), pyworld="0.3.5")
    plan = make_plan(DIAMOND, env)
    # pyworld was built by someone else (plain pip): reinstalled; cftime matches.
    assert [(s.name, s.action) for s in plan.install] == [("pyworld", "reinstall")]
    assert "not made by lock-build" in plan.install[0].reason
    assert [s.key for s in plan.builds] == ["pyworld==0.3.5"]  # only what is needed is built
    assert {f.filename for f in plan.fetch} == {
        "pyworld-0.3.5.tar.gz",
        "numpy-2.2.6-py3-none-any.whl",
        "setuptools-80.0-py3-none-any.whl",
    }
    assert sorted(plan.unchanged) == ["cftime==1.6.1", "numpy==2.2.6"]


def test_fingerprint_follows_every_pin_transitively() -> None:
    base = {s.name: s.fingerprint for s in make_plan(DIAMOND).builds}
    # a new setuptools changes backend's pins, so cython's and cftime's fingerprints too
    changed = lock(
        *[
            p if p.name != "setuptools" else wheel("setuptools", "81.0", runtime=False)
            for p in DIAMOND.packages
        ],
        builds=tuple(
            BuildEnvironment(
                **{
                    **{f: getattr(b, f) for f in b.__slots__},
                    "pins": tuple(p.replace("80.0", "81.0") for p in b.pins),
                }
            )
            for b in DIAMOND.builds
        ),
    )
    after = {s.name: s.fingerprint for s in make_plan(changed).builds}
    assert all(after[name] != base[name] for name in base)
    # config settings count too
    cfg = lock(
        *DIAMOND.packages,
        builds=tuple(
            BuildEnvironment(
                **{
                    **{f: getattr(b, f) for f in b.__slots__},
                    "config_settings": (("opt", "1"),) if b.package == "pyworld" else (),
                }
            )
            for b in DIAMOND.builds
        ),
    )
    cfg_fps = {s.name: s.fingerprint for s in make_plan(cfg).builds}
    assert cfg_fps["pyworld"] != base["pyworld"] and cfg_fps["cftime"] == base["cftime"]


def test_remove_spares_kept_names() -> None:
    env = installed(pkg="1.0", pip="25.0", extra="1.0", **{"lock-build": "0.1"})
    plan = make_plan(lock(wheel("pkg", "1.0")), env, keep={"pip", "Lock_Build"})
    assert [(r.name, r.version) for r in plan.remove] == [("extra", "1.0")]
    assert plan.changes
