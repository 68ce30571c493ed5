"""Hostile and broken locks: every problem reported at once, located by line and path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from lock_build.errors import LockfileError
from lock_build.lockfile import (
    AbiRecord,
    BuildEnvironment,
    LockedFile,
    LockedPackage,
    LockValidationError,
    dumps,
    loads,
)
from lock_build.lockfile.model import glibc_floor, glibc_of
from lock_build.lockfile.sources import SourcePolicy
from support.locks import make_lock

SOURCE = "requirements.lock"
FILES = "https://files.example/packages"


def _file(filename: str, char: str) -> LockedFile:
    return LockedFile(filename=filename, url=f"{FILES}/{filename}", sha256=char * 64, size=10)


ALPHA = LockedPackage(
    name=canonicalize_name("alpha"),
    version=Version("1.0"),
    wheels=(
        _file("alpha-1.0-py3-none-any.whl", "a"),
        _file("alpha-1.0-cp311-cp311-macosx_11_0_arm64.whl", "b"),
    ),
    dependencies=(canonicalize_name("beta"),),
    via=("-r requirements.in",),
)
BETA = LockedPackage(
    name=canonicalize_name("beta"),
    version=Version("2.0"),
    wheels=(
        _file("beta-2.0-cp311-cp311-manylinux_2_28_x86_64.whl", "c"),
        _file("beta-2.0-cp311-cp311-win_amd64.whl", "d"),
    ),
    sdist=_file("beta-2.0.tar.gz", "e"),
    via=("alpha",),
)
TOOL = LockedPackage(
    name=canonicalize_name("tool"),
    version=Version("3.0"),
    runtime=False,
    wheels=(_file("tool-3.0-py3-none-any.whl", "f"),),
    via=("beta (build)",),
)
BUILD = BuildEnvironment(
    package=canonicalize_name("beta"),
    version=Version("2.0"),
    backend="setuptools.build_meta",
    requires=("tool",),
    pins=("tool==3.0",),
    abi=(
        AbiRecord(
            package=canonicalize_name("tool"),
            built=Version("3.0"),
            runtime=Version("3.0"),
            runs_with=__import__("packaging.specifiers").specifiers.SpecifierSet(">=3"),
            rule="equal",
        ),
    ),
)
LOCK = make_lock((ALPHA, BETA, TOOL), (BUILD,), command="lock-build compile requirements.in")
TEXT = dumps(LOCK)


def test_the_base_lock_is_valid_and_round_trips() -> None:
    assert loads(TEXT, source=SOURCE) == LOCK
    assert dumps(loads(TEXT)) == TEXT


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# (what is done to the text, the text to find the line at, the expected message after "N: ")
MUTATIONS = [
    pytest.param(
        ("d" * 64, "D" * 63),
        "beta-2.0-cp311-cp311-win_amd64.whl",
        'package "beta" 2.0, wheels[1].sha256: must be 64 lowercase hex digits',
        id="bad-sha256",
    ),
    pytest.param(
        ('filename = "alpha-1.0-py3-none-any.whl"', 'filename = "../../x"'),
        '"../../x"',
        "package \"alpha\" 1.0, wheels[1].filename: '../../x' is not a plain file name",
        id="path-traversal-filename",
    ),
    pytest.param(
        (f'url = "{FILES}/tool-3.0-py3-none-any.whl"', 'url = "/etc/passwd"'),
        '"/etc/passwd"',
        'package "tool" 3.0, wheels[0].url: must be a URL or a path relative to the lock',
        id="absolute-path-url",
    ),
    pytest.param(
        (f'url = "{FILES}/tool-3.0-py3-none-any.whl"', 'url = "file:///etc/passwd"'),
        "file:///etc/passwd",
        "package \"tool\" 3.0, wheels[0].url: ends in 'passwd', which is not the filename "
        "'tool-3.0-py3-none-any.whl'",
        id="url-is-another-file",
    ),
    pytest.param(
        (f'url = "{FILES}/tool-3.0-py3-none-any.whl"', 'url = "../tool-3.0-py3-none-any.whl"'),
        '"../tool-3.0-py3-none-any.whl"',
        'package "tool" 3.0, wheels[0].url: must not leave the lock\'s directory (..)',
        id="relative-url-leaves",
    ),
    pytest.param(
        (f'sha256 = "{"f" * 64}", ', ""),
        "tool-3.0-py3-none-any.whl",
        'package "tool" 3.0, wheels[0].sha256: is missing',
        id="missing-sha256",
    ),
    pytest.param(
        ('name = "tool"', 'name = "tool$(touch pwned)"'),
        "$(touch",
        "package \"tool$(touch pwned)\" 3.0, name: 'tool$(touch pwned)' is not a valid "
        "project name",
        id="shell-in-name",
    ),
    pytest.param(
        ('version = "3.0"', 'version = "3.0; rm -rf ~"'),
        "rm -rf",
        "package \"tool\", version: '3.0; rm -rf ~' is not a valid version",
        id="shell-in-version",
    ),
    pytest.param(
        (f"{FILES}/beta-2.0.tar.gz", "https://user:secret@files.example/beta-2.0.tar.gz"),
        "user:secret",
        'package "beta" 2.0, sdist.url: must not contain credentials',
        id="credentials-in-url",
    ),
    pytest.param(
        (f"{FILES}/beta-2.0.tar.gz", "ftp://files.example/beta-2.0.tar.gz"),
        "ftp://",
        "package \"beta\" 2.0, sdist.url: has the scheme 'ftp'; only https, http and file",
        id="foreign-scheme",
    ),
    pytest.param(
        ('"alpha-1.0-py3-none-any.whl"', '"other-1.0-py3-none-any.whl"'),
        'filename = "other',
        "package \"alpha\" 1.0, wheels[1].filename: 'other-1.0-py3-none-any.whl' is other "
        "1.0, not alpha 1.0",
        id="wheel-of-another-package",
    ),
    pytest.param(
        ('pins = ["tool==3.0"]', 'pins = ["tool==9.9"]'),
        "tool==9.9",
        'build "beta" 2.0, pins[0]: tool==9.9 has no [[package]] entry',
        id="pin-without-package",
    ),
    pytest.param(
        ('pins = ["tool==3.0"]', 'pins = ["tool==3.0; curl x | sh"]'),
        "curl x",
        "build \"beta\" 2.0, pins[0]: '3.0; curl x | sh' is not a valid version",
        id="shell-in-pin",
    ),
    pytest.param(
        ('backend = "setuptools.build_meta"', 'backend = "os:system(\\"id\\")"'),
        "os:system",
        'build "beta" 2.0, backend: \'os:system("id")\' is not a module:object reference',
        id="backend-not-an-object-reference",
    ),
    pytest.param(
        ("runtime = false", 'runtime = "no"'),
        'runtime = "no"',
        'package "tool" 3.0, runtime: must be true, false or an array of target ids, not a string',
        id="wrong-type-runtime",
    ),
    pytest.param(
        ("runtime = false", 'runtime = ["cp39-win32"]'),
        'runtime = ["cp39-win32"]',
        "package \"tool\" 3.0, runtime[0]: 'cp39-win32' is no [[target]] id "
        "(cp311-manylinux_2_36_x86_64)",
        id="runtime-on-an-unknown-target",
    ),
    pytest.param(
        ("runtime = false", 'runtime = false\ntargets = ["cp39-win32"]'),
        'targets = ["cp39-win32"]',
        "package \"tool\" 3.0, targets[0]: 'cp39-win32' is no [[target]] id "
        "(cp311-manylinux_2_36_x86_64)",
        id="package-for-an-unknown-target",
    ),
    pytest.param(
        ('backend = "setuptools.build_meta"', 'backend = "x:y"\ntargets = ["cp39-win32"]'),
        'targets = ["cp39-win32"]',
        "build \"beta\" 2.0, targets[0]: 'cp39-win32' is no [[target]] id "
        "(cp311-manylinux_2_36_x86_64)",
        id="build-for-an-unknown-target",
    ),
    pytest.param(
        ("runtime = false", 'runtime = ["a b"]'),
        'runtime = ["a b"]',
        "package \"tool\" 3.0, runtime[0]: 'a b' is not a target id",
        id="runtime-not-a-target-id",
    ),
    pytest.param(
        ('dependencies = ["beta"]', "dependencies = [1]"),
        "dependencies = [1]",
        'package "alpha" 1.0, dependencies[0]: must be a string, not an integer',
        id="wrong-type-array-item",
    ),
    pytest.param(
        ("size = 10", "size = -1"),
        "size = -1",
        'package "alpha" 1.0, wheels[0].size: must be a non-negative integer',
        id="negative-size",
    ),
    pytest.param(
        ('rule = "equal"', "rule = 7"),
        "rule = 7",
        'build "beta" 2.0, abi[0].rule: must be a string, not an integer',
        id="abi-record-type",
    ),
    pytest.param(
        ('id = "cp311-manylinux_2_36_x86_64"', 'id = "a b;c"'),
        'id = "a b;c"',
        "target[0].id: 'a b;c' is not a target id",
        id="bad-target-id",
    ),
    pytest.param(
        ("lock-version = 2", "lock-version = 3"),
        "lock-version = 3",
        "lock-version: is 3; this lock-build reads lock versions 1 and 2",
        id="unknown-version",
    ),
]


@pytest.mark.parametrize(("change", "at", "message"), MUTATIONS)
def test_a_broken_lock_names_the_line_and_path(
    change: tuple[str, str], at: str, message: str
) -> None:
    old, new = change
    assert old in TEXT
    text = TEXT.replace(old, new, 1)
    with pytest.raises(LockfileError) as info:
        loads(text, source=SOURCE)
    rendered = info.value.render()
    assert f"{SOURCE}:{_line_of(text, at)}: {message}" in rendered, rendered
    assert "\n" not in rendered  # one paragraph


def test_every_problem_is_reported_at_once() -> None:
    text = (
        TEXT.replace("d" * 64, "D" * 64)
        .replace('name = "tool"', 'name = "$(id)"')
        .replace('backend = "setuptools.build_meta"', 'backend = "x; rm"')
        .replace("runtime = false", 'runtime = "no"')
    )
    with pytest.raises(LockfileError) as info:
        loads(text, source=SOURCE)
    rendered = info.value.render()
    found = re.findall(rf"{SOURCE}:(\d+): ", rendered)
    assert len(found) >= 4, rendered
    assert [int(n) for n in found] == sorted(int(n) for n in found)  # in file order
    assert f"{SOURCE}:{_line_of(text, 'D' * 64)}: " in rendered
    assert f"{SOURCE}:{_line_of(text, '$(id)')}: " in rendered
    assert f"{SOURCE}:{_line_of(text, 'x; rm')}: " in rendered


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "is binary data", id="binary"),
        pytest.param(TEXT.encode("utf-16"), "is UTF-16 text", id="utf-16"),
        pytest.param(TEXT.encode().replace(b"[inputs]", b"[in\x00puts]"), "NUL", id="nul"),
        pytest.param(b"lock-version = 2\n\xff\xfe = 1\n", "not UTF-8", id="latin-1"),
        pytest.param(b"lock-version = 2\n[[package]\n", "not valid TOML", id="toml"),
        pytest.param(b"", "lock-version: is None", id="empty"),
        pytest.param(b"lock-version = 2\npackage = 3\n", "package: must be an array", id="type"),
        pytest.param(
            b'lock-version = 2\n[[package]]\nname = "a"\nversion = "1"\nsource = {}\n',
            'package "a" 1, source.kind: is missing',
            id="source-without-kind",
        ),
    ],
)
def test_any_bytes_give_one_located_error(raw: bytes, message: str) -> None:
    with pytest.raises(LockfileError) as info:
        loads(raw, source=SOURCE)
    assert message in info.value.render()
    assert info.value.render().startswith(SOURCE)
    assert info.value.exit_code == 2


def test_the_model_validates_without_text() -> None:
    """from_dict works on plain data too (packaging.pylock's shape)."""
    with pytest.raises(LockValidationError) as info:
        LockedFile.from_dict({"filename": "x-1.0.tar.gz", "url": "https://h/x-1.0.tar.gz"})
    assert [p.message for p in info.value.problems] == ["is missing"]
    assert LockedFile.from_dict(BETA.wheels[0].to_dict()) == BETA.wheels[0]
    assert LockedPackage.from_dict(BETA.to_dict()) == BETA
    assert BuildEnvironment.from_dict(BUILD.to_dict()) == BUILD


# --- each consumer picks its own file -----------------------------------------------


LINUX = tuple(Tag(*t.split("-")) for t in ("cp311-cp311-manylinux_2_28_x86_64", "py3-none-any"))
MAC = tuple(Tag(*t.split("-")) for t in ("cp311-cp311-macosx_11_0_arm64", "py3-none-any"))


@pytest.mark.parametrize(
    ("pkg", "tags", "expected"),
    [
        (ALPHA, LINUX, "alpha-1.0-py3-none-any.whl"),
        (ALPHA, MAC, "alpha-1.0-cp311-cp311-macosx_11_0_arm64.whl"),
        (BETA, LINUX, "beta-2.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
        (BETA, MAC, "beta-2.0.tar.gz"),  # no wheel there: the sdist is built
    ],
)
def test_file_for_an_environment(pkg: LockedPackage, tags: tuple[Tag, ...], expected: str) -> None:
    chosen = pkg.file_for(tags)
    assert chosen is not None and chosen.filename == expected


def test_a_yanked_wheel_is_chosen_only_when_nothing_else_fits() -> None:
    best = _file("alpha-1.0-cp311-cp311-macosx_11_0_arm64.whl", "b")
    yanked = LockedPackage(
        name=ALPHA.name,
        version=ALPHA.version,
        wheels=(
            _file("alpha-1.0-py3-none-any.whl", "a"),
            LockedFile(**{**_slots(best), "yanked": "broken"}),  # type: ignore[arg-type]
        ),
    )
    chosen = yanked.wheel_for(MAC)
    assert chosen is not None and chosen.filename == "alpha-1.0-py3-none-any.whl"


def _slots(file: LockedFile) -> dict[str, object]:
    return {s: getattr(file, s) for s in file.__slots__}


def test_glibc_floor_is_the_lowest_level_every_package_installs_on() -> None:
    (target,) = LOCK.targets
    # beta has a manylinux_2_28 wheel, and its sdist can be built (it has a [[build]]).
    assert glibc_floor(LOCK, target) == "2.5"
    without_build = make_lock((ALPHA, BETA, TOOL))
    assert glibc_floor(without_build, without_build.targets[0]) == "2.28"
    assert glibc_of(LINUX) == (2, 28)
    assert glibc_of(MAC) is None


# --- where files may come from: the consuming run decides --------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://anywhere.example/x-1.0.tar.gz", True),
        ("http://index.internal/x-1.0.tar.gz", True),  # a configured index's host
        ("http://index.internal:8080/x-1.0.tar.gz", False),  # another port: not configured
        ("http://trusted.example:81/x-1.0.tar.gz", True),  # a trusted host
        ("http://evil.example/x-1.0.tar.gz", False),
        ("wheels/x-1.0-py3-none-any.whl", True),  # beside the lock
        ("file:///etc/passwd", False),
        ("file://{links}/x-1.0.tar.gz", True),  # a configured find-links directory
        ("file://{lock}/../outside/x-1.0.tar.gz", False),
        # A file index laid out as ROOT/simple/ serves files from all of ROOT ...
        ("file://{mirror}/files/x-1.0-py3-none-any.whl", True),
        # ... but nothing beside ROOT.
        ("file://{mirror}/../elsewhere/x-1.0-py3-none-any.whl", False),
    ],
)
def test_source_policy(tmp_path: Path, url: str, allowed: bool) -> None:
    links = tmp_path / "links"
    links.mkdir()
    lock_dir = tmp_path / "project"
    lock_dir.mkdir()
    mirror = tmp_path / "mirror"
    (mirror / "simple").mkdir(parents=True)
    policy = SourcePolicy.for_run(
        lock_dir,
        locations=("http://index.internal/simple", str(links), (mirror / "simple").as_uri()),
        trusted_hosts=("trusted.example",),
    )
    refusal = policy.refusal(url.format(links=links, lock=lock_dir, mirror=mirror))
    assert (refusal is None) is allowed, refusal


