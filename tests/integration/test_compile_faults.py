"""`lock-build compile` against a faulty index: one clear error, exit 2, in bounded time,
no lock written, no credentials shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_compile_harness import Project, make_project

from support.index import Fault, LocalIndex

CASES = {
    "429-retry-after": (
        "simple/alpha/",
        Fault(kind="status", status=429, retry_after="1"),
        "answered HTTP 429 (Too Many Requests, Retry-After: 1) after 1 retry",
    ),
    "503": ("simple/alpha/", Fault(kind="status", status=503), "answered HTTP 503"),
    "hang": (
        "simple/alpha/",
        Fault(kind="hang", seconds=4),
        "did not answer within 1 s (after 1 retry)",
    ),
    "truncated-page": ("simple/alpha/", Fault(kind="truncate"), "truncated body"),
    "dropped": ("simple/alpha/", Fault(kind="drop"), "closed the connection without an answer"),
    "wrong-project": ("simple/alpha/", Fault(kind="wrong-project", other="beta"), "alpha"),
    "truncated-metadata": (
        "files/alpha-1.0-py3-none-any.whl.metadata",
        Fault(kind="truncate"),
        "truncated body",
    ),
}


@pytest.fixture
def project(tmp_path: Path, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> Project:
    return make_project(tmp_path, local_index, monkeypatch)


@pytest.mark.parametrize("case", sorted(CASES))
def test_index_fault_ends_in_one_message(project: Project, case: str) -> None:
    where, fault, expected = CASES[case]
    index = project.index
    index.basic_auth = ("user", "s3cr3t")
    index.add_wheel("alpha", "1.0")
    index.add_wheel("beta", "1.0")
    index.inject(where, fault)
    project.write("requirements.in", "alpha\n")

    run = project.compile(
        "--index-url",
        index.auth_url,
        "--timeout",
        "1",
        "--retries",
        "1",
        index=False,
        subprocess_=True,
    )

    assert run.exit_code == 2, run.output
    assert "Traceback" not in run.output
    (error,) = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert expected in error, run.stderr
    if case != "wrong-project":
        assert "127.0.0.1" in error  # names the URL ...
    assert "s3cr3t" not in run.output  # ... redacted
    assert not (project.root / "requirements.lock").exists()


def test_consistent_but_wrong_metadata_is_caught_at_sync(
    project: Project,
    venv_factory,  # noqa: ANN001
) -> None:
    """The index's .metadata (hash on the page matching it) says alpha needs nothing; the
    wheel needs beta. compile cannot tell; sync reads the wheel and refuses."""
    index = project.index
    wheel = index.add_wheel("alpha", "1.0", requires=["beta"])
    index.add_wheel("beta", "1.0")
    index.metadata_overrides[wheel.name] = "Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\n\n"
    project.write("requirements.in", "alpha\n")
    project.compile().ok()
    assert project.pins() == {"alpha": "1.0"}  # what the wrong metadata said

    env = venv_factory()
    run = project.run(
        "sync",
        "requirements.lock",
        "--python",
        str(env.python),
        index=False,
        env={"PIP_INDEX_URL": index.url},
    )

    assert run.exit_code == 2, run.output
    assert "alpha-1.0-py3-none-any.whl differs from what compile used" in run.stderr
    assert "requires beta that compile did not see" in run.stderr
    assert env.freeze() == {}
