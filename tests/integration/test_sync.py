"""sync into real virtual environments from a local index, with hand-written locks.

The ABI fixture: `abiext` is an sdist whose build bakes in the `abiprov` version it was
built against, and which refuses to import when a different `abiprov` is installed —
numpy's failure mode, small enough to run in a unit of a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from test_sync_support import build_env, make_lock, run_cli, sdist_pkg, wheel_pkg

from lock_build.cli import sync_cmd
from lock_build.errors import BuildError, SyncError, TargetError
from lock_build.lockfile import write_lock
from lock_build.sync import sync
from lock_build.sync.inspect import inspect_environment
from lock_build.sync.staging import STAGING_PREFIX

IMPORT_ABI = (
    "import abiprov, abiext, abiext._built_against as b; "
    "print(b.BUILT_AGAINST, abiprov.__version__)"
)


@pytest.fixture(scope="module")
def index(index_server, tmp_path_factory):  # noqa: ANN001, ANN201
    """One index for the module: abiprov 1.0/2.0 wheels, the abiext sdist, a broken sdist,
    a build-only sdist tool, and an unrelated wheel."""
    idx = index_server.new_index(directory=tmp_path_factory.mktemp("sync-index"))
    files = {
        "prov1": idx.add_wheel("abiprov", "1.0"),
        "prov2": idx.add_wheel("abiprov", "2.0"),
        "ext": idx.add_sdist(
            "abiext",
            "1.0",
            abi_provider="abiprov",
            build_requires=["abiprov"],
            requires=["abiprov"],
        ),
        "ext_nested": idx.add_sdist(
            "nestext",
            "1.0",
            abi_provider="abiprov",
            build_requires=["abiprov", "buildtool"],
            requires=["abiprov"],
        ),
        "tool": idx.add_sdist("buildtool", "1.0"),
        "tool11": idx.add_wheel("buildtool", "1.1"),
        "broken": idx.add_sdist("broken", "1.0", build_error="the compiler exploded"),
        "other": idx.add_wheel("other", "1.0"),
        "extra": idx.add_wheel("extraneous", "3.0"),
    }
    idx.paths = files
    yield idx
    index_server.remove_index(idx)


def abi_lock(
    index,
    python: Path,
    prov: str = "prov1",
    extra_pins: tuple[str, ...] = (),
    extra_packages: tuple = (),
):  # noqa: ANN001, ANN201
    p = index.paths
    prov_pkg = wheel_pkg(index, p[prov])
    version = str(prov_pkg.version)
    return make_lock(
        python,
        [
            prov_pkg,
            sdist_pkg(index, p["ext"], deps=["abiprov"]),
            wheel_pkg(index, p["other"]),
            *extra_packages,
        ],
        [
            build_env(
                "abiext",
                "1.0",
                (f"abiprov=={version}", *extra_pins),
                shared=["abiprov"],
                requires=["abiprov"],
            )
        ],
    )


def do_sync(lock, env, cache: Path, **kwargs):  # noqa: ANN001, ANN003, ANN201
    return sync(lock, lock_dir=cache, python=env.python, cache_dir=cache, **kwargs)


@pytest.fixture(params=["pip", "builtin"])
def installer(request: pytest.FixtureRequest) -> str:
    """The tests that install run with pip and with the builtin installer alike."""
    return str(request.param)


def test_sync_builds_against_locked_provider_and_repairs_broken_control(
    index, venv_factory, installer, tmp_path: Path
) -> None:  # noqa: ANN001
    # The control: plain pip with build isolation builds abiext against the newest
    # abiprov (2.0) while installing the pinned 1.0 at runtime: import fails.
    control = venv_factory("control")
    control.pip("install", "--index-url", index.url, "abiprov==1.0", "abiext==1.0")
    broken = control.run("-c", IMPORT_ABI)
    assert broken.returncode != 0
    assert "built against abiprov 2.0 but abiprov 1.0 is installed" in broken.stderr

    lock = abi_lock(index, control.python)
    result = do_sync(lock, control, tmp_path / "cache", installer=installer)
    assert result.built == ("abiext==1.0",)
    reinstall = {s.name: s for s in result.plan.install}
    assert reinstall["abiext"].action == "reinstall"  # same version, wrong build: replaced
    fixed = control.run("-c", IMPORT_ABI)
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.split() == ["1.0", "1.0"]  # built against exactly what is installed
    # The installed dist-info records what it was built against.
    state = inspect_environment(control.python)
    build = next(b for b in result.plan.builds if b.name == "abiext")
    assert state.installed["abiext"].fingerprint == build.fingerprint
    stamp_files = list(control.site_packages.glob("abiext-1.0.dist-info/lock_build_build.json"))
    assert json.loads(stamp_files[0].read_text())["pins"] == {"abiprov": "1.0"}
    # extraneous packages are removed; the unrelated wheel was installed
    assert control.freeze() == {"abiprov": "1.0", "abiext": "1.0", "other": "1.0"}


def test_second_sync_is_a_fast_noop(index, venv_factory, installer, tmp_path: Path) -> None:  # noqa: ANN001
    env = venv_factory()
    lock = abi_lock(index, env.python)
    do_sync(lock, env, tmp_path / "cache", installer=installer)
    index.clear_requests()
    # (How fast this is lives in benchmarks/, not in a timed test.)
    again = do_sync(lock, env, tmp_path / "cache", installer=installer)
    assert not again.plan.changes and again.built == () and again.plan.builds == ()
    assert index.requests == []  # nothing fetched either
    # A new environment from the same cache reuses the cached build: nothing is built.
    other = venv_factory()
    third = do_sync(lock, other, tmp_path / "cache", installer=installer)
    assert third.built == () and third.reused == ("abiext==1.0",)
    assert other.run("-c", IMPORT_ABI).returncode == 0


# Run in a fresh interpreter: which modules a sync loads is only visible in a process that
# has loaded nothing else. It reports which of the modules named in argv[1] it loaded.
_NOOP_SCRIPT = """
import json, sys
from lock_build.cli import main
try:
    main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted(set(sys.argv[1].split()) & set(sys.modules))}))