def test_source_policy_refuses_every_file_at_once_located(tmp_path: Path) -> None:
    text = TEXT.replace("https://files.example", "http://files.example")
    lock = loads(text, source=SOURCE)
    policy = SourcePolicy.for_run(tmp_path, locations=("https://pypi.org/simple",))
    with pytest.raises(LockfileError) as info:
        policy.check(lock)
    rendered = info.value.render()
    assert rendered.count("plain http from files.example") == 6
    line = _line_of(text, "http://files.example/packages/beta-2.0.tar.gz")
    assert f'{SOURCE}:{line}: package "beta" 2.0, sdist.url: ' in rendered


def test_sync_below_the_glibc_floor_refuses_naming_the_packages() -> None:
    from dataclasses import replace

    from lock_build.errors import TargetError
    from lock_build.sync.prepare import check_target
    from lock_build.target import Target

    only_wheels = replace(BETA, sdist=None)
    lock = make_lock((ALPHA, only_wheels, TOOL))
    (target,) = lock.targets
    lock = replace(lock, targets=(replace(target, glibc_floor=glibc_floor(lock, target)),))
    assert lock.targets[0].glibc_floor == "2.28"
    old = lock.targets[0].tags()  # a 2.36 machine's tags, filtered to glibc 2.17 and below
    tags = tuple(t for t in old if not _above(t.platform, 17))
    machine = Target(
        python_version="3.11",
        python_full_version="3.11.7",
        implementation="cpython",
        platform="manylinux_2_17_x86_64",
        markers=(),
        tags=tags,
    )
    with pytest.raises(TargetError) as info:
        check_target(lock, machine)
    assert "glibc 2.17 is below the lock's floor 2.28" in info.value.render()
    assert "beta==2.0" in info.value.render()
    check_target(lock, replace(machine, tags=old))  # at the lock's own level: fine


