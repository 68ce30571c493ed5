"""`lock-build compile` and its index layer: find-links, --no-index, pip's configuration and
environment variables, missing configured locations, credentials, and how metadata is read
(PEP 658 files, else HTTP range requests, never a whole wheel when avoidable)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_compile_harness import Project, assert_clean_error, make_project

from support.dists import make_wheel
from support.index import LocalIndex, LocalIndexServer


@pytest.fixture
def project(tmp_path: Path, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> Project:
    return make_project(tmp_path, local_index, monkeypatch)


@pytest.fixture
def new_index(index_server: LocalIndexServer, tmp_path: Path) -> Iterator[Callable[[], LocalIndex]]:
    made: list[LocalIndex] = []

    def make() -> LocalIndex:
        index = index_server.new_index(directory=tmp_path / f"_index{len(made)}")
        made.append(index)
        return index

    yield make
    for index in made:
        index_server.remove_index(index)


def _artifacts(project: Project, lock: str = "requirements.lock") -> dict[str, dict[str, str]]:
    return {
        p["name"]: (p.get("wheels") or [None])[0] or p.get("sdist")
        for p in project.lock(lock)["package"]
    }


# --------------------------------------------------------------------------- find-links, no-index


def test_find_links_directory_alongside_the_index(project: Project) -> None:
    wheels = project.root / "wheels"
    local = make_wheel(wheels, "localonly", "1.0", requires=["alpha"])
    make_wheel(wheels, "alpha", "5.0")  # beats the index's 1.0 (best match over all sources)
    project.index.add_wheel("alpha", "1.0")
    project.write("requirements.in", "localonly\n")

    project.compile("--find-links", "wheels").ok()

    assert project.pins() == {"localonly": "1.0", "alpha": "5.0"}
    artifact = _artifacts(project)["localonly"]
    assert artifact["sha256"] == hashlib.sha256(local.read_bytes()).hexdigest()
    assert artifact.get("index"), artifact  # every artifact records where it came from


def test_find_links_beside_the_lock_are_written_relative(project: Project) -> None:
    make_wheel(project.root / "wheels", "alpha", "1.0")
    project.write("requirements.in", "alpha\n")

    project.compile("--no-index", "--find-links", "wheels").ok()

    artifact = _artifacts(project)["alpha"]
    # Another checkout of the project writes the same lock: no absolute paths.
    assert artifact["url"] == "wheels/alpha-1.0-py3-none-any.whl"
    assert artifact["index"] == "wheels"
    assert project.lock()["options"]["find-links"] == ["wheels"]
    assert str(project.root) not in project.read("requirements.lock")


def test_no_index_uses_find_links_only(project: Project) -> None:
    make_wheel(project.root / "wheels", "alpha", "1.0")
    project.index.add_wheel("alpha", "2.0")
    project.write("requirements.in", "alpha\n")

    project.compile("--no-index", "--find-links", "wheels").ok()  # -i is given too: ignored

    assert project.pins() == {"alpha": "1.0"}
    assert project.index.requests == []


def test_no_index_without_the_package_is_an_error(project: Project) -> None:
    project.index.add_wheel("alpha", "2.0")
    project.write("requirements.in", "alpha\n")
    assert_clean_error(project.compile("--no-index"), "alpha")
    assert project.index.requests == []


def test_file_url_index_is_read_like_a_remote_one(project: Project, tmp_path: Path) -> None:
    root = tmp_path / "static-index"
    wheel = make_wheel(root / "files", "alpha", "1.0")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    page = root / "simple" / "alpha" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        "<!DOCTYPE html><html><body>\n"
        f'<a href="../../files/{wheel.name}#sha256={digest}">{wheel.name}</a>\n'
        "</body></html>\n",
        encoding="utf-8",
    )
    project.write("requirements.in", "alpha\n")

    project.compile("--index-url", (root / "simple").as_uri(), index=False).ok()

    assert project.pins() == {"alpha": "1.0"}
    assert _artifacts(project)["alpha"]["sha256"] == digest


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("config", "env", "flag", "winner"),
    [
        ("global", {}, False, "file"),
        ("install", {}, False, "install"),  # [install] overrides [global], as for pip install
        ("global", {"PIP_INDEX_URL": "env"}, False, "env"),
        ("global", {"PIP_INDEX_URL": "env"}, True, "flag"),
        (None, {"PIP_INDEX_URL": "env"}, False, "env"),
    ],
    ids=["config-file", "install-section", "env-over-file", "flag-over-both", "env-only"],
)
def test_index_url_precedence(
    project: Project,
    new_index: Callable[[], LocalIndex],
    config: str | None,
    env: dict[str, str],
    flag: bool,
    winner: str,
) -> None:
    # One index per source, each serving a different alpha, so the lock shows who won.
    indexes = {}
    for number, name in enumerate(("file", "install", "env", "flag"), start=1):
        indexes[name] = new_index()
        indexes[name].add_wheel("alpha", f"{number}.0")
    text = f"[global]\nindex-url = {indexes['file'].url}\n"
    if config == "install":
        text += f"\n[install]\nindex-url = {indexes['install'].url}\n"
    environ = {key: indexes[value].url for key, value in env.items()}
    if config is not None:
        environ["PIP_CONFIG_FILE"] = str(project.write("pip.conf", text))
    project.write("requirements.in", "alpha\n")
    args = ("--index-url", indexes["flag"].url) if flag else ()

    project.compile(*args, index=False, env=environ).ok()

    assert _artifacts(project)["alpha"]["index"] == indexes[winner].url
    asked = {name for name, index in indexes.items() if index.requests}
    assert asked == {winner}


def test_configured_extra_index_find_links_and_constraint(
    project: Project, new_index: Callable[[], LocalIndex]
) -> None:
    extra = new_index()
    extra.add_wheel("beta", "1.0")
    make_wheel(project.root / "cfg-wheels", "gamma", "1.0")
    for version in ("1.0", "2.0"):
        project.index.add_wheel("alpha", version, requires=["beta", "gamma"])
    project.write("cons.txt", "alpha<2\n")
    conf = project.write(
        "pip.conf",
        "[global]\n"
        f"extra-index-url = {extra.url}\n"
        f"find-links = {project.root / 'cfg-wheels'}\n"
        f"constraint = {project.root / 'cons.txt'}\n",
    )
    project.write("requirements.in", "alpha\n")

    project.compile(env={"PIP_CONFIG_FILE": str(conf)}).ok()

    assert project.pins() == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0"}


def test_pip_environment_variables_alone(
    project: Project, new_index: Callable[[], LocalIndex]
) -> None:
    first, second = new_index(), new_index()
    first.add_wheel("alpha", "1.0", requires=["beta"])
    second.add_wheel("beta", "1.0")
    make_wheel(project.root / "envwheels", "gamma", "1.0")
    project.write("requirements.in", "alpha\ngamma\n")
    env = {
        "PIP_INDEX_URL": first.url,
        "PIP_EXTRA_INDEX_URL": second.url,
        "PIP_FIND_LINKS": str(project.root / "envwheels"),
    }

    project.compile(index=False, env=env).ok()

    assert project.pins() == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0"}


@pytest.mark.parametrize("via", ["config", "env"])
def test_missing_configured_locations_warn_and_succeed(
    project: Project, tmp_path: Path, via: str
) -> None:
    project.index.add_wheel("alpha", "1.0")
    project.write("requirements.in", "alpha\n")
    gone_dir = tmp_path / "no-such-wheels"
    gone_index = (tmp_path / "no-such-index" / "simple").as_uri()
    if via == "config":
        conf = project.write(
            "pip.conf", f"[global]\nfind-links = {gone_dir}\nextra-index-url = {gone_index}\n"
        )
        env = {"PIP_CONFIG_FILE": str(conf)}
    else:
        env = {"PIP_FIND_LINKS": str(gone_dir), "PIP_EXTRA_INDEX_URL": gone_index}

    run = project.compile(env=env, subprocess_=True).ok()

    assert project.pins() == {"alpha": "1.0"}
    assert "warning: " in run.stderr
    assert str(gone_dir) in run.stderr and gone_index in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


# --------------------------------------------------------------------------- credentials


@pytest.mark.parametrize(
    "where",
    ["flag", "extra-index-flag", "requirements-line", "pip.conf", "PIP_INDEX_URL", "dry-run"],
)
def test_credentials_never_reach_the_lock_or_the_output(
    project: Project, new_index: Callable[[], LocalIndex], where: str
) -> None:
    index = project.index
    index.basic_auth = ("user", "secret")
    index.add_wheel("alpha", "1.0", requires=["beta"])
    index.add_wheel("beta", "1.0")
    requirements = "alpha\n"
    args: list[str] = ["-v"]
    env: dict[str, str] = {}
    if where in ("flag", "dry-run"):
        args += ["--index-url", index.auth_url]
    elif where == "extra-index-flag":
        args += ["--index-url", new_index().url, "--extra-index-url", index.auth_url]
    elif where == "requirements-line":
        requirements = f"--index-url {index.auth_url}\n" + requirements
    elif where == "pip.conf":
        conf = project.write("pip.conf", f"[global]\nindex-url = {index.auth_url}\n")
        env["PIP_CONFIG_FILE"] = str(conf)
    else:
        env["PIP_INDEX_URL"] = index.auth_url
    if where == "dry-run":
        args.append("--dry-run")
    project.write("requirements.in", requirements)

    run = project.compile(*args, index=False, env=env)

    assert run.exit_code == (1 if where == "dry-run" else 0), run.output
    assert "secret" not in run.output  # stdout holds the lock itself with --dry-run
    if where != "dry-run":
        assert project.pins() == {"alpha": "1.0", "beta": "1.0"}
        assert "secret" not in project.read("requirements.lock")


def test_credentials_stay_out_of_error_messages(project: Project) -> None:
    project.index.basic_auth = ("user", "secret")
    project.index.add_wheel("alpha", "1.0")
    project.write("requirements.in", "nosuchpkg\n")

    run = project.compile("--index-url", project.index.auth_url, "-v", index=False)

    assert_clean_error(run, "nosuchpkg")
    assert "secret" not in run.output


def test_wrong_credentials_are_a_clean_error(project: Project) -> None:
    project.index.basic_auth = ("user", "secret")
    project.index.add_wheel("alpha", "1.0")
    project.write("requirements.in", "alpha\n")
    wrong = project.index.url.replace("http://", "http://user:wrong@", 1)

    run = project.compile("--index-url", wrong, index=False, subprocess_=True)

    assert run.exit_code == 2, run.output
    assert "Traceback" not in run.output
    assert "wrong" not in run.output


# --------------------------------------------------------------------------- how metadata is read


def _big_wheel(index: LocalIndex, name: str, version: str, **kwargs: object) -> Path:
    """A wheel large enough (~200 kB, incompressible) that reading it whole would show."""
    rng = random.Random(f"{name}-{version}")
    blob = "".join(rng.choice("0123456789abcdef") for _ in range(300_000))
    return index.add_wheel(name, version, files={f"{name}/blob.py": f"B = {blob!r}\n"}, **kwargs)


@pytest.mark.parametrize("json_api", [True, False], ids=["pep691", "html"])
def test_without_pep658_metadata_comes_from_range_requests(
    project: Project, json_api: bool
) -> None:
    index = project.index
    index.metadata_files = False
    index.json = json_api
    wheels = [
        _big_wheel(index, "alpha", "1.0", requires=["beta"]),
        _big_wheel(index, "beta", "1.0"),
        _big_wheel(index, "beta", "2.0"),
    ]
    project.write("requirements.in", "alpha\n")

    project.compile().ok()

    assert project.pins() == {"alpha": "1.0", "beta": "2.0"}
    for wheel in wheels:
        assert index.full_downloads(wheel.name) == [], wheel.name
        assert index.requests_for(wheel.name + ".metadata") == []
    fetched = [r for w in wheels for r in index.requests_for(w.name, "GET")]
    assert fetched and all(r.status == 206 and r.range for r in fetched), fetched


def test_without_ranges_the_whole_wheel_is_the_fallback(project: Project) -> None:
    index = project.index
    index.metadata_files = False
    index.ranges = False
    index.add_wheel("alpha", "1.0", requires=["beta"])
    index.add_wheel("beta", "1.0")
    project.write("requirements.in", "alpha\n")

    project.compile().ok()

    assert project.pins() == {"alpha": "1.0", "beta": "1.0"}


def test_with_pep658_no_wheel_is_touched(project: Project) -> None:
    index = project.index
    wheels = [
        _big_wheel(index, "alpha", "1.0", requires=["beta"]),
        _big_wheel(index, "beta", "1.0"),
    ]
    project.write("requirements.in", "alpha\n")

    project.compile().ok()

    assert project.pins() == {"alpha": "1.0", "beta": "1.0"}
    for wheel in wheels:
        assert index.requests_for(wheel.name) == [], wheel.name  # no GET, HEAD or range
        assert [r.status for r in index.requests_for(wheel.name + ".metadata")] == [200]


def test_find_links_html_page(project: Project, new_index: Callable[[], LocalIndex]) -> None:
    pages = new_index()
    pages.json = False
    pages.add_wheel("alpha", "1.0")
    pages.add_wheel("alpha", "2.0")
    project.write("requirements.in", "alpha\n")

    project.compile("--no-index", "--find-links", pages.project_url("alpha")).ok()

    assert project.pins() == {"alpha": "2.0"}
    assert project.index.requests == []


# --------------------------------------------------------------------------- --offline


def test_offline_resolves_from_the_cache_alone(project: Project, tmp_path: Path) -> None:
    project.index.add_wheel("alpha", "1.0", requires=["beta"])
    project.index.add_wheel("beta", "1.0")
    project.write("requirements.in", "alpha\n")
    project.compile("-o", "online.lock").ok()
    project.index.clear_requests()

    project.compile("-o", "offline.lock", "--offline").ok()

    assert project.index.requests == []  # not one request
    assert project.read("offline.lock") == project.read("online.lock").replace(
        "online.lock", "offline.lock"
    )


def test_offline_names_the_page_missing_from_the_cache(project: Project) -> None:
    project.index.add_wheel("alpha", "1.0", requires=["beta"])
    project.index.add_wheel("beta", "1.0")
    project.write("requirements.in", "alpha\n")
    project.compile().ok()
    project.write("requirements.in", "alpha\ngamma\n")
    project.index.add_wheel("gamma", "1.0")

    run = project.compile("--offline")

    assert_clean_error(run, "--offline", "/gamma/", "not in the cache")
    assert project.index.requests_for("gamma/") == []
