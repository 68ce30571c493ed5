"""ABI rules in real compiles and syncs: the shipped numpy and torch rules over look-alikes.

The index serves wheels named `numpy` and `torch` (small fakes with a `__version__`) so the
shipped rules apply as they would to the real ones. The ABI-provider sdists bake the
version they were built against into their wheel and check it at import: `abi_rule="numpy"`
by numpy's rule (a 2.x build runs on 1.x >= 1.19), torch-like ones only next to the very
version they were built against.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_compile_builds_support import builds, compile_lock, entries, pins

IMPORT = "import {0}, {0}._built_against as b; print(b.BUILT_AGAINST)"


@pytest.fixture(scope="module")
def index(index_server, tmp_path_factory):  # noqa: ANN001, ANN201
    idx = index_server.new_index(directory=tmp_path_factory.mktemp("compile-abi-index"))
    for version in ("1.23.2", "1.26.4", "2.2.6", "2.3.0", "2.9.0"):
        idx.add_wheel("numpy", version)
    for version in ("2.3.0", "2.4.0"):
        idx.add_wheel("torch", version)
    numpy_like = {"abi_provider": "numpy", "abi_rule": "numpy", "requires": ["numpy"]}
    # pyworld 0.3.5's shape: its build requires numpy>=2.
    idx.add_sdist("np2build", "1.0", build_requires=["numpy>=2"], **numpy_like)
    # The seed's reverse: a build pinned to numpy 1.x (oldest-supported-numpy's way).
    idx.add_sdist("np1build", "1.0", build_requires=["numpy<2"], **numpy_like)
    torch_like = {"abi_provider": "torch", "requires": ["torch"]}
    idx.add_sdist("tnewer", "1.0", build_requires=["torch>=2.4"], **torch_like)
    idx.add_sdist("tany", "1.0", build_requires=["torch"], **torch_like)
    # Build failures with a known cause.
    idx.add_sdist(
        "pkgres", "1.0", hook_error="ModuleNotFoundError: No module named 'pkg_resources'"
    )
    idx.add_sdist(
        "old2to3", "1.0", hook_error="error in old2to3 setup command: use_2to3 is invalid."
    )
    idx.add_sdist(
        "oldcapi",
        "1.0",
        hook_error="oldcapi/_ext.c:41:9: error: 'NPY_CHAR' undeclared (first use in this function)",
    )
    idx.add_sdist("oldbuild", "1.0", build_error="No module named 'pkg_resources'")
    yield idx
    index_server.remove_index(idx)


def sync_into(venv, run, cache: Path, index_url: str):  # noqa: ANN001, ANN201
    """`lock-build sync` with the index configured (sync fetches only from configured places)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "lock_build",
            "sync",
            run.lockfile.name,
            "--python",
            venv.python,
            "--cache-dir",
            cache,
        ],
        cwd=run.lockfile.parent,
        env={**os.environ, "PIP_INDEX_URL": index_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# -- numpy: a 2.x build runs on 1.x -----------------------------------------------------


def test_numpy_2_build_next_to_runtime_numpy_1_needs_no_substitution(
    index, venv_factory, tmp_path: Path
) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["numpy==1.26.4", "np2build"])
    lock = run.lock
    build = builds(lock)["np2build"]
    # The newest numpy whose builds run with 1.26.4 (2.9.0 matches no clause of the rule).
    assert pins(build) == {"numpy": "2.3.0"}
    assert "substitutions" not in build and build["shared"] == []
    assert build["abi"] == [
        {
            "package": "numpy",
            "built": "2.3.0",
            "runtime": "1.26.4",
            "runs-with": "<3,>=1.23",
            "rule": "numpy",
        }
    ]
    assert "builds against" not in run.stderr and "warning" not in run.stderr
    assert entries(lock, "numpy")["1.26.4"]["runtime"] is True
    assert entries(lock, "numpy")["2.3.0"]["runtime"] is False
    # The runtime resolution is not moved.
    assert [p["version"] for p in lock["package"] if p["name"] == "numpy" and p["runtime"]] == [
        "1.26.4"
    ]
    env = venv_factory("np2build")
    synced = sync_into(env, run, tmp_path / "sync-cache", index.url)
    assert synced.returncode == 0, synced.stderr
    out = env.run("-c", IMPORT.format("np2build") + "; import numpy; print(numpy.__version__)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2.3.0", "1.26.4"]


