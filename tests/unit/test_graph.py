"""graph.py and `lock-build graph`: golden renderings of hand-built locks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.utils import canonicalize_name
from packaging.version import Version

import lock_build.cli as cli_module
from lock_build.cli import cli
from lock_build.graph import (
    Edge,
    GraphQuery,
    GraphQueryError,
    build_graph,
    render_dot,
    render_graph,
    render_mermaid,
    render_text,
)
from lock_build.lockfile import (
    LockedFile,
    LockedPackage,
    Substitution,
    dumps,
)
from support.locks import build, make_lock


def pkg(name: str, version: str, *, built: bool = False, **kwargs: object) -> LockedPackage:
    filename = f"{name.replace('-', '_')}-{version}" + (".tar.gz" if built else "-py3-none-any.whl")
    file = LockedFile(url=f"https://f/{filename}", sha256="0" * 64, filename=filename)
    if built:
        kwargs["sdist"] = file
    else:
        kwargs["wheels"] = (file,)
    return LockedPackage(name=canonicalize_name(name), version=Version(version), **kwargs)  # type: ignore[arg-type]


# cftime is an sdist built against the runtime numpy (substituted for what
# oldest-supported-numpy declared); requests appears twice in the tree.
SAMPLE = make_lock(
    (
        pkg("requests", "2.31.0", dependencies=("idna", "urllib3"), via=("-r requirements.in",)),
        pkg("idna", "3.6", via=("requests", "urllib3")),
        pkg("urllib3", "2.2.0", dependencies=("idna",), via=("requests",)),
        pkg(
            "cftime",
            "1.6.3",
            built=True,
            dependencies=("numpy", "requests"),
            via=("-r requirements.in",),
        ),
        pkg("numpy", "1.26.4", via=("cftime", "oldest-supported-numpy (build)")),
        pkg(
            "oldest-supported-numpy",
            "2022.5.28",
            runtime=False,
            dependencies=("numpy",),
            via=("cftime (build)",),
        ),
        pkg("setuptools", "69.0.0", runtime=False, via=("cftime (build)",)),
        pkg("wheel", "0.42.0", runtime=False, via=("cftime (build)",)),
    ),
    (
        build(
            "cftime",
            "1.6.3",
            (
                "numpy==1.26.4",
                "oldest-supported-numpy==2022.5.28",
                "setuptools==69.0.0",
                "wheel==0.42.0",
            ),
            requires=("setuptools>=60", "oldest-supported-numpy"),
            # wheel is in the environment, but no requirement names it: still shown.
            substitutions=(
                Substitution(
                    package=canonicalize_name("numpy"),
                    declared="numpy==1.23.2 via oldest-supported-numpy",
                    used=Version("1.26.4"),
                ),
            ),
        ),
    ),
)


def test_text_tree() -> None:
    assert render_text(SAMPLE) == (
        "cftime==1.6.3\n"
        "├── numpy==1.26.4\n"
        "├── requests==2.31.0\n"
        "│   ├── idna==3.6\n"
        "│   └── urllib3==2.2.0\n"
        "│       └── idna==3.6\n"
        "├── [build] oldest-supported-numpy==2022.5.28\n"
        "│   └── numpy==1.26.4 (substitution: declared numpy==1.23.2 via oldest-supported-numpy)\n"
        "├── [build] setuptools==69.0.0\n"
        "└── [build] wheel==0.42.0\n"
        "requests==2.31.0 (*)\n"
    )


def test_dot() -> None:
    assert render_dot(SAMPLE) == (
        "digraph dependencies {\n"
        "    node [shape=box];\n"
        '    "cftime==1.6.3";\n'
        '    "idna==3.6";\n'
        '    "numpy==1.26.4";\n'
        '    "oldest-supported-numpy==2022.5.28" [style=dashed];\n'
        '    "requests==2.31.0";\n'
        '    "setuptools==69.0.0" [style=dashed];\n'
        '    "urllib3==2.2.0";\n'
        '    "wheel==0.42.0" [style=dashed];\n'
        '    "cftime==1.6.3" -> "numpy==1.26.4";\n'
        '    "cftime==1.6.3" -> "oldest-supported-numpy==2022.5.28"'
        ' [style=dashed, label="build"];\n'
        '    "cftime==1.6.3" -> "requests==2.31.0";\n'
        '    "cftime==1.6.3" -> "setuptools==69.0.0" [style=dashed, label="build"];\n'
        '    "cftime==1.6.3" -> "wheel==0.42.0" [style=dashed, label="build"];\n'
        '    "oldest-supported-numpy==2022.5.28" -> "numpy==1.26.4";\n'
        '    "requests==2.31.0" -> "idna==3.6";\n'
        '    "requests==2.31.0" -> "urllib3==2.2.0";\n'
        '    "urllib3==2.2.0" -> "idna==3.6";\n'
        "}\n"
    )


def test_mermaid() -> None:
    assert render_mermaid(SAMPLE) == (
        "flowchart TD\n"
        '    n0["cftime==1.6.3"]\n'
        '    n1["idna==3.6"]\n'
        '    n2["numpy==1.26.4"]\n'
        '    n3["oldest-supported-numpy==2022.5.28"]\n'
        '    n4["requests==2.31.0"]\n'
        '    n5["setuptools==69.0.0"]\n'
        '    n6["urllib3==2.2.0"]\n'
        '    n7["wheel==0.42.0"]\n'
        "    n0 --> n2\n"
        "    n0 -. build .-> n3\n"
        "    n0 --> n4\n"
        "    n0 -. build .-> n5\n"
        "    n0 -. build .-> n7\n"
        "    n3 --> n2\n"
        "    n4 --> n1\n"
        "    n4 --> n6\n"
        "    n6 --> n1\n"
    )


def test_rendering_is_independent_of_input_order() -> None:
    shuffled = make_lock(tuple(reversed(SAMPLE.packages)), SAMPLE.builds)
    for render in (render_text, render_dot, render_mermaid):
        assert render(shuffled) == render(SAMPLE)


def test_build_dependency_resolves_in_its_own_environment() -> None:
    """Two versions of setuptools: the build-only one is the one the tree shows under [build],
    and a build-only sdist shows its own build environment beneath it (recursion)."""
    lock = make_lock(
        (
            pkg("app", "1.0", built=True, via=("-r requirements.in",)),
            pkg("setuptools", "80.0", via=("-r requirements.in",)),
            pkg("setuptools", "69.0", runtime=False, via=("app (build)",)),
            pkg("helper", "2.0", built=True, runtime=False, dependencies=("setuptools",)),
            pkg("flit-core", "3.9", runtime=False),
        ),
        (
            build("app", "1.0", ("helper==2.0", "setuptools==69.0"), requires=("helper",)),
            build("helper", "2.0", ("flit-core==3.9",), requires=("flit_core>=3",)),
        ),
    )
    assert render_text(lock) == (
        "app==1.0\n"
        "└── [build] helper==2.0\n"
        "    ├── setuptools==69.0\n"
        "    └── [build] flit-core==3.9\n"
        "setuptools==80.0\n"
    )
    assert Edge(source="helper==2.0", target="setuptools==69.0") in build_graph(lock).edges
    assert Edge(source="helper==2.0", target="setuptools==80.0") not in build_graph(lock).edges


@pytest.mark.parametrize(
    ("packages", "expected_roots"),
    [
        # No via at all: whatever nothing depends on is a root.
        (
            (pkg("a", "1", dependencies=("b",)), pkg("b", "1"), pkg("c", "1")),
            ("a==1", "c==1"),
        ),
        # A cycle nothing else reaches still appears, once.
        (
            (pkg("a", "1", dependencies=("b",)), pkg("b", "1", dependencies=("a",))),
            ("a==1",),
        ),
        # pyproject.toml as input; a constraints file adds nothing.
        (
            (
                pkg("a", "1", via=("pyproject.toml",)),
                pkg("b", "1", via=("-c constraints.txt", "a"), dependencies=()),
            ),
            ("a==1", "b==1"),
        ),
    ],
    ids=["no-via", "cycle", "inputs"],
)
def test_roots(packages: tuple[LockedPackage, ...], expected_roots: tuple[str, ...]) -> None:
    assert build_graph(make_lock(packages)).roots == expected_roots


def test_cycle_is_drawn_once() -> None:
    lock = make_lock(
        (
            pkg("a", "1", dependencies=("b",), via=("-r requirements.in",)),
            pkg("b", "1", dependencies=("a",), via=("a",)),
        )
    )
    assert render_text(lock) == "a==1\n└── b==1\n    └── a==1 (*)\n"


def test_non_isolated_build_uses_runtime_versions() -> None:
    lock = make_lock(
        (
            pkg("app", "1.0", built=True, via=("-r requirements.in",)),
            pkg("setuptools", "80.0", via=("app (build)",)),
        ),
        (build("app", "1.0", ("setuptools==80.0",), requires=("setuptools",), isolated=False),),
    )
    assert render_text(lock) == "app==1.0\n└── [build] setuptools==80.0\nsetuptools==80.0\n"


# --- the command --------------------------------------------------------------------------


@pytest.fixture
def lockfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cli_module._register()
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "requirements.lock"
    path.write_text(dumps(SAMPLE), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("fmt", "render"), [("text", render_text), ("dot", render_dot), ("mermaid", render_mermaid)]
)
def test_cli_graph(lockfile: Path, fmt: str, render) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["graph", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.stdout == render(SAMPLE)


def test_cli_graph_missing_lockfile(lockfile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli_module.main(["graph", "missing.lock"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.lock does not exist" in err


# --- questions: --why, --package, --invert ------------------------------------------------


def test_why_lists_every_chain_with_build_edges_marked() -> None:
    text = render_graph(SAMPLE, "text", GraphQuery(why=canonicalize_name("numpy")))
    assert text == (
        "cftime==1.6.3 -> numpy==1.26.4\n"
        "cftime==1.6.3 -[build]-> oldest-supported-numpy==2022.5.28 -> numpy==1.26.4\n"
    )


def test_why_inverted_reads_from_the_package_back_to_the_input() -> None:
    query = GraphQuery(why=canonicalize_name("oldest_supported_numpy"), invert=True)
    assert render_graph(SAMPLE, "text", query) == (
        "oldest-supported-numpy==2022.5.28 <-[build]- cftime==1.6.3\n"
    )


def test_why_an_input_says_so() -> None:
    text = render_graph(SAMPLE, "text", GraphQuery(why=canonicalize_name("requests")))
    assert text.splitlines() == [
        "requests==2.31.0 (an input requirement)",
        "cftime==1.6.3 -> requests==2.31.0",
    ]


QUERIES = [
    # (query, format, lines that must appear, lines that must not)
    (GraphQuery(package=canonicalize_name("requests")), "text", ["requests==2.31.0"], ["cftime"]),
    (
        GraphQuery(package=canonicalize_name("urllib3"), invert=True),
        "text",
        ["urllib3==2.2.0", "└── requests==2.31.0", "    └── cftime==1.6.3"],
        ["idna"],
    ),
    (
        GraphQuery(why=canonicalize_name("numpy")),
        "dot",
        ['"cftime==1.6.3" -> "oldest-supported-numpy==2022.5.28" [style=dashed, label="build"];'],
        ["idna", "setuptools"],
    ),
    (
        GraphQuery(why=canonicalize_name("numpy"), invert=True),
        "dot",
        ['"numpy==1.26.4" -> "cftime==1.6.3";'],
        ['"cftime==1.6.3" -> "numpy==1.26.4";'],
    ),
    (
        GraphQuery(package=canonicalize_name("oldest-supported-numpy")),
        "mermaid",
        ['n0["numpy==1.26.4"]', "n1 --> n0"],
        ["cftime", "-. build .->"],
    ),
]


@pytest.mark.parametrize(("query", "fmt", "present", "absent"), QUERIES)
def test_queries_in_every_format(
    query: GraphQuery, fmt: str, present: list[str], absent: list[str]
) -> None:
    text = render_graph(SAMPLE, fmt, query)
    for line in present:
        assert line in text.splitlines() or line in text, text
    for word in absent:
        assert word not in text, text


def test_a_name_not_in_the_lock_is_one_error() -> None:
    with pytest.raises(GraphQueryError) as info:
        render_graph(SAMPLE, "text", GraphQuery(why=canonicalize_name("torch")))
    assert info.value.package == "torch"
    assert "torch is not in the lock" in info.value.render()


def test_cli_graph_why(lockfile: Path) -> None:
    result = CliRunner().invoke(cli, ["graph", "--why", "NumPy"])
    assert result.exit_code == 0, result.output
    assert "-[build]-> oldest-supported-numpy==2022.5.28 -> numpy==1.26.4" in result.stdout
