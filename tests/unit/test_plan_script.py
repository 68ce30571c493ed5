"""The plan as a plain-pip shell script: layout, quoting, the default interpreter."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest
from packaging.utils import NormalizedName
from packaging.version import Version
from test_plan import DIAMOND, _file

from lock_build.plan import BuildPinSource, BuildStep, Plan, RemoveStep, make_plan
from lock_build.plan_script import plan_script


def test_sh_files() -> None:
    files = plan_script(make_plan(DIAMOND))
    body = files["plan.sh"]
    assert body.startswith("#!/bin/sh") and "set -eu" in body
    # stage order in the script follows the build graph
    assert (
        body.index("env-backend-1.0")
        < body.index("env-cython-3.0.0")
        < body.index("env-cftime-1.6.1")
    )
    build_cftime = files["build-cftime-1.6.1.txt"]
    assert (
        build_cftime
        == f"numpy==2.2.6 --hash=sha256:{_file('numpy-2.2.6-py3-none-any.whl').sha256}\n"
    )
    assert "built_req cython 3.0.0 'cython-3.0.0-*.whl'" in body  # built pin hashed at run time
    assert "wheel --no-build-isolation --no-deps --no-cache-dir" in body
    assert files["install.txt"].startswith("numpy==2.2.6 --hash=sha256:")
    assert "uninstall" not in body


HOSTILE = "evil;touch pwned"  # a lock is untrusted: a name may be anything canonicalize_name keeps

_RECORDER = 'for arg in "$@"; do printf "%s\\n" "$arg" >> "$RECORD"; done\necho --- >> "$RECORD"\n'


def _hostile_plan() -> Plan:
    name = NormalizedName(HOSTILE)
    step = BuildStep(
        name=name,
        version=Version("1.0"),
        sdist=None,
        sdist_url=None,
        sdist_sha256=None,
        source_url="/src/a b;touch pwned",
        source_kind="directory",
        pins=(BuildPinSource(name=name, version=Version("2.0"), wheel="x.whl", sha256="0" * 64),),
        config_settings=(("k", "$(touch pwned)"),),
        fingerprint="f" * 64,
    )
    return Plan(
        target={},
        fetch=(),
        build_stages=((step,),),
        install=(),
        remove=(RemoveStep(name=name, version="1.0"),),
        against_environment=True,
    )


def _run(script: str, tmp_path, **environ: str) -> list[list[str]]:  # noqa: ANN001
    """Run ``script`` with a PIP that records its arguments; return one list per call."""
    (tmp_path / "plan.sh").write_text(script)
    (tmp_path / "recorder.sh").write_text(_RECORDER)
    record = tmp_path / "record.txt"
    env = {"PATH": "/usr/bin:/bin", "RECORD": str(record), **environ}
    env["PIP"] = f"sh {shlex.quote(str(tmp_path / 'recorder.sh'))}"
    run = subprocess.run(
        ["sh", "plan.sh"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    calls = record.read_text().split("---\n")
    return [call.splitlines() for call in calls if call]


def test_every_lock_value_reaches_pip_as_one_argument(tmp_path, python: str) -> None:  # noqa: ANN001
    calls = _run(plan_script(_hostile_plan())["plan.sh"], tmp_path, PYTHON=python)
    assert not list(tmp_path.glob("pwned*"))  # nothing in the lock ran as shell
    install, wheel, uninstall = calls
    assert install[:2] == ["--python", f"{tmp_path}/work/env-{HOSTILE}-1.0/bin/python"]
    assert f"{tmp_path}/build-{HOSTILE}-1.0.txt" in install
    assert wheel[-1] == "/src/a b;touch pwned"
    assert wheel[wheel.index("--config-settings") + 1] == "k=$(touch pwned)"
    assert uninstall == ["--python", python, "uninstall", "-y", HOSTILE]


def test_without_python_the_script_uses_python3_on_path_as_an_absolute_path(
    tmp_path,  # noqa: ANN001
    python: str,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(python)
    plan = Plan(
        target={},
        fetch=(),
        build_stages=(),
        install=(),
        remove=(RemoveStep(name=NormalizedName("old"), version="1.0"),),
        against_environment=True,
    )
    calls = _run(plan_script(plan)["plan.sh"], tmp_path, PATH=f"{bin_dir}:/usr/bin:/bin")
    (uninstall,) = calls
    assert uninstall[0] == "--python" and uninstall[1].startswith("/")
    assert (
        uninstall[1]
        == subprocess.run(
            [bin_dir / "python3", "-c", "import sys; print(sys.executable)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )


def test_without_python3_on_path_the_script_says_so(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "plan.sh").write_text(plan_script(make_plan(DIAMOND))["plan.sh"])
    bin_dir = tmp_path / "bin"  # what the script needs before it looks for python3
    bin_dir.mkdir()
    (bin_dir / "dirname").symlink_to(_which("dirname"))
    run = subprocess.run(
        [_which("sh"), "plan.sh"],
        cwd=tmp_path,
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    assert "no python3 on PATH; set PYTHON=/path/to/python" in run.stderr


def _which(command: str) -> str:
    found = shutil.which(command)
    assert found is not None
    return found


@pytest.fixture
def python() -> str:
    import sys

    return sys.executable