def test_declared_mode_needs_no_substitution_either(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(
        tmp_path, index.url, ["numpy==1.26.4", "np2build"], "--build-match", "declared"
    )
    assert pins(builds(run.lock)["np2build"]) == {"numpy": "2.3.0"}


def test_the_seed_failure_is_still_impossible(index, venv_factory, tmp_path: Path) -> None:  # noqa: ANN001
    # Runtime numpy 2.x and a build that declares numpy<2: a 1.x build never runs on 2.x.
    run = compile_lock(tmp_path, index.url, ["numpy==2.2.6", "np1build"])
    build = builds(run.lock)["np1build"]
    assert pins(build) == {"numpy": "2.2.6"}
    assert build["substitutions"] == [{"package": "numpy", "declared": "numpy<2", "used": "2.2.6"}]
    assert "np1build 1.0 builds against numpy==2.2.6" in run.stderr
    assert build["abi"] == [
        {
            "package": "numpy",
            "built": "2.2.6",
            "runtime": "2.2.6",
            "runs-with": "<3,>=1.21",
            "rule": "numpy",
        }
    ]
    env = venv_factory("np1build")
    assert sync_into(env, run, tmp_path / "sync-cache", index.url).returncode == 0
    out = env.run("-c", IMPORT.format("np1build"))
    assert out.returncode == 0 and out.stdout.strip() == "2.2.6", out.stderr
    declared = compile_lock(
        tmp_path / "declared", index.url, ["numpy==2.2.6", "np1build"], "--build-match", "declared"
    )
    assert declared.code == 2
    assert "np1build 1.0 needs numpy<2 to build" in declared.error
    assert "rule 'numpy'" in declared.error


def test_per_sdist_equality_override(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(
        tmp_path, index.url, ["numpy==1.26.4", "np2build"], "--abi-equal", "np2build:numpy"
    )
    build = builds(run.lock)["np2build"]
    assert pins(build) == {"numpy": "1.26.4"} and build["shared"] == ["numpy"]
    assert [s["used"] for s in build["substitutions"]] == ["1.26.4"]
    assert [(r["runs-with"], r["rule"]) for r in build["abi"]] == [("==1.26.4", "equal")]
    assert run.lock["options"]["abi-equal"] == ["np2build:numpy"]
    bad = compile_lock(tmp_path / "bad", index.url, ["np2build"], "--abi-equal", "numpy")
    assert bad.code == 2 and "SDIST:PKG" in bad.error


def test_match_runtime_makes_numpy_equal_again(index, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(
        tmp_path, index.url, ["numpy==1.26.4", "np2build"], "--match-runtime", "numpy"
    )
    assert pins(builds(run.lock)["np2build"]) == {"numpy": "1.26.4"}
    assert "np2build 1.0 builds against numpy==1.26.4" in run.stderr


def test_rules_from_the_project_configuration(index, tmp_path: Path) -> None:  # noqa: ANN001
    equal = compile_lock(
        tmp_path / "equal",
        index.url,
        ["numpy==1.26.4", "np2build"],
        files={"pyproject.toml": '[tool.lock-build.abi]\nnumpy = "equal"\n'},
    )
    build = builds(equal.lock)["np2build"]
    assert pins(build) == {"numpy": "1.26.4"} and build["substitutions"]
    # A rule of one's own: np2build's numpy builds run with anything >=1.0 here.
    own = compile_lock(
        tmp_path / "own",
        index.url,
        ["numpy==1.23.2", "np2build"],
        files={
            "lock-build.toml": "[abi.numpy]\n"
            'source = "https://example.org/policy"\n'
            'clauses = [{build = ">=2", runs-with = ">=1.0,<3"}]\n'
        },
    )
    (record,) = builds(own.lock)["np2build"]["abi"]
    assert record["built"] == "2.9.0" and record["runs-with"] == "<3,>=1.0"
    bad = compile_lock(
        tmp_path / "bad",
        index.url,
        ["np2build"],
        files={"lock-build.toml": '[abi.numpy]\nkind = "loose"\n'},
    )
    assert bad.code == 2
    assert "lock-build.toml [abi]: numpy.kind: is 'loose'" in bad.error


def test_sync_checks_the_recorded_range_before_changing_anything(
    index, venv_factory, tmp_path: Path
) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["numpy==1.26.4", "np2build"])
    env = venv_factory("recorded")
    env.pip("install", "--no-deps", "--index-url", index.url, "numpy==2.2.6")
    # The lock, not this machine's rules, is what sync checks: a record saying the build
    # runs only with numpy>=1.27 refuses the runtime 1.26.4, though the shipped rule agrees.
    text = run.lockfile.read_text(encoding="utf-8")
    run.lockfile.write_text(text.replace('"<3,>=1.23"', '">=1.27,<3"'), encoding="utf-8")
    index.clear_requests()
    refused = sync_into(env, run, tmp_path / "sync-cache", index.url)
    assert refused.returncode == 2, refused.stderr
    (error,) = [line for line in refused.stderr.splitlines() if line.startswith("error: ")]
    assert "np2build==1.0 was built against numpy 2.3.0 and would run with numpy 1.26.4" in error
    assert "runs with numpy<3,>=1.27" in error
    assert "Nothing in the target environment was changed" in error
    assert env.freeze() == {"numpy": "2.2.6"}
    assert index.requests == []  # refused before anything was fetched
    # The recorded range as compiled accepts it.
    run.lockfile.write_text(text, encoding="utf-8")
    assert sync_into(env, run, tmp_path / "sync-cache", index.url).returncode == 0
    assert env.freeze() == {"numpy": "1.26.4", "np2build": "1.0"}


# -- torch: the same artifact -------------------------------------------------------------


def test_torch_builds_use_the_runtime_artifact(index, venv_factory, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["torch==2.3.0", "tany", "tnewer"])
    found = builds(run.lock)
    assert pins(found["tany"]) == {"torch": "2.3.0"} and found["tany"]["shared"] == ["torch"]
    assert "substitutions" not in found["tany"]
    assert [(r["runs-with"], r["rule"]) for r in found["tany"]["abi"]] == [("===2.3.0", "torch")]
    # torch>=2.4 excludes the runtime 2.3.0, and no other torch build runs with it.
    assert pins(found["tnewer"]) == {"torch": "2.3.0"}
    assert [s["package"] for s in found["tnewer"]["substitutions"]] == ["torch"]
    assert list(entries(run.lock, "torch")) == ["2.3.0"]
    env = venv_factory("torch")
    assert sync_into(env, run, tmp_path / "sync-cache", index.url).returncode == 0
    for name in ("tany", "tnewer"):
        out = env.run("-c", IMPORT.format(name))
        assert out.returncode == 0 and out.stdout.strip() == "2.3.0", out.stderr


# -- build failures with a known cause -----------------------------------------------------

FAILURES = [
    ("pkgres", "--extra-build-requires 'pkgres:setuptools<82'."),
    ("old2to3", "--extra-build-requires 'old2to3:setuptools<58'."),
    ("oldcapi", "a constraints file holding the line numpy<2, passed as -c FILE."),
]


@pytest.mark.parametrize(("sdist", "ends_with"), FAILURES)
def test_a_known_build_failure_ends_with_the_fixing_option(
    index, tmp_path: Path, sdist: str, ends_with: str
) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, [sdist])
    assert run.code == 2
    assert run.error.endswith(ends_with), run.error
    assert f"{sdist}-1.0" in run.error and "log: " in run.error
    assert run.stderr.rstrip().splitlines()[-1] == run.error


def test_a_known_failure_at_sync_keeps_the_fix_last(index, venv_factory, tmp_path: Path) -> None:  # noqa: ANN001
    run = compile_lock(tmp_path, index.url, ["oldbuild"])
    assert run.code == 0, run.stderr  # its hooks work; only build_wheel fails
    env = venv_factory("oldbuild")
    synced = sync_into(env, run, tmp_path / "sync-cache", index.url)
    assert synced.returncode == 2
    (error,) = [line for line in synced.stderr.splitlines() if line.startswith("error: ")]
    assert "Nothing in the target environment was changed." in error
    assert error.endswith("--extra-build-requires 'oldbuild:setuptools<82'."), error
    assert env.freeze() == {}
