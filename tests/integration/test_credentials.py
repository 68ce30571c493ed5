"""Credentials in every spelling a user can give them never reach the lock, an export, a
plan, a graph, or any message (with -vv, so every progress line is shown)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_compile_harness import Project, make_project

from support.index import LocalIndex, LocalIndexServer

SECRET = "s3cr3t-pw"

# (how the authenticated index URL is given) -> (args, requirements.in prefix, env, files)
Given = tuple[list[str], str, dict[str, str], dict[str, str]]


def _spellings(auth: str, plain: str, other: str) -> dict[str, Given]:
    return {
        "flag-spaced": (["--index-url", auth], "", {}, {}),
        "flag-equals": ([f"--index-url={auth}"], "", {}, {}),
        "short-glued": ([f"-i{auth}"], "", {}, {}),
        "short-spaced": (["-i", auth], "", {}, {}),
        "extra-equals": (["--index-url", other, f"--extra-index-url={auth}"], "", {}, {}),
        "extra-spaced": (["--index-url", other, "--extra-index-url", auth], "", {}, {}),
        "req-line-spaced": ([], f"--index-url {auth}\n", {}, {}),
        "req-line-equals": ([], f"--index-url={auth}\n", {}, {}),
        "req-line-short-glued": ([], f"-i{auth}\n", {}, {}),
        "req-line-extra-equals": (["--index-url", other], f"--extra-index-url={auth}\n", {}, {}),
        "PIP_INDEX_URL": ([], "", {"PIP_INDEX_URL": auth}, {}),
        "PIP_EXTRA_INDEX_URL": (["--index-url", other], "", {"PIP_EXTRA_INDEX_URL": auth}, {}),
        "pip.conf": (
            [],
            "",
            {"PIP_CONFIG_FILE": "pip.conf"},
            {"pip.conf": f"[global]\nindex-url = {auth}\n"},
        ),
        "netrc": (
            ["--index-url", plain],
            "",
            {"NETRC": "netrc"},
            {"netrc": f"machine 127.0.0.1 login user password {SECRET}\n"},
        ),
    }


SPELLINGS = sorted(_spellings("A", "P", "O"))


@pytest.fixture
def project(tmp_path: Path, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> Project:
    return make_project(tmp_path, local_index, monkeypatch)


@pytest.fixture
def other_index(index_server: LocalIndexServer, tmp_path: Path):  # noqa: ANN201
    index = index_server.new_index(directory=tmp_path / "_other")
    yield index
    index_server.remove_index(index)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_credentials_are_redacted_everywhere(
    project: Project, other_index: LocalIndex, spelling: str
) -> None:
    index = project.index
    index.basic_auth = ("user", SECRET)
    index.add_wheel("alpha", "1.0", requires=["beta"])
    index.add_wheel("beta", "1.0")
    args, prefix, env, files = _spellings(index.auth_url, index.url, other_index.url)[spelling]
    for name, text in files.items():
        project.write(name, text)
    env = {
        k: str(project.root / v) if k in ("PIP_CONFIG_FILE", "NETRC") else v for k, v in env.items()
    }
    project.write("requirements.in", prefix + "alpha\n")

    outputs = [project.compile("requirements.in", "-vv", *args, index=False, env=env).ok()]
    assert project.pins() == {"alpha": "1.0", "beta": "1.0"}
    for fmt in ("requirements", "build-constraints", "pylock"):
        outputs.append(
            project.run("export", "requirements.lock", "--format", fmt, "-vv", index=False)
        )
    for fmt in ("text", "json", "sh"):
        outputs.append(project.run("plan", "requirements.lock", "--format", fmt, index=False))
    outputs.append(project.run("graph", "requirements.lock", index=False))
    # A failing run's message too (a project no index has).
    project.write("missing.in", prefix + "nosuchpkg\n")
    failed = project.compile("missing.in", "-o", "missing.lock", "-vv", *args, index=False, env=env)
    assert failed.exit_code == 2 and "nosuchpkg" in failed.stderr, failed.output
    outputs.append(failed)

    for run in outputs:
        assert SECRET not in run.output, run.output
    lock = project.read("requirements.lock")
    assert SECRET not in lock
    if spelling != "netrc":
        assert "127.0.0.1" in lock  # the index is recorded, without its password
    assert all(SECRET not in p.read_text(errors="replace") for p in project.root.rglob("*.lock"))


@pytest.mark.parametrize("where", ["PIP_INDEX_URL", "pip.conf", "netrc"])
def test_sync_reattaches_credentials_to_the_redacted_lock_urls(
    project: Project,
    venv_factory,
    where: str,  # noqa: ANN001
) -> None:
    """The lock holds URLs without credentials; sync gets them back, by host, from the
    index settings of its own run (pip's configuration, PIP_*, netrc), as pip does."""
    index = project.index
    index.basic_auth = ("user", SECRET)
    index.add_wheel("alpha", "1.0")
    project.write("requirements.in", "alpha\n")
    project.compile("--index-url", index.auth_url, index=False).ok()
    assert SECRET not in project.read("requirements.lock")
    env_vars = {
        "PIP_INDEX_URL": {"PIP_INDEX_URL": index.auth_url},
        "pip.conf": {
            "PIP_CONFIG_FILE": str(
                project.write("pip.conf", f"[global]\nindex-url = {index.auth_url}\n")
            )
        },
        "netrc": {
            "PIP_INDEX_URL": index.url,
            "NETRC": str(
                project.write("netrc", f"machine 127.0.0.1 login user password {SECRET}\n")
            ),
        },
    }[where]
    env = venv_factory()

    run = project.run(
        "sync", "requirements.lock", "--python", str(env.python), index=False, env=env_vars
    )

    assert run.exit_code == 0, run.output
    assert SECRET not in run.output
    assert env.freeze() == {"alpha": "1.0"}
