"""`lock-build compile`: the user's controls over build environments, and legacy sdists.

-b / --build-constraint, --extra-build-requires, --config-settings-package,
--no-build-isolation-package, --upgrade-package on build pins; an sdist with only a
setup.py (pip's legacy setuptools default, with the real setuptools wheel).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_compile_builds_support import builds, compile_lock, entries, pins, runtime_versions

from support import lbbackend

# A backend whose get_requires_for_build_wheel depends on its config settings: `k=v` asks
# for `dyntool`. It wraps the factory's lbbackend (renamed) for every other hook.
_CONFIG_BACKEND = """
from lbbackend_real import *  # noqa: F401,F403


def get_requires_for_build_wheel(config_settings=None):
    if (config_settings or {}).get("k") == "v":
        return ["dyntool"]
    return []
"""


@pytest.fixture(scope="module")
def index(index_server, tmp_path_factory):  # noqa: ANN001, ANN201
    idx = index_server.new_index(directory=tmp_path_factory.mktemp("compile-controls-index"))
    idx.add_wheel("abiprov", "1.0")
    idx.add_wheel("abiprov", "2.0")
    idx.add_wheel("tool", "1.0")
    idx.add_wheel("tool", "2.0")
    idx.add_wheel("helper", "1.0")
    idx.add_wheel("helper", "2.0")
    idx.add_wheel("dyntool", "1.0")
    idx.add_sdist("anyt", "1.0", build_requires=["tool"])
    idx.add_sdist("shr", "1.0", build_requires=["helper"], requires=["tool"])
    # Under-declares: imports abiprov while building, declares nothing.
    idx.add_sdist("under", "1.0", abi_provider="abiprov", requires=["abiprov"])
    idx.add_sdist("bt2only", "2.0", build_requires=["abiprov==2.0"])
    idx.add_sdist(
        "cfgx",
        "1.0",
        files={
            "_backend/lbbackend.py": _CONFIG_BACKEND,
            "_backend/lbbackend_real.py": Path(lbbackend.__file__).read_text(encoding="utf-8"),
        },
    )
    # Both a wheel and an sdist: built only under --no-binary.
    idx.add_wheel("both", "1.0")
    idx.add_sdist("both", "1.0", build_requires=["tool<2"])
    # For --upgrade-package: a newer uptool appears after the first lock.
    idx.add_wheel("uptool", "1.0")
    idx.add_sdist("upt", "1.0", build_requires=["uptool"])
    yield idx
    index_server.remove_index(idx)


def test_build_constraint_narrows_a_build_pin(index, tmp_path: Path) -> None:  # noqa: ANN001
    free = compile_lock(tmp_path / "free", index.url, ["anyt"])
    assert pins(builds(free.lock)["anyt"]) == {"tool": "2.0"}
    narrowed = compile_lock(
        tmp_path / "narrowed",
        index.url,
        ["anyt"],
        "-b",
        "build-constraints.txt",
        files={"build-constraints.txt": "tool<2\n"},
    )
    lock = narrowed.lock
    assert pins(builds(lock)["anyt"]) == {"tool": "1.0"}
    assert list(entries(lock, "tool")) == ["1.0"]
    # The constraint is not a runtime requirement.
    assert runtime_versions(lock) == {"anyt": "1.0"}


def test_build_constraint_is_never_overridden_by_a_substitution(index, tmp_path: Path) -> None:  # noqa: ANN001
    # The runtime pins abiprov 1.0, the sdist declares abiprov==2.0, and -b insists on 2.0:
    # substituting 1.0 would override the constraint, so it is an error, not a lock.
    run = compile_lock(
        tmp_path,
        index.url,
        ["abiprov==1.0", "bt2only"],
        "--match-runtime",
        "abiprov",
        "-b",
        "bc.txt",
        files={"bc.txt": "abiprov==2.0\n"},
    )
    assert run.code == 2
    error = run.error
    assert "bt2only 2.0" in error
    # The explanation names both sides: the runtime pin and the -b constraint.
    assert "abiprov==1.0" in error, error
    assert "bc.txt" in error or "-b" in error, error
    assert not run.lockfile.exists()


def test_extra_build_requires_adds_a_pin(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["anyt"], "--extra-build-requires", "anyt:helper<2")
    lock = run.lock
    anyt = builds(lock)["anyt"]
    assert anyt["requires"] == ["tool"]
    assert anyt["extra-requires"] == ["helper<2"]
    assert pins(anyt) == {"helper": "1.0", "tool": "2.0"}
    (helper,) = entries(lock, "helper").values()
    assert helper["runtime"] is False and helper["via"] == ["anyt (build)"]
    assert lock["options"]["extra-build-requires"] == ["anyt:helper<2"]


def test_extra_build_requires_for_an_under_declaring_abi_sdist(index, tmp_path: Path) -> None:  # noqa: ANN001
    lock = compile_lock(
        tmp_path, index.url, ["abiprov==1.0", "under"], "--extra-build-requires", "under:abiprov"
    ).lock
    under = builds(lock)["under"]
    assert under["requires"] == [] and under["extra-requires"] == ["abiprov"]
    assert pins(under) == {"abiprov": "1.0"} and under["shared"] == ["abiprov"]


def test_config_settings_reach_the_hook_and_are_locked(index, tmp_path: Path) -> None:  # noqa: ANN001
    cache = tmp_path / "cache"
    plain = compile_lock(tmp_path / "plain", index.url, ["cfgx"], cache_dir=cache)
    build = builds(plain.lock)["cfgx"]
    assert build["dynamic-requires"] == [] and build["pins"] == []
    assert "config-settings" not in build
    # Same sdist, same cache: the settings are part of the hook cache key.
    configured = compile_lock(
        tmp_path / "configured",
        index.url,
        ["cfgx"],
        "--config-settings-package",
        "cfgx:k=v",
        cache_dir=cache,
    )
    lock = configured.lock
    build = builds(lock)["cfgx"]
    assert build["config-settings"] == {"k": "v"}
    assert build["dynamic-requires"] == ["dyntool"]
    assert pins(build) == {"dyntool": "1.0"}
    assert lock["options"]["config-settings-package"] == ["cfgx:k=v"]


def test_no_build_isolation_package_joins_the_runtime_set(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["shr"], "--no-build-isolation-package", "shr")
    lock = run.lock
    shr = builds(lock)["shr"]
    assert shr["isolated"] is False
    assert pins(shr) == {"helper": "2.0"}
    assert shr["shared"] == ["helper"]
    # helper is not in the inputs: it is a runtime package now, one entry.
    assert runtime_versions(lock) == {"helper": "2.0", "shr": "1.0", "tool": "2.0"}
    (helper,) = entries(lock, "helper").values()
    assert helper["runtime"] is True
    assert "shr (build)" in helper["via"]
    # Isolated builds stay isolated.
    isolated = compile_lock(tmp_path / "isolated", index.url, ["shr"]).lock
    assert "isolated" not in builds(isolated)["shr"]
    assert "helper" not in runtime_versions(isolated)


def test_no_binary_locks_a_build_for_a_package_with_a_wheel(index, tmp_path: Path) -> None:  # noqa: ANN001
    wheel = compile_lock(tmp_path / "wheel", index.url, ["both"]).lock
    assert "build" not in wheel
    (entry,) = entries(wheel, "both").values()
    # Every file of the version is recorded; the target's wheel is what sync installs.
    assert [w["filename"] for w in entry["wheels"]] == ["both-1.0-py3-none-any.whl"]
    assert entry["sdist"]["filename"] == "both-1.0.tar.gz"
    source = compile_lock(tmp_path / "source", index.url, ["both"], "--no-binary", "both").lock
    assert pins(builds(source)["both"]) == {"tool": "1.0"}
    (entry,) = entries(source, "both").values()
    assert entry["sdist"]["filename"] == "both-1.0.tar.gz" and "wheels" not in entry
    assert source["options"]["no-binary"] == ["both"]


def test_upgrade_package_applies_to_build_pins(index, tmp_path: Path) -> None:  # noqa: ANN001
    first = compile_lock(tmp_path, index.url, ["upt"])
    assert pins(builds(first.lock)["upt"]) == {"uptool": "1.0"}
    index.add_wheel("uptool", "2.0")
    kept = compile_lock(tmp_path, index.url, ["upt"], cache_dir=tmp_path / "cache2")
    assert pins(builds(kept.lock)["upt"]) == {"uptool": "1.0"}  # the existing lock's pin
    upgraded = compile_lock(
        tmp_path, index.url, ["upt"], "-P", "uptool", cache_dir=tmp_path / "cache3"
    )
    assert pins(builds(upgraded.lock)["upt"]) == {"uptool": "2.0"}
    assert list(entries(upgraded.lock, "uptool")) == ["2.0"]


def test_legacy_sdist_without_pyproject_uses_setuptools_legacy_backend(
    local_index, tools_wheels: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    local_index.add(sorted(tools_wheels.glob("*.whl")))
    (setuptools_wheel,) = tools_wheels.glob("setuptools-*.whl")
    setuptools_version = setuptools_wheel.name.split("-")[1]
    local_index.add_wheel("helper", "1.0")
    local_index.add_sdist("legacy", "1.0", build_system=False, requires=["helper"])
    # Metadata-Version 2.1: PKG-INFO is not trusted, so the runtime requirements come from
    # setuptools' prepare_metadata hook, run in the locked build environment.
    local_index.add_sdist(
        "legacyold", "1.0", build_system=False, requires=["helper"], metadata_version="2.1"
    )
    run = compile_lock(tmp_path, local_index.url, ["legacy", "legacyold"])
    lock = run.lock
    found = builds(lock)
    for name in ("legacy", "legacyold"):
        build = found[name]
        assert build["backend"] == "setuptools.build_meta:__legacy__"
        assert "backend-path" not in build
        assert build["requires"] == ["setuptools>=40.8.0"]
        assert pins(build)["setuptools"] == setuptools_version
    assert runtime_versions(lock) == {"helper": "1.0", "legacy": "1.0", "legacyold": "1.0"}
    (legacyold,) = entries(lock, "legacyold").values()
    assert legacyold["dependencies"] == ["helper"]
    (setuptools,) = entries(lock, "setuptools").values()
    assert setuptools["runtime"] is False
    assert set(setuptools["via"]) == {"legacy (build)", "legacyold (build)"}
