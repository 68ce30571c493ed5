"""`lock-build compile` locks every sdist's build environment: the real thing.

Real sdists with in-tree PEP 517 backends, hooks run in real environments, everything
from a local index; the command runs as a subprocess through `main()`, so exit codes
and error paragraphs are exactly what a user gets.

The "ABI" fixture: `abiprov` 1.0 and 2.0 are wheels; an sdist made with
`abi_provider="abiprov"` bakes the `abiprov` version it was built against into its wheel
(`<pkg>/_built_against.py`) and refuses to import next to another one. `abiprov` is not
in the default ABI set, so tests that rely on the ABI policy pass `--match-runtime abiprov`.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
from test_compile_builds_support import (
    builds,
    compile_lock,
    entries,
    export_build_constraints,
    pins,
    runtime_versions,
)

ABI = ("--match-runtime", "abiprov")


@pytest.fixture(scope="module")
def index(index_server, tmp_path_factory):  # noqa: ANN001, ANN201
    """One index for the module; each scenario uses its own package names."""
    idx = index_server.new_index(directory=tmp_path_factory.mktemp("compile-builds-index"))
    idx.add_wheel("abiprov", "1.0")
    idx.add_wheel("abiprov", "2.0")
    # The key ABI case.
    idx.add_sdist(
        "ext", "1.0", abi_provider="abiprov", build_requires=["abiprov"], requires=["abiprov"]
    )
    # Dynamic build requirements, from get_requires_for_build_wheel.
    idx.add_wheel("dyntool", "1.0")
    idx.add_sdist("dyn", "1.0", dynamic_build_requires=["dyntool"])
    # A build requirement that is also a runtime package.
    idx.add_wheel("helper", "1.0")
    idx.add_wheel("helper", "2.0")
    idx.add_sdist("shr", "1.0", build_requires=["helper"])
    # Build-only tools: two sdists that disagree, one that takes anything.
    idx.add_wheel("tool", "1.0")
    idx.add_wheel("tool", "2.0")
    idx.add_sdist("lowt", "1.0", build_requires=["tool<2"])
    idx.add_sdist("hight", "1.0", build_requires=["tool>=2"])
    idx.add_sdist("anyt", "1.0", build_requires=["tool"])
    # Backtracking over sdist versions: only bt 1.0 agrees with a runtime abiprov 1.0.
    idx.add_sdist("bt", "1.0", build_requires=["abiprov>=1"])
    idx.add_sdist("bt", "2.0", build_requires=["abiprov==2.0"])
    idx.add_sdist("bt2only", "2.0", build_requires=["abiprov==2.0"])
    # The oldest-supported-numpy pattern: the newest metapackage pins an old provider,
    # an older release leaves it free ...
    idx.add_wheel("oldestprov", "1.0", requires=["abiprov"])
    idx.add_wheel("oldestprov", "2.0", requires=["abiprov==1.0"])
    idx.add_sdist("osn", "1.0", build_requires=["oldestprov"])
    # ... and one where no release leaves it free.
    idx.add_wheel("oldestfix", "1.0", requires=["abiprov==1.0"])
    idx.add_wheel("oldestfix", "2.0", requires=["abiprov==1.0"])
    idx.add_sdist("osnfix", "1.0", build_requires=["oldestfix"])
    # Recursion: rtop builds with rmid, which builds with rleaf; all sdist-only.
    idx.add_sdist("rtop", "1.0", build_requires=["rmid"])
    idx.add_sdist("rmid", "1.0", build_requires=["rleaf"])
    idx.add_sdist("rleaf", "1.0")
    # A cycle of sdist-only build requirements.
    idx.add_sdist("cyca", "1.0", build_requires=["cycb"])
    idx.add_sdist("cycb", "1.0", build_requires=["cyca"])
    # Old-setup.py style: the built metadata requires abiprov>=<the version built against>,
    # and PKG-INFO says the requirements are dynamic (only the backend can tell).
    idx.add_sdist(
        "fixp",
        "1.0",
        abi_provider="abiprov",
        build_requires=["abiprov"],
        requires_from_build=True,
        dynamic_requires_dist=True,
    )
    # Broken sdists.
    idx.add_sdist("brokenbs", "1.0", build_system="broken")
    idx.add_sdist("hookerr", "1.0", hook_error="kaboom in the requires hook")
    yield idx
    index_server.remove_index(idx)


def constraint_lines(text: str) -> list[str]:
    """The pins of an exported build-constraints file (no comments, no via lines)."""
    return [line for line in text.splitlines() if line and not line.startswith(("#", " "))]


def sha256_of(index, filename: str) -> str:  # noqa: ANN001
    return hashlib.sha256((index.files_dir / filename).read_bytes()).hexdigest()


# -- the key test: built against exactly the runtime pin ---------------------------------


def test_abi_sdist_is_locked_and_built_against_the_runtime_pin(
    index, venv_factory, tmp_path: Path
) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path / "lock", index.url, ["abiprov==1.0", "ext"])
    lock = run.lock
    assert runtime_versions(lock) == {"abiprov": "1.0", "ext": "1.0"}
    ext = builds(lock)["ext"]
    assert ext["version"] == "1.0"
    assert ext["backend"] == "lbbackend" and ext["backend-path"] == ["_backend"]
    assert ext["requires"] == ["abiprov"] and ext["dynamic-requires"] == []
    assert ext["pins"] == ["abiprov==1.0"]
    assert ext["shared"] == ["abiprov"]
    assert "substitutions" not in ext
    # One [[package]] entry serves runtime and build: same artifact, same hash.
    (prov,) = entries(lock, "abiprov").values()
    assert prov["version"] == "1.0" and prov["runtime"] is True
    assert [w["sha256"] for w in prov["wheels"]] == [
        sha256_of(index, "abiprov-1.0-py3-none-any.whl")
    ]
    assert "ext (build)" in prov["via"] and "-r requirements.in" in prov["via"]
    (ext_pkg,) = entries(lock, "ext").values()
    assert ext_pkg["sdist"]["filename"] == "ext-1.0.tar.gz" and "wheels" not in ext_pkg

    # Build ext for real in the locked environment: exactly the pins, nothing else.
    env = venv_factory("build-env")
    env.pip("install", "--no-deps", "--index-url", index.url, *ext["pins"])
    assert env.freeze() == {"abiprov": "1.0"}
    out = tmp_path / "wheels"
    env.pip(
        "wheel",
        "--no-build-isolation",
        "--no-deps",
        "--index-url",
        index.url,
        "-w",
        out,
        ext_pkg["sdist"]["url"],
    )
    (wheel,) = out.glob("ext-1.0-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        baked = zf.read("ext/_built_against.py").decode()
    assert "BUILT_AGAINST = '1.0'" in baked or 'BUILT_AGAINST = "1.0"' in baked, baked

    # And the wheel imports next to the runtime pin.
    runtime = venv_factory("runtime")
    runtime.pip("install", "--no-deps", "--index-url", index.url, "abiprov==1.0", wheel)
    check = runtime.run("-c", "import ext, ext._built_against as b; print(b.BUILT_AGAINST)")
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == "1.0"

    # One global set reproduces this lock's only build environment.
    exported = export_build_constraints(run)
    assert exported.returncode == 0, exported.stderr
    assert constraint_lines(exported.stdout) == ["abiprov==1.0"]


# -- what goes into a build environment -----------------------------------------------


def test_dynamic_requirements_from_the_hook_are_locked(index, tmp_path: Path) -> None:  # noqa: ANN001
    lock = compile_lock(tmp_path, index.url, ["dyn"]).lock
    dyn = builds(lock)["dyn"]
    assert dyn["requires"] == []
    assert dyn["dynamic-requires"] == ["dyntool"]
    assert pins(dyn) == {"dyntool": "1.0"}
    assert dyn["shared"] == []
    (tool,) = entries(lock, "dyntool").values()
    assert tool["runtime"] is False
    assert tool["via"] == ["dyn (build)"]
    assert tool["wheels"][0]["sha256"] == sha256_of(index, "dyntool-1.0-py3-none-any.whl")


def test_an_sdist_downloaded_for_its_hooks_is_reported_once(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["dyn"], "-v", "-j", "1")
    assert run.code == 0, run.stderr
    assert run.stderr.count("Fetching dyn-1.0.tar.gz") == 1, run.stderr


def test_a_build_requirement_that_is_a_runtime_package_shares_its_pin(
    index, tmp_path: Path
) -> None:  # noqa: ANN001
    # helper 2.0 is the newest, but the runtime pins 1.0 and `helper` allows it.
    lock = compile_lock(tmp_path, index.url, ["helper==1.0", "shr"]).lock
    shr = builds(lock)["shr"]
    assert pins(shr) == {"helper": "1.0"}
    assert shr["shared"] == ["helper"]
    helper = entries(lock, "helper")
    assert list(helper) == ["1.0"]  # one entry, no build-only copy
    assert helper["1.0"]["runtime"] is True
    assert set(helper["1.0"]["via"]) == {"-r requirements.in", "shr (build)"}
    assert helper["1.0"]["wheels"][0]["sha256"] == sha256_of(index, "helper-1.0-py3-none-any.whl")


def test_incompatible_build_only_requirements_get_separate_pins(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["lowt", "hight"])
    lock = run.lock
    found = builds(lock)
    assert pins(found["lowt"]) == {"tool": "1.0"}
    assert pins(found["hight"]) == {"tool": "2.0"}
    tool = entries(lock, "tool")
    assert sorted(tool) == ["1.0", "2.0"]
    assert tool["1.0"]["runtime"] is False and tool["2.0"]["runtime"] is False
    assert tool["1.0"]["via"] == ["lowt (build)"]
    assert tool["2.0"]["via"] == ["hight (build)"]
    assert "tool" not in runtime_versions(lock)
    # Environments that differ cannot be one global build-constraints set.
    exported = export_build_constraints(run)
    assert exported.returncode == 2
    assert "tool" in exported.stderr and "error: " in exported.stderr
    assert exported.stdout == ""


def test_build_only_tool_excluding_its_runtime_version_gets_its_own(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["tool==2.0", "lowt", "hight"])
    lock = run.lock
    found = builds(lock)
    assert pins(found["lowt"]) == {"tool": "1.0"}
    assert found["lowt"]["shared"] == []
    assert "substitutions" not in found["lowt"]
    assert pins(found["hight"]) == {"tool": "2.0"} and found["hight"]["shared"] == ["tool"]
    tool = entries(lock, "tool")
    assert tool["2.0"]["runtime"] is True
    assert tool["1.0"]["runtime"] is False  # the build-only version
    assert "warning" not in run.stderr


# -- ABI packages: joint solutions, substitutions, --build-match declared ---------------


def test_declared_mode_backtracks_the_sdist_version(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(
        tmp_path, index.url, ["abiprov==1.0", "bt"], *ABI, "--build-match", "declared"
    )
    lock = run.lock
    assert runtime_versions(lock) == {"abiprov": "1.0", "bt": "1.0"}
    bt = builds(lock)["bt"]
    assert bt["version"] == "1.0"
    assert pins(bt) == {"abiprov": "1.0"} and bt["shared"] == ["abiprov"]
    assert "substitutions" not in bt
    assert list(entries(lock, "abiprov")) == ["1.0"]


def test_default_mode_keeps_the_runtime_choice_and_substitutes(index, tmp_path: Path) -> None:  # noqa: ANN001
    # The resolver never picks an older sdist just to avoid a substitution.
    run = compile_lock(tmp_path, index.url, ["abiprov==1.0", "bt"], *ABI)
    lock = run.lock
    assert runtime_versions(lock)["bt"] == "2.0"
    bt = builds(lock)["bt"]
    assert pins(bt) == {"abiprov": "1.0"} and bt["shared"] == ["abiprov"]
    (sub,) = bt["substitutions"]
    assert sub["package"] == "abiprov" and sub["used"] == "1.0"
    assert "abiprov==2.0" in sub["declared"]


def test_declared_mode_fails_when_no_sdist_version_agrees(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(
        tmp_path, index.url, ["abiprov==1.0", "bt2only"], *ABI, "--build-match", "declared"
    )
    assert run.code == 2
    error = run.error
    assert "bt2only 2.0" in error
    assert "abiprov==2.0" in error  # the declared requirement
    assert "abiprov==1.0" in error  # the runtime pin
    assert "--build-match" in error  # the option that decides
    assert not run.lockfile.exists()


def test_default_mode_substitutes_visibly(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["abiprov==1.0", "bt2only"], *ABI)
    lock = run.lock
    build = builds(lock)["bt2only"]
    assert pins(build) == {"abiprov": "1.0"}
    assert build["shared"] == ["abiprov"]
    assert build["substitutions"] == [
        {"package": "abiprov", "declared": "abiprov==2.0", "used": "1.0"}
    ]
    assert list(entries(lock, "abiprov")) == ["1.0"]
    # The command says so.
    assert "bt2only 2.0 builds against abiprov==1.0" in run.stderr
    assert "warning: " in run.stderr
    # A substitution cannot be expressed as one global build-constraints set.
    exported = export_build_constraints(run)
    assert exported.returncode == 2, exported.stdout
    assert exported.stdout == ""
    (line,) = [x for x in exported.stderr.splitlines() if x.startswith("error: ")]
    assert "bt2only" in line and "abiprov" in line and "substitution" in line
    assert "plan" in line  # points to the install plan, which can express it


def test_a_non_abi_package_is_not_substituted(index, tmp_path: Path) -> None:  # noqa: ANN001
    # Without --match-runtime, abiprov is an ordinary build requirement: its own version.
    run = compile_lock(tmp_path, index.url, ["abiprov==1.0", "bt2only"])
    lock = run.lock
    build = builds(lock)["bt2only"]
    assert pins(build) == {"abiprov": "2.0"} and build["shared"] == []
    assert "substitutions" not in build
    prov = entries(lock, "abiprov")
    assert prov["1.0"]["runtime"] is True and prov["2.0"]["runtime"] is False


def test_older_metapackage_release_gives_a_joint_solution(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["abiprov==2.0", "osn"], *ABI)
    lock = run.lock
    osn = builds(lock)["osn"]
    # oldestprov 2.0 (newest) would pin abiprov 1.0; 1.0 leaves it free: take that.
    assert pins(osn) == {"abiprov": "2.0", "oldestprov": "1.0"}
    assert osn["shared"] == ["abiprov"]
    assert "substitutions" not in osn
    assert list(entries(lock, "oldestprov")) == ["1.0"]
    assert entries(lock, "oldestprov")["1.0"]["runtime"] is False
    assert list(entries(lock, "abiprov")) == ["2.0"]
    assert "builds against" not in run.stderr
    # Also fine under --build-match declared: the declared requirements are honoured.
    declared = compile_lock(
        tmp_path / "declared",
        index.url,
        ["abiprov==2.0", "osn"],
        *ABI,
        "--build-match",
        "declared",
    )
    assert pins(builds(declared.lock)["osn"]) == {"abiprov": "2.0", "oldestprov": "1.0"}


def test_metapackage_without_a_free_release_is_substituted(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["abiprov==2.0", "osnfix"], *ABI)
    lock = run.lock
    build = builds(lock)["osnfix"]
    assert pins(build)["abiprov"] == "2.0"
    assert "oldestfix" in pins(build)
    assert build["shared"] == ["abiprov"]
    (sub,) = build["substitutions"]
    assert sub["package"] == "abiprov" and sub["used"] == "2.0"
    assert "abiprov==1.0 via oldestfix" in sub["declared"]  # the chain through the metapackage
    assert "osnfix 1.0 builds against abiprov==2.0" in run.stderr
    # The declared mode explains with the same chain.
    declared = compile_lock(
        tmp_path / "declared",
        index.url,
        ["abiprov==2.0", "osnfix"],
        *ABI,
        "--build-match",
        "declared",
    )
    assert declared.code == 2
    assert "osnfix 1.0" in declared.error and "oldestfix" in declared.error
    assert "abiprov==2.0" in declared.error


# -- the fixed point: metadata that depends on the build environment --------------------


def test_metadata_from_the_locked_build_environment_settles(index, tmp_path: Path) -> None:  # noqa: ANN001
    # Built against the newest abiprov (2.0), fixp would require abiprov>=2.0 and clash
    # with the runtime pin; built in its locked environment (abiprov 1.0) it requires
    # abiprov>=1.0, which agrees. The lock is that fixed point.
    run = compile_lock(tmp_path, index.url, ["abiprov==1.0", "fixp"], *ABI)
    lock = run.lock
    assert runtime_versions(lock) == {"abiprov": "1.0", "fixp": "1.0"}
    fixp = builds(lock)["fixp"]
    assert pins(fixp) == {"abiprov": "1.0"} and fixp["shared"] == ["abiprov"]
    (entry,) = entries(lock, "fixp").values()
    assert entry["dependencies"] == ["abiprov"]
    assert list(entries(lock, "abiprov")) == ["1.0"]


def test_metadata_follows_the_runtime_pin_without_other_constraints(index, tmp_path: Path) -> None:  # noqa: ANN001
    lock = compile_lock(tmp_path, index.url, ["fixp"], *ABI).lock
    assert runtime_versions(lock) == {"abiprov": "2.0", "fixp": "1.0"}
    assert pins(builds(lock)["fixp"]) == {"abiprov": "2.0"}


# -- determinism and --check ------------------------------------------------------


def test_recompiling_is_byte_identical_and_check_passes(index, tmp_path: Path) -> None:  # noqa: ANN001
    requirements = ["abiprov==1.0", "ext", "rtop", "lowt", "hight", "dyn"]
    first = compile_lock(tmp_path, index.url, requirements)
    text = first.lockfile.read_text(encoding="utf-8")
    assert sorted(builds(first.lock)) == ["dyn", "ext", "hight", "lowt", "rleaf", "rmid", "rtop"]
    # A fresh cache, so every hook runs again: same bytes.
    again = compile_lock(tmp_path, index.url, requirements, cache_dir=tmp_path / "cache2")
    assert again.code == 0, again.stderr
    assert again.lockfile.read_text(encoding="utf-8") == text
    assert "Unchanged" in again.stderr
    check = compile_lock(tmp_path, index.url, requirements, "--check")
    assert check.code == 0, check.stderr
    stale = compile_lock(tmp_path, index.url, [*requirements, "shr"], "--check")
    assert stale.code == 1
    assert stale.lockfile.read_text(encoding="utf-8") == text


# -- recursion and cycles -----------------------------------------------------------


def test_sdist_only_build_requirements_recurse_two_levels(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["rtop"])
    lock = run.lock
    found = builds(lock)
    assert sorted(found) == ["rleaf", "rmid", "rtop"]
    assert pins(found["rtop"]) == {"rmid": "1.0"}
    assert pins(found["rmid"]) == {"rleaf": "1.0"}
    assert pins(found["rleaf"]) == {}
    for name, via in (("rmid", "rtop (build)"), ("rleaf", "rmid (build)")):
        (entry,) = entries(lock, name).values()
        assert entry["runtime"] is False
        assert entry["via"] == [via]
        assert entry["sdist"]["sha256"] == sha256_of(index, f"{name}-1.0.tar.gz")
        assert "wheels" not in entry
    exported = export_build_constraints(run)
    assert exported.returncode == 0, exported.stderr
    assert constraint_lines(exported.stdout) == ["rleaf==1.0", "rmid==1.0"]


def test_a_build_cycle_is_reported_with_its_chain(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["cyca"])
    assert run.code == 2
    assert "cyca 1.0 → cycb 1.0 → cyca 1.0" in run.error
    assert not run.lockfile.exists()


# -- broken sdists ----------------------------------------------------------------


def test_broken_build_system_table_is_one_paragraph(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["brokenbs"])
    assert run.code == 2
    error = run.error
    assert "brokenbs" in error and "requires" in error and "build-system" in error
    assert run.stderr.rstrip().splitlines()[-1] == error  # nothing after the paragraph
    assert not run.lockfile.exists()


def test_a_hook_that_raises_names_the_package_and_the_log(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["hookerr"])
    assert run.code == 2
    error = run.error
    assert "hookerr" in error and "get_requires_for_build_wheel" in error
    assert "log" in error
    assert run.stderr.rstrip().splitlines()[-1] == error
    assert not run.lockfile.exists()
    # -v adds the end of the backend's output.
    verbose = compile_lock(tmp_path / "verbose", index.url, ["hookerr"], "-v")
    assert verbose.code == 2
    assert "kaboom in the requires hook" in verbose.stderr


def test_the_log_a_failed_hook_points_to_still_exists(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["hookerr"])
    assert run.code == 2
    log = run.error.split("log: ", 1)[1].split(".log", 1)[0] + ".log"
    assert Path(log).is_file(), f"the error points to {log}, which is gone after the command"
    assert "kaboom in the requires hook" in Path(log).read_text()
