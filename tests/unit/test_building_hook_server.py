"""Hooks forked from a server that imported the backend: as a fresh process would run them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from lock_build.building.hook_server import (
    HookServer,
    HookServerFailed,
    HookServers,
    servers_enabled,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork servers: Linux")

# A stand-in for pyproject_hooks' _in_process script: what it sees of its process.
_SCRIPT = """
import json, os, sys
import fakebackend
fakebackend.CALLS.append(sys.argv[1])
print("hook output")
print("hook error", file=sys.stderr)
with open(os.path.join(sys.argv[2], "out.json"), "w") as out:
    json.dump({"argv": sys.argv, "cwd": os.getcwd(), "calls": fakebackend.CALLS,
               "env": os.environ.get("HOOK_VAR"), "main": __name__,
               "imported_before": fakebackend.IMPORTED_PID != os.getpid()}, out)
if sys.argv[1] == "fail":
    raise SystemExit(3)
if sys.argv[1] == "crash":
    raise RuntimeError("backend broke")
"""


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "fakebackend.py").write_text("import os\nCALLS = []\nIMPORTED_PID = os.getpid()\n")
    (lib / "broken_backend.py").write_text("raise ImportError('no such backend')\n")
    script = tmp_path / "hooks" / "_in_process.py"
    script.parent.mkdir()
    script.write_text(_SCRIPT)
    source = tmp_path / "sdist"
    source.mkdir()
    return {"lib": lib, "script": script, "source": source, "tmp": tmp_path}


def _env(world: dict[str, Path]) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(world["lib"])}


def _server(world: dict[str, Path], module: str = "fakebackend") -> HookServer:
    return HookServer(
        Path(sys.executable),
        module,
        env=_env(world),
        cwd=world["tmp"],
        errors=world["tmp"] / "errors.log",
    )


def _run(server: HookServer, world: dict[str, Path], hook: str) -> tuple[int, dict]:
    import json

    control = world["tmp"] / f"control-{hook}"
    control.mkdir(exist_ok=True)
    status = server.run(
        [sys.executable, str(world["script"]), hook, str(control)],
        cwd=str(world["source"]),
        environ={"HOOK_VAR": hook},
        log=world["tmp"] / "build.log",
    )
    return status, json.loads((control / "out.json").read_text())


def test_each_hook_runs_in_a_fresh_child_of_the_imported_backend(world: dict[str, Path]) -> None:
    server = _server(world)
    try:
        first_status, first = _run(server, world, "get_requires_for_build_wheel")
        second_status, second = _run(server, world, "prepare_metadata_for_build_wheel")
    finally:
        server.close()
    assert first_status == second_status == 0
    # Imported once, in the server; each child starts from that state, not the last hook's.
    assert first["imported_before"] and second["imported_before"]
    assert first["calls"] == ["get_requires_for_build_wheel"]
    assert second["calls"] == ["prepare_metadata_for_build_wheel"]
    # As `python _in_process.py HOOK DIR` in the sdist, with the hook's variables.
    assert second["argv"][0] == str(world["script"])
    assert second["argv"][1:] == [
        "prepare_metadata_for_build_wheel",
        str(world["tmp"] / "control-prepare_metadata_for_build_wheel"),
    ]
    assert (
        second["cwd"] == str(world["source"])
        and second["env"] == "prepare_metadata_for_build_wheel"
    )
    assert second["main"] == "__main__"
    log = (world["tmp"] / "build.log").read_text()
    assert log.count("hook output") == 2 and log.count("hook error") == 2


def test_exit_statuses_are_the_hooks_own(world: dict[str, Path]) -> None:
    server = _server(world)
    try:
        assert _run(server, world, "fail")[0] == 3
        assert _run(server, world, "crash")[0] == 1
        assert _run(server, world, "ok")[0] == 0  # the server outlives a failing hook
    finally:
        server.close()
    assert "RuntimeError: backend broke" in (world["tmp"] / "build.log").read_text()


def test_a_backend_that_does_not_import_means_no_server(world: dict[str, Path]) -> None:
    with pytest.raises(HookServerFailed):
        _server(world, "broken_backend")
    assert "no such backend" in (world["tmp"] / "errors.log").read_text()
    servers = HookServers(
        Path(sys.executable), env=_env(world), cwd=world["tmp"], errors=world["tmp"] / "e2.log"
    )
    control = world["tmp"] / "c"
    control.mkdir()
    cmd = [sys.executable, str(world["script"]), "ok", str(control)]
    args = {"cwd": str(world["source"]), "environ": {}, "log": world["tmp"] / "build.log"}
    assert servers.run("broken_backend", cmd, **args) is None  # the caller runs it itself
    assert servers.run("fakebackend", cmd, **args) == 0
    servers.close()
    assert servers.run("fakebackend", cmd, **args) is None  # closed: nothing new starts


def test_servers_are_reused_and_an_empty_error_log_is_not_left(world: dict[str, Path]) -> None:
    errors = world["tmp"] / "servers.log"
    servers = HookServers(Path(sys.executable), env=_env(world), cwd=world["tmp"], errors=errors)
    control = world["tmp"] / "c"
    control.mkdir()
    cmd = [sys.executable, str(world["script"]), "ok", str(control)]
    args = {"cwd": str(world["source"]), "environ": {}, "log": world["tmp"] / "build.log"}
    assert servers.run("fakebackend", cmd, **args) == 0
    assert servers.run("fakebackend", cmd, **args) == 0
    assert len(servers._idle["fakebackend"]) == 1  # one server did both
    servers.close()
    assert not errors.exists()


@pytest.mark.parametrize(
    ("environ", "platform", "enabled"),
    [
        ({}, "linux", True),
        ({"LOCK_BUILD_NO_HOOK_SERVER": "0"}, "linux", True),
        ({"LOCK_BUILD_NO_HOOK_SERVER": "1"}, "linux", False),
        ({}, "darwin", False),
        ({}, "win32", False),
    ],
)
def test_servers_are_for_linux_unless_switched_off(
    environ: dict[str, str], platform: str, enabled: bool
) -> None:
    assert servers_enabled(environ, platform=platform) is enabled


def test_a_server_that_dies_before_it_is_ready_is_reaped(
    world: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lock_build.building import hook_server

    monkeypatch.setattr(hook_server, "_SERVER_SCRIPT", "import sys; sys.exit('no server')")
    with pytest.raises(HookServerFailed, match="no answer"):
        _server(world)
    assert "no server" in (world["tmp"] / "errors.log").read_text()