"""


_INSTALL_ONLY = "installer concurrent.futures lock_build.sync.bytecode importlib.metadata zipfile"


def test_a_sync_with_nothing_to_do_does_not_load_what_installs(
    index, venv_factory, tmp_path: Path
) -> None:  # noqa: ANN001
    """PyPA installer (and the email parts it brings), the compile pool and the unpacking
    threads are imported to install a wheel only."""
    env = venv_factory()
    lockfile = tmp_path / "requirements.lock"
    write_lock(lockfile, make_lock(env.python, [wheel_pkg(index, index.paths["other"])], []))
    args = [lockfile, "--python", env.python, "--cache-dir", tmp_path / "cache", "-q"]
    assert run_cli(sync_cmd.command, [*args, "--installer", "builtin"])[0] == 0
    assert env.freeze() == {"other": "1.0"}
    for installer in ("builtin", "pip"):
        done = subprocess.run(
            [sys.executable, "-c", _NOOP_SCRIPT, _INSTALL_ONLY, "sync", *map(str, args)]
            + ["--installer", installer],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        )
        report = json.loads(done.stdout.splitlines()[-1])
        assert report == {"code": 0, "loaded": []}, done.stderr
    assert env.freeze() == {"other": "1.0"}


def _install_extraneous(env, index) -> None:  # noqa: ANN001
    env.pip("install", "--index-url", index.url, "extraneous==3.0")


def _install_another_version(env, index) -> None:  # noqa: ANN001
    env.pip("install", "--index-url", index.url, "--no-deps", "abiprov==2.0")


def _uninstall_a_package(env, index) -> None:  # noqa: ANN001
    env.pip("uninstall", "-y", "other")


def _edit_a_version_in_place(env, index) -> None:  # noqa: ANN001
    # The site directory itself is untouched: only a fresh read of METADATA sees this.
    metadata = env.site_packages / "other-1.0.dist-info" / "METADATA"
    metadata.write_text(metadata.read_text().replace("Version: 1.0", "Version: 1.1"))


def _restamp_a_build_in_place(env, index) -> None:  # noqa: ANN001
    stamp = env.site_packages / "abiext-1.0.dist-info" / "lock_build_build.json"
    stamp.write_text(json.dumps({**json.loads(stamp.read_text()), "fingerprint": "0" * 64}))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_install_extraneous, [("extraneous", "remove")]),
        (_install_another_version, [("abiprov", "downgrade")]),
        (_uninstall_a_package, [("other", "install")]),
        (_edit_a_version_in_place, [("other", "downgrade")]),
        (_restamp_a_build_in_place, [("abiext", "reinstall")]),
    ],
    ids=["extraneous", "other version", "uninstalled", "metadata edited", "stamp edited"],
)
def test_a_changed_environment_is_never_a_noop_with_the_interpreter_cached(
    index,
    venv_factory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change,
    expected: list[tuple[str, str]],
) -> None:  # noqa: ANN001
    from lock_build import target

    asked: list[Path] = []
    real = target.probe_interpreter
    monkeypatch.setattr(target, "probe_interpreter", lambda p: asked.append(p) or real(p))
    env, cache = venv_factory(), tmp_path / "cache"
    lock = abi_lock(index, env.python)
    do_sync(lock, env, cache)
    assert not do_sync(lock, env, cache, dry_run=True).plan.changes
    probes = len(asked)
    change(env, index)
    plan = do_sync(lock, env, cache, dry_run=True).plan
    found = [(s.name, s.action) for s in plan.install] + [(r.name, "remove") for r in plan.remove]
    assert found == expected
    # What is installed is read afresh while the interpreter's answer is reused: pip
    # installing or removing a distribution changes no file the answer depends on.
    assert len(asked) == probes


def test_changed_build_pin_forces_rebuild_and_reinstall(
    index, venv_factory, installer, tmp_path: Path
) -> None:  # noqa: ANN001
    env = venv_factory()
    cache = tmp_path / "cache"
    do_sync(abi_lock(index, env.python), env, cache, installer=installer)
    # Only a build-only pin changes (a tool in the build environment): same runtime
    # versions, yet the installed build no longer matches the lock.
    tool = wheel_pkg(index, index.paths["tool11"], runtime=False)
    lock2 = abi_lock(index, env.python, extra_pins=("buildtool==1.1",), extra_packages=(tool,))
    result = do_sync(lock2, env, cache, installer=installer)
    assert result.built == ("abiext==1.0",)  # the cached build for other pins is not reused
    assert [(s.name, s.action) for s in result.plan.install] == [("abiext", "reinstall")]
    assert "other build pins" in result.plan.install[0].reason
    # And a runtime + build pin move of the ABI provider: upgrade, rebuild, still coherent.
    lock3 = abi_lock(index, env.python, prov="prov2")
    result = do_sync(lock3, env, cache, installer=installer)
    actions = {s.name: s.action for s in result.plan.install}
    assert actions == {"abiprov": "upgrade", "abiext": "reinstall"}
    out = env.run("-c", IMPORT_ABI)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2.0", "2.0"]


def test_nested_build_stage_uses_wheel_built_earlier(
    index, venv_factory, installer, tmp_path: Path
) -> None:  # noqa: ANN001
    env = venv_factory()
    p = index.paths
    lock = make_lock(
        env.python,
        [
            wheel_pkg(index, p["prov1"]),
            sdist_pkg(index, p["ext_nested"], deps=["abiprov"]),
            sdist_pkg(index, p["tool"], runtime=False),
        ],
        [
            build_env("nestext", "1.0", ("abiprov==1.0", "buildtool==1.0"), shared=["abiprov"]),
            build_env("buildtool", "1.0", ()),
        ],
    )
    result = do_sync(lock, env, tmp_path / "cache", jobs=2, installer=installer)
    assert [[s.key for s in stage] for stage in result.plan.build_stages] == [
        ["buildtool==1.0"],
        ["nestext==1.0"],
    ]
    assert set(result.built) == {"buildtool==1.0", "nestext==1.0"}
    assert env.freeze() == {"abiprov": "1.0", "nestext": "1.0"}  # build-only tool not installed
    assert env.run("-c", "import nestext").returncode == 0


def test_failed_build_leaves_environment_unchanged(index, venv_factory, tmp_path: Path) -> None:  # noqa: ANN001
    env = venv_factory()
    env.pip("install", "--index-url", index.url, "extraneous==3.0")
    before = env.freeze()
    p = index.paths
    lock = make_lock(
        env.python,
        [wheel_pkg(index, p["other"]), sdist_pkg(index, p["broken"])],
        [build_env("broken", "1.0", ())],
    )
    with pytest.raises(BuildError) as info:
        do_sync(lock, env, tmp_path / "cache")
    message = info.value.render()
    assert "broken==1.0" in message and "Nothing in the target environment was changed" in message
    log = Path(message.split("log: ")[1].split()[0].rstrip(".;"))
    assert "the compiler exploded" in log.read_text()
    assert env.freeze() == before
    error = info.value
    assert (error.package, str(error.version)) == ("broken", "1.0")
    assert (error.hook, error.log) == ("build_wheel", log)


def test_shared_abi_pin_mismatch_refused_before_install(
    index, venv_factory, tmp_path: Path
) -> None:  # noqa: ANN001
    env = venv_factory()
    p = index.paths
    # An inconsistent lock: builds against abiprov 2.0, installs 1.0, and says it is shared.
    lock = make_lock(
        env.python,
        [
            wheel_pkg(index, p["prov1"]),
            wheel_pkg(index, p["prov2"], runtime=False),
            sdist_pkg(index, p["ext"], deps=["abiprov"]),
        ],
        [build_env("abiext", "1.0", ("abiprov==2.0",), shared=["abiprov"])],
    )
    with pytest.raises(SyncError, match="built against abiprov 2.0, but the lock installs") as info:
        do_sync(lock, env, tmp_path / "cache")
    assert env.freeze() == {}
    assert info.value.package == "abiext"
    assert info.value.path is not None and info.value.path.name.startswith("abiext-1.0")


def test_extraneous_removed_and_dry_run_exit_codes(
    index, venv_factory, installer, tmp_path: Path
) -> None:  # noqa: ANN001
    env = venv_factory()
    env.pip("install", "--index-url", index.url, "extraneous==3.0", "other==1.0")
    lockfile = tmp_path / "requirements.lock"
    write_lock(lockfile, abi_lock(index, env.python))
    args = [
        lockfile,
        "--python",
        env.path,
        "--cache-dir",
        tmp_path / "cache",
        "--installer",
        installer,
    ]

    code, out = run_cli(sync_cmd.command, [*args, "--dry-run"])
    assert code == 1
    assert "remove    extraneous==3.0" in out and "install   abiext==1.0" in out
    assert env.freeze() == {"extraneous": "3.0", "other": "1.0"}  # dry run changed nothing

    code, out = run_cli(sync_cmd.command, [*args, "-q"])
    assert code == 0, out
    assert env.freeze() == {"abiprov": "1.0", "abiext": "1.0", "other": "1.0"}

    code, out = run_cli(sync_cmd.command, [*args, "--dry-run"])
    assert (code, out.strip()) == (0, "Nothing would change.")


def test_mismatching_interpreter_refused(index, venv_factory, tmp_path: Path) -> None:  # noqa: ANN001
    env = venv_factory()
    lock = abi_lock(index, env.python)
    wrong = replace(lock, targets=(replace(lock.targets[0], python_version="3.99"),))
    with pytest.raises(TargetError, match="python-version 3.99"):
        do_sync(wrong, env, tmp_path / "cache")


def test_uv_installer_syncs_the_same_environment(index, venv_factory, tmp_path: Path) -> None:  # noqa: ANN001
    from lock_build.sync import installers

    if installers.find_uv() is None:
        pytest.skip("uv is not installed (it is in the test extra)")
    env = venv_factory()
    env.pip("install", "--index-url", index.url, "extraneous==3.0")
    result = do_sync(abi_lock(index, env.python), env, tmp_path / "cache", installer="uv")
    assert result.built == ("abiext==1.0",)
    assert env.freeze() == {"abiprov": "1.0", "abiext": "1.0", "other": "1.0"}
    fixed = env.run("-c", IMPORT_ABI)
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.split() == ["1.0", "1.0"]


def test_uv_installer_missing_is_a_clear_error(
    index, venv_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    from lock_build.sync import installers

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(installers, "UV_BESIDE", tmp_path / "empty")
    env = venv_factory()
    with pytest.raises(SyncError, match="uv is not on PATH nor beside lock-build"):
        do_sync(abi_lock(index, env.python), env, tmp_path / "cache", installer="uv")


def test_install_failure_midway_says_what_changed_and_rerun_completes(
    index, venv_factory, installer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    from lock_build.sync import installers

    env = venv_factory()
    env.pip("install", "--index-url", index.url, "extraneous==3.0")
    lock = abi_lock(index, env.python)

    def killed(self, names):  # noqa: ANN001, ANN202
        raise installers.InstallFailed("pip uninstall", "Killed")

    with monkeypatch.context() as patch:
        patch.setattr(installers.PipInstaller, "uninstall", killed)
        with pytest.raises(SyncError) as info:
            do_sync(lock, env, tmp_path / "cache", installer=installer)
    message = info.value.render()
    assert "so far installed abiext 1.0, installed abiprov 1.0, installed other 1.0" in message
    assert "Run lock-build sync again" in message
    again = do_sync(lock, env, tmp_path / "cache", installer=installer)
    assert [r.name for r in again.plan.remove] == ["extraneous"] and again.built == ()
    assert env.freeze() == {"abiprov": "1.0", "abiext": "1.0", "other": "1.0"}


def test_externally_managed_interpreter_refused(
    index, venv_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    from dataclasses import replace

    from lock_build.sync import prepare

    env = venv_factory()
    stdlib = tmp_path / "stdlib"
    stdlib.mkdir()
    (stdlib / "EXTERNALLY-MANAGED").write_text("[externally-managed]\n")
    real = inspect_environment(env.python)
    # What a distribution's system interpreter looks like: not a venv, marker in stdlib.
    system = replace(real, base_prefix=real.prefix, stdlib=stdlib)
    assert system.externally_managed and not real.externally_managed
    monkeypatch.setattr(prepare, "inspect_environment", lambda python, **_: system)
    lock = abi_lock(index, env.python)
    with pytest.raises(SyncError, match="externally managed") as info:
        do_sync(lock, env, tmp_path / "cache")
    assert env.freeze() == {}
    assert info.value.path == env.python.absolute() and info.value.package is None
    assert do_sync(lock, env, tmp_path / "cache", dry_run=True).plan.changes  # dry run allowed


def test_tampered_artifact_is_refused_before_anything_changes(
    index, venv_factory, tmp_path: Path
) -> None:  # noqa: ANN001
    from dataclasses import replace

    from lock_build.errors import HashMismatchError

    env = venv_factory()
    env.pip("install", "--index-url", index.url, "extraneous==3.0")
    before = env.freeze()
    lock = abi_lock(index, env.python)
    # The lock promises another file than the index serves for abiprov 1.0.
    packages = tuple(
        replace(p, wheels=tuple(replace(w, sha256="0" * 64) for w in p.wheels))
        if p.name == "abiprov" and p.wheels
        else p
        for p in lock.packages
    )
    with pytest.raises(HashMismatchError) as info:
        do_sync(replace(lock, packages=packages), env, tmp_path / "cache")
    assert "abiprov" in info.value.render()
    assert env.freeze() == before
    assert info.value.expected == ("0" * 64,) and info.value.got not in (None, "0" * 64)
    assert info.value.url is not None and "abiprov" in info.value.url


# --------------------------------------------------------------------------- builtin installer


def test_builtin_installer_writes_what_pip_writes_and_pip_can_remove_it(
    index, venv_factory, tmp_path: Path
) -> None:  # noqa: ANN001
    env = venv_factory()
    stray = env.site_packages / "other" / "__init__.py"  # left by no distribution
    stray.parent.mkdir(parents=True)
    stray.write_text("STRAY = True\n")
    do_sync(abi_lock(index, env.python), env, tmp_path / "cache", installer="builtin", jobs=2)
    assert "STRAY" not in stray.read_text()  # replaced, as pip replaces it
    dist_info = env.site_packages / "other-1.0.dist-info"
    assert (dist_info / "INSTALLER").read_text() == "lock-build\n"
    assert (dist_info / "REQUESTED").read_text() == ""
    # Bytecode compiled by the target interpreter (its cache tag) and listed in RECORD
    # with its hash, as pip lists it, so that pip's uninstall removes it.
    cached = env.run("-c", "import other; print(other.__cached__)").stdout.strip()
    pyc = Path(cached)
    assert pyc.is_file()
    rows = {row.split(",")[0]: row for row in (dist_info / "RECORD").read_text().splitlines()}
    relative = pyc.relative_to(env.site_packages).as_posix()
    assert relative in rows and rows[relative].endswith(f",{pyc.stat().st_size}")
    assert rows["other-1.0.dist-info/INSTALLER"]

    env.pip("uninstall", "-y", "other")
    assert not (env.site_packages / "other").exists() and not dist_info.exists()


def test_builtin_installer_writes_the_files_and_bytecode_pip_writes(
    index, venv_factory, tmp_path: Path
) -> None:  # noqa: ANN001
    """The same files, and the same .pyc set (the target's cache tag, the optimisation
    level pip uses), listed in RECORD as pip lists them; only INSTALLER names the tool."""
    big = index.add_wheel(
        "manymods",
        "1.0",
        files={f"manymods/m{i}.py": f"X = {i}\n" * 2000 for i in range(40)},  # > 1 batch
    )
    written = {}
    for tool in ("pip", "builtin"):
        env = venv_factory(tool)
        lock = abi_lock(index, env.python, extra_packages=(wheel_pkg(index, big),))
        do_sync(lock, env, tmp_path / f"cache-{tool}", installer=tool, jobs=2)
        files = {
            p.relative_to(env.site_packages).as_posix()
            for p in env.site_packages.rglob("*")
            if p.is_file()
        }
        pycs = {f for f in files if f.endswith(".pyc")}
        records = {
            record.parent.name: {row.split(",")[0] for row in record.read_text().splitlines()}
            for record in env.site_packages.glob("*.dist-info/RECORD")
        }
        written[tool] = (files, pycs, records)
    pip_files, pip_pycs, pip_records = written["pip"]
    files, pycs, records = written["builtin"]
    assert len(pycs) > 40 and pycs == pip_pycs
    assert files == pip_files
    assert records == pip_records


@pytest.mark.parametrize("tool", ["pip", "builtin", "uv"])
@pytest.mark.parametrize("compile_bytecode", [True, False], ids=["compile", "no-compile"])
def test_every_installer_compiles_bytecode_unless_told_not_to(
    index, venv_factory, tmp_path: Path, tool: str, compile_bytecode: bool
) -> None:  # noqa: ANN001
    """pip's default for all three (uv's own default is not to compile); --no-compile
    leaves no .pyc behind and none in RECORD (uv never lists its .pyc there)."""
    from lock_build.sync import installers

    if tool == "uv" and installers.find_uv() is None:
        pytest.skip("uv is not installed (it is in the test extra)")
    env = venv_factory()
    lockfile = tmp_path / "requirements.lock"
    write_lock(lockfile, abi_lock(index, env.python))
    args = [lockfile, "--python", env.path, "--cache-dir", tmp_path / "cache", "-q"]
    args += ["--installer", tool, "--compile" if compile_bytecode else "--no-compile"]
    code, out = run_cli(sync_cmd.command, args)
    assert code == 0, out
    package = env.site_packages / "abiprov"
    pycs = sorted(p.name for p in package.rglob("*.pyc"))
    record = next(env.site_packages.glob("abiprov-*.dist-info/RECORD")).read_text()
    if compile_bytecode:
        assert pycs and (tool == "uv" or ".pyc," in record)
    else:
        assert pycs == [] and ".pyc," not in record
    imported = env.run("-c", "import abiprov")
    assert imported.returncode == 0, imported.stderr


@pytest.mark.parametrize(
    ("module", "said"), [("bytecode", "compiler gone"), ("unpack_pool", "unpacker gone")]
)
def test_builtin_installer_worker_dying_is_a_sync_error_and_rerun_completes(
    index, venv_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, said: str
) -> None:  # noqa: ANN001
    """A compile worker or an unpack worker that dies: the sync says why, the batch stays
    unverified in the journal, and the next sync completes it."""
    import importlib

    from lock_build.sync.journal import journal_path

    workers = importlib.import_module(f"lock_build.sync.{module}")
    env = venv_factory()
    lock = abi_lock(index, env.python)
    with monkeypatch.context() as patch:
        patch.setattr(workers, "_WORKER_SCRIPT", f"import sys; sys.exit({said!r})")
        with pytest.raises(SyncError) as info:
            do_sync(lock, env, tmp_path / "cache", installer="builtin", jobs=2)
    assert "builtin failed while changing" in info.value.render()
    assert info.value.detail is not None and said in info.value.detail
    assert journal_path(env.python.parent.parent).is_file()  # the batch stays unverified
    do_sync(lock, env, tmp_path / "cache", installer="builtin", jobs=2)
    assert env.freeze() == {"abiprov": "1.0", "abiext": "1.0", "other": "1.0"}
    assert not journal_path(env.python.parent.parent).exists()
    assert Path(env.run("-c", "import other; print(other.__cached__)").stdout.strip()).is_file()


def test_builtin_installer_unpacks_the_same_in_worker_processes_as_in_process(
    index, venv_factory, tmp_path: Path
) -> None:  # noqa: ANN001
    """-j 1 unpacks here, -j 2 in worker processes: the same files, bytes and RECORDs."""
    trees = {}
    for jobs in (1, 2):
        env = venv_factory(f"jobs{jobs}")
        do_sync(
            abi_lock(index, env.python),
            env,
            tmp_path / f"cache{jobs}",
            installer="builtin",
            jobs=jobs,
        )
        trees[jobs] = _installed_tree(env)
        assert env.freeze() == {"abiprov": "1.0", "abiext": "1.0", "other": "1.0"}
    assert trees[1] == trees[2]


def _staging_left(env) -> list[str]:  # noqa: ANN001
    prefix = env.python.parent.parent
    return [p.name for p in prefix.iterdir() if p.name.startswith(STAGING_PREFIX)]


def _installed_tree(env) -> dict[str, bytes]:  # noqa: ANN001
    tree = {
        p.relative_to(env.site_packages).as_posix(): p.read_bytes()
        for p in env.site_packages.rglob("*")
        if p.is_file() and p.suffix != ".pyc" and p.name != "RECORD"
    }
    tree["records"] = b"".join(
        sorted(
            row.encode()
            for record in env.site_packages.glob("*.dist-info/RECORD")
            for row in record.read_text().splitlines()
            if ".pyc," not in row  # a .pyc's bytes depend on its compile worker
        )
    )
    return tree


def test_builtin_installer_splits_a_big_wheel_between_workers_and_installs_the_same(
    index, venv_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    """A wheel with many files (here: 40, the threshold lowered) is unpacked by both
    workers at once: the same files, bytes and RECORDs as one process unpacking it."""
    from lock_build.sync import installers, unpack_pool, wheel_unpack

    files = {f"many/mod{i:02d}.py": f"X = {i}\n" for i in range(40)}
    lock = make_lock(
        venv_factory("probe").python,
        [
            wheel_pkg(index, index.add_wheel("many", "1.0", files=files)),
            wheel_pkg(index, index.add_wheel("few", "1.0", files={"few/a.py": "A = 1\n"})),
        ],
    )
    monkeypatch.setattr(installers, "_SHARED_WHEEL_BYTES", 0)
    monkeypatch.setattr(wheel_unpack, "SPLIT_FILES", 10)
    shared: list[str] = []
    submit_share = unpack_pool.UnpackPool.submit_share
    monkeypatch.setattr(
        unpack_pool.UnpackPool,
        "submit_share",
        lambda self, wheel, **k: (shared.append(Path(wheel).name), submit_share(self, wheel, **k))[
            1
        ],
    )
    trees = {}
    for jobs in (1, 2):
        env = venv_factory(f"jobs{jobs}")
        do_sync(lock, env, tmp_path / f"cache{jobs}", installer="builtin", jobs=jobs)
        assert env.freeze() == {"many": "1.0", "few": "1.0"}
        trees[jobs] = _installed_tree(env)
        assert len(list((env.site_packages / "many" / "__pycache__").glob("*.pyc"))) == 41
    assert shared == ["many-1.0-py3-none-any.whl"]
    assert trees[1] == trees[2]


@pytest.mark.parametrize("jobs", [1, 2], ids=["in-place", "staged"])
def test_builtin_installer_refuses_two_wheels_sharing_a_file_before_writing(
    index, venv_factory, tmp_path: Path, jobs: int
) -> None:  # noqa: ANN001
    """In place (-j 1) the check comes before unpacking; staged (-j 2), before anything is
    moved in, and the staging area is gone after."""
    one = index.add_wheel("clash-one", "1.0", files={"common/util.py": "WHO = 'one'\n"})
    two = index.add_wheel("clash-two", "1.0", files={"common/util.py": "WHO = 'two'\n"})
    env = venv_factory()
    lock = make_lock(env.python, [wheel_pkg(index, one), wheel_pkg(index, two)])
    with pytest.raises(SyncError, match=r"clash_one-1\.0.*clash_two-1\.0.*common/util\.py"):
        do_sync(lock, env, tmp_path / "cache", installer="builtin", jobs=jobs)
    assert env.freeze() == {}
    assert not (env.site_packages / "common").exists()
    assert not _staging_left(env)


def test_builtin_installer_stages_a_venvs_wheels_and_leaves_no_staging_behind(
    index, venv_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    """-j 2 into a venv: every wheel is unpacked in the staging area, then moved in; the
    area is gone after the sync."""
    from lock_build.sync import staging

    moved: list[int] = []
    move_in = staging.StagingArea.move_in
    monkeypatch.setattr(
        staging.StagingArea, "move_in", lambda self, i: (moved.append(i), move_in(self, i))[1]
    )
    env = venv_factory()
    do_sync(abi_lock(index, env.python), env, tmp_path / "cache", installer="builtin", jobs=2)
    assert sorted(moved) == [0, 1, 2]
    assert env.freeze() == {"abiprov": "1.0", "abiext": "1.0", "other": "1.0"}
    assert not _staging_left(env)
    assert Path(env.run("-c", "import other; print(other.__cached__)").stdout.strip()).is_file()


# -- the wheel must be what compile locked ---------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"requires_dist": ()}, "requires abiprov that compile did not see"),
        ({"version": "9.0"}, "says version 1.0, the lock 9.0"),
    ],
    ids=["requires-dist", "version"],
)
@pytest.mark.parametrize("jobs", [1, 2])
def test_sync_refuses_a_wheel_whose_metadata_differs_from_the_lock(
    index, venv_factory, tmp_path: Path, change: dict, message: str, jobs: int
) -> None:  # noqa: ANN001
    """A consistent but wrong .metadata file locked another dependency set: refused
    before the environment changes (it used to end in a `pip check` failure); with -j 2
    the wheels were already staged, and the staging area is gone."""
    from packaging.version import Version

    env = venv_factory()
    dependent = index.add_wheel("needsprov", "1.0", requires=["abiprov"])
    pkg = wheel_pkg(index, dependent)
    pkg = replace(
        pkg,
        **{k: Version(v) if k == "version" else v for k, v in change.items()},  # type: ignore[arg-type]
    )
    lock = make_lock(env.python, [wheel_pkg(index, index.paths["prov1"]), pkg])

    with pytest.raises(SyncError) as info:
        do_sync(lock, env, tmp_path / "cache", jobs=jobs)

    assert message in info.value.render() and "Nothing was installed" in info.value.render()
    assert env.freeze() == {}
    assert not _staging_left(env)