def _above(platform: str, minor: int) -> bool:
    match = re.fullmatch(r"manylinux_2_(\d+)_x86_64", platform)
    return bool(match) and int(match[1]) > minor


@pytest.mark.parametrize("url", ['https://h/a"b.whl', "https://h/`id`.whl", "https://h/a|b.whl"])
def test_urls_hold_only_url_characters(url: str) -> None:
    text = TEXT.replace(f"{FILES}/beta-2.0.tar.gz", url)
    with pytest.raises(LockfileError, match="holds characters a URL cannot"):
        loads(text.replace(url, url.replace('"', '\\"')), source=SOURCE)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("%2Fetc/tool-3.0-py3-none-any.whl", "must be a URL or a path relative to the lock"),
        ("%2e%2e/tool-3.0-py3-none-any.whl", "must not leave the lock's directory"),
    ],
)
def test_encoded_paths_do_not_leave_the_lock(url: str, message: str) -> None:
    text = TEXT.replace(f"{FILES}/tool-3.0-py3-none-any.whl", url)
    with pytest.raises(LockfileError, match=message):
        loads(text, source=SOURCE)


@pytest.mark.parametrize(
    ("text", "kind", "name"),
    [
        ("-r requirements.in", "input", None),
        ("pyproject.toml (extra: dev)", "input", None),
        ("pyproject.toml", "input", None),  # a valid project name, but no package of the lock
        ("-c constraints.txt", "constraint", None),
        ("alpha", "package", "alpha"),
        ("beta (build)", "build", "beta"),
        ("the runtime pin", "input", None),
    ],
)
def test_via_entries_are_typed_origins(text: str, kind: str, name: str | None) -> None:
    lock = make_lock((replace_via(ALPHA, text), BETA, TOOL), (BUILD,))
    origin = lock.origins(lock.packages[0])[0]
    assert (origin.kind, origin.name, str(origin)) == (kind, name, text)


def replace_via(pkg: LockedPackage, text: str) -> LockedPackage:
    from dataclasses import replace

    return replace(pkg, via=(text,))
