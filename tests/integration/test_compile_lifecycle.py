"""A lock over time: determinism, kept pins and upgrades, --check, --dry-run, and an export
that a real `pip install --require-hashes --no-deps` accepts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from test_compile_harness import Project, make_project

from support.index import LocalIndex
from support.venvs import VirtualEnv


@pytest.fixture
def project(tmp_path: Path, local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> Project:
    return make_project(tmp_path, local_index, monkeypatch)


def _small_world(index: LocalIndex) -> None:
    index.add_wheel("alpha", "1.0", requires=["mid>=1", 'extra-dep ; python_version < "3"'])
    index.add_wheel("beta", "1.0", requires=["mid"])
    index.add_wheel("mid", "1.0")
    index.add_wheel("zeta", "1.0", requires=["alpha"], extras={"more": ["beta"]})


# --------------------------------------------------------------------------- determinism


def test_compiling_twice_gives_identical_bytes(project: Project, tmp_path: Path) -> None:
    _small_world(project.index)
    project.write("requirements.in", "zeta[more]\nalpha\n")

    project.compile().ok()
    first = (project.root / "requirements.lock").read_bytes()
    (project.root / "requirements.lock").unlink()
    project.cache = tmp_path / "another-cache"  # cold cache, same answer
    project.compile().ok()

    assert (project.root / "requirements.lock").read_bytes() == first
    names = [p["name"] for p in project.lock()["package"]]
    assert names == sorted(names) == ["alpha", "beta", "mid", "zeta"]


def test_prefetch_on_and_off_give_identical_bytes(project: Project, tmp_path: Path) -> None:
    _small_world(project.index)
    # The prefetcher warms top's newest release and its dependencies first; the resolver
    # has to backtrack off it (newest pin needs a mid that does not exist).
    project.index.add_wheel("top", "2.0", requires=["mid>=9", "beta"])
    project.index.add_wheel("top", "1.0", requires=["mid<2", "alpha"])
    project.index.add_wheel("mid", "2.0")
    project.index.add_wheel("pinned", "3.0b1")
    project.index.add_wheel("pinned", "2.0")
    project.write("requirements.in", "top\nzeta[more]\npinned<3\n")

    locks = []
    for switch in ("1", "0"):
        project.cache = tmp_path / f"cache-prefetch-off-{switch}"
        project.compile("-o", "out.lock", env={"LOCK_BUILD_NO_PREFETCH": switch}).ok()
        locks.append((project.root / "out.lock").read_bytes())
        if switch == "1":
            (project.root / "out.lock").unlink()

    assert locks[0] == locks[1]
    assert project.pins("out.lock") == {
        "top": "1.0",
        "mid": "1.0",
        "alpha": "1.0",
        "beta": "1.0",
        "zeta": "1.0",
        "pinned": "2.0",
    }


@pytest.mark.parametrize("switch", ["0", "1"])
def test_each_root_page_is_asked_for_once_with_or_without_early_requests(
    project: Project, switch: str
) -> None:
    # With prefetch on, compile asks for the root projects' pages before its resolver
    # exists; the resolver's own request must take that answer, not ask again.
    _small_world(project.index)
    project.write("requirements.in", "zeta[more]\nalpha\n")
    project.compile(env={"LOCK_BUILD_NO_PREFETCH": switch}).ok()
    for name in ("zeta", "alpha", "beta", "mid"):
        pages = [r for r in project.index.requests_for(f"{name}/") if r.method == "GET"]
        assert len(pages) == 1, (name, pages)


def test_the_lock_does_not_depend_on_where_the_project_lives(
    project: Project, tmp_path: Path
) -> None:
    _small_world(project.index)
    project.write("requirements.in", "-r reqs/base.in\nzeta\n")
    project.write("reqs/base.in", "beta\n")
    project.compile().ok()

    elsewhere = Project(tmp_path / "checkout2", project.index, project.cache)
    elsewhere.write("requirements.in", project.read("requirements.in"))
    elsewhere.write("reqs/base.in", project.read("reqs/base.in"))
    elsewhere.compile().ok()

    assert elsewhere.read("requirements.lock") == project.read("requirements.lock")


def test_second_run_reports_unchanged(project: Project) -> None:
    _small_world(project.index)
    project.write("requirements.in", "zeta\n")
    first = project.compile().ok()
    before = (project.root / "requirements.lock").stat()

    second = project.compile().ok()

    assert "Wrote" in first.stderr
    assert "Unchanged" in second.stderr, second.stderr
    after = (project.root / "requirements.lock").stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)


def test_reordering_and_comments_do_not_change_the_lock(project: Project) -> None:
    _small_world(project.index)
    project.write("requirements.in", "zeta\nbeta\n")
    project.compile().ok()
    first = project.read("requirements.lock")

    project.write("requirements.in", "# reordered\nbeta   # a comment\n\nzeta\n")
    run = project.compile().ok()

    assert project.read("requirements.lock") == first
    assert "Unchanged" in run.stderr


# --------------------------------------------------------------------------- pins over time


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ((), {"alpha": "1.0", "beta": "1.0"}),
        (("-P", "alpha"), {"alpha": "2.0", "beta": "1.0"}),
        (("--upgrade-package", "alpha==1.5"), {"alpha": "1.5", "beta": "1.0"}),
        (("-P", "alpha", "-P", "beta"), {"alpha": "2.0", "beta": "2.0"}),
        (("--upgrade",), {"alpha": "2.0", "beta": "2.0"}),
        (("-U",), {"alpha": "2.0", "beta": "2.0"}),
    ],
    ids=["pins-kept", "-P-one", "-P-to-version", "-P-two", "--upgrade", "-U"],
)
def test_upgrades_move_only_what_is_asked(
    project: Project, flags: tuple[str, ...], expected: dict[str, str]
) -> None:
    index = project.index
    index.add_wheel("alpha", "1.0")
    index.add_wheel("beta", "1.0")
    index.add_wheel("gamma", "1.0")
    project.write("requirements.in", "alpha\nbeta\ngamma\n")
    project.compile().ok()
    header = project.read("requirements.lock").split("lock-version", 1)[0]

    for name in ("alpha", "beta"):
        index.add_wheel(name, "2.0")
    index.add_wheel("alpha", "1.5")
    index.add_wheel("gamma", "2.0")  # never named: kept by every run here except -U
    project.compile(*flags).ok()

    gamma = "2.0" if flags and flags[0] in ("-U", "--upgrade") else "1.0"
    assert project.pins() == {**expected, "gamma": gamma}
    # Upgrade flags are not part of the command that regenerates the lock.
    assert project.read("requirements.lock").split("lock-version", 1)[0] == header


def test_upgrade_package_of_a_transitive_dependency(project: Project) -> None:
    _small_world(project.index)
    project.write("requirements.in", "zeta\n")
    project.compile().ok()
    project.index.add_wheel("mid", "2.0")
    project.index.add_wheel("alpha", "2.0", requires=["mid"])

    project.compile("-P", "mid").ok()

    assert project.pins() == {"zeta": "1.0", "alpha": "1.0", "mid": "2.0"}


def test_a_kept_pin_that_no_longer_fits_the_inputs_moves(project: Project) -> None:
    project.index.add_wheel("alpha", "1.0")
    project.index.add_wheel("beta", "1.0")
    project.write("requirements.in", "alpha\nbeta\n")
    project.compile().ok()
    project.index.add_wheel("alpha", "2.0")
    project.index.add_wheel("beta", "2.0")

    project.write("requirements.in", "alpha>=2\nbeta\n")
    project.compile().ok()

    assert project.pins() == {"alpha": "2.0", "beta": "1.0"}


def test_a_removed_requirement_leaves_the_lock(project: Project) -> None:
    _small_world(project.index)
    project.write("requirements.in", "zeta\nbeta\n")
    project.compile().ok()
    project.write("requirements.in", "beta\n")

    project.compile().ok()

    assert project.pins() == {"beta": "1.0", "mid": "1.0"}


# --------------------------------------------------------------------------- --check


@pytest.mark.parametrize(
    ("new_input", "exit_code", "needles"),
    [
        ("alpha\nbeta\n", 0, ()),
        ("# comment\nbeta\nalpha  # same requirements\n", 0, ()),
        ("alpha\nbeta\ndelta\n", 1, ("delta", "added")),
        ("alpha>=2\nbeta\n", 1, ("alpha==1.0", "alpha>=2")),
        ("alpha\n", 1, ("beta", "removed")),
        ("alpha<2\nbeta\n", 1, ()),  # a changed requirement the pin still satisfies
    ],
    ids=["fresh", "cosmetic-edit", "added", "pin-no-longer-satisfies", "removed", "changed"],
)
def test_check(project: Project, new_input: str, exit_code: int, needles: tuple[str, ...]) -> None:
    project.index.add_wheel("alpha", "1.0")
    project.index.add_wheel("beta", "1.0")
    project.write("requirements.in", "alpha\nbeta\n")
    project.compile().ok()
    before = project.read("requirements.lock")
    project.index.clear_requests()

    project.write("requirements.in", new_input)
    run = project.compile("--check", subprocess_=True)

    assert run.exit_code == exit_code, run.output
    assert "Traceback" not in run.output
    for needle in needles:
        assert needle in run.stderr, run.stderr
    if exit_code:
        assert "stale" in run.stderr
    assert project.index.requests == []  # offline: no resolution, no index
    assert project.read("requirements.lock") == before


def test_check_without_a_lock(project: Project) -> None:
    project.write("requirements.in", "alpha\n")
    run = project.compile("--check")
    assert run.exit_code == 1, run.output
    assert "requirements.lock" in run.stderr
    assert not (project.root / "requirements.lock").exists()


def test_check_after_a_pyproject_extra_is_added(project: Project) -> None:
    project.index.add_wheel("alpha", "1.0")
    project.index.add_wheel("beta", "1.0")
    project.write(
        "pyproject.toml",
        '[project]\nname = "p"\nversion = "1"\ndependencies = ["alpha"]\n'
        '[project.optional-dependencies]\ndev = ["beta"]\n',
    )
    project.compile().ok()
    assert project.compile("--check").exit_code == 0

    run = project.compile("--check", "--extra", "dev")

    assert run.exit_code == 1, run.output
    assert "beta" in run.stderr


def test_check_notices_a_changed_compile_option(project: Project) -> None:
    project.index.add_wheel("alpha", "1.0")
    project.write("requirements.in", "alpha\n")
    project.compile("--no-binary", "beta").ok()
    assert project.compile("--check", "--no-binary", "beta").exit_code == 0

    for changed in (("--check",), ("--check", "--no-binary", "beta", "--pre")):
        run = project.compile(*changed)
        assert run.exit_code == 1, run.output
        assert "in the lock" in run.stderr


# --------------------------------------------------------------------------- --dry-run


def test_dry_run_exit_codes(project: Project) -> None:
    project.index.add_wheel("alpha", "1.0")
    project.write("requirements.in", "alpha\n")
    lock = project.root / "requirements.lock"

    missing = project.compile("--dry-run")
    assert missing.exit_code == 1, missing.output
    assert 'name = "alpha"' in missing.stdout  # the lock it would write
    assert not lock.exists()

    project.compile().ok()
    written = lock.read_bytes()
    same = project.compile("--dry-run")
    assert same.exit_code == 0, same.output
    assert same.stdout == written.decode()

    project.index.add_wheel("alpha", "2.0")
    changed = project.compile("--dry-run", "--upgrade")
    assert changed.exit_code == 1, changed.output
    assert 'version = "2.0"' in changed.stdout
    assert lock.read_bytes() == written


def test_dry_run_exit_code_through_main(project: Project) -> None:
    project.index.add_wheel("alpha", "1.0")
    project.write("requirements.in", "alpha\n")
    run = project.compile("--dry-run", subprocess_=True)
    assert run.exit_code == 1
    assert "Traceback" not in run.output
    assert not (project.root / "requirements.lock").exists()


# --------------------------------------------------------------------------- export → pip


def test_exported_lock_installs_with_pip_require_hashes(
    project: Project, venv_factory: Callable[..., VirtualEnv]
) -> None:
    index = project.index
    index.add_wheel("alpha", "1.0", requires=["beta>=2", 'gamma ; python_version >= "3"'])
    index.add_wheel("beta", "2.0")
    index.add_wheel("beta", "1.0")
    index.add_sdist("gamma", "0.5")  # static PKG-INFO: no build to lock it; pip builds it
    project.write("requirements.in", "alpha\n")
    project.compile().ok()

    project.run(
        "export",
        "requirements.lock",
        "--format",
        "requirements",
        "-o",
        "requirements.txt",
        index=False,
    ).ok()
    exported = project.read("requirements.txt")
    assert "--hash=sha256:" in exported

    env = venv_factory()
    env.pip(
        "install",
        "--require-hashes",
        "--no-deps",
        "--index-url",
        index.url,
        "-r",
        project.root / "requirements.txt",
    )
    installed = env.freeze()
    assert {n: installed.get(n) for n in ("alpha", "beta", "gamma")} == project.pins()


def test_export_names_entries_without_a_hash(project: Project, tmp_path: Path) -> None:
    import tarfile

    from support.dists import make_sdist

    sdist = make_sdist(tmp_path / "sd", "localproj", "0.1")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / "sd", filter="data")
    (tmp_path / "sd" / "localproj-0.1").rename(project.root / "localproj")
    project.index.add_wheel("alpha", "1.0")
    project.write("requirements.in", "alpha\n./localproj\n")
    project.compile().ok()

    run = project.run("export", "requirements.lock", "--format", "requirements", index=False).ok()

    assert "warning: " in run.stderr and "localproj" in run.stderr, run.stderr
    assert "alpha==1.0" in run.stdout and "--hash=sha256:" in run.stdout


def test_jobs_1_and_4_give_identical_bytes(project: Project, tmp_path: Path) -> None:
    # Sdists whose metadata only their backend can tell: with -j 4 their hooks start as
    # soon as the prefetcher meets them (some on a version the resolver then leaves).
    index = project.index
    index.add_wheel("tool", "1.0")
    index.add_wheel("tool", "2.0")
    index.add_wheel("mid", "1.0")
    for name, build_requires in (("hooka", ["tool"]), ("hookb", ["tool<2"]), ("hookc", [])):
        index.add_sdist(
            name, "1.0", build_requires=build_requires, requires=["mid"], dynamic_requires_dist=True
        )
    index.add_sdist("hooka", "2.0", requires=["mid>=9"], dynamic_requires_dist=True)
    project.write("requirements.in", "hooka\nhookb\nhookc\n")

    locks = []
    for jobs in ("1", "4"):
        project.cache = tmp_path / f"cache-jobs-{jobs}"
        run = project.compile("-o", "out.lock", "-j", jobs).ok()
        assert "Traceback" not in run.output and "BuildBackendWarning" not in run.output
        locks.append((project.root / "out.lock").read_bytes())
        (project.root / "out.lock").unlink()

    assert locks[0] == locks[1]
    assert b"-j" not in locks[0].split(b"lock-version", 1)[0]  # not in the regenerate command
    project.compile("-o", "out.lock", "-j", "1").ok()
    assert project.pins("out.lock") == {
        "hooka": "1.0",
        "hookb": "1.0",
        "hookc": "1.0",
        "mid": "1.0",
    }
