"""PackageFinder against in-process indexes: strategies, selection, metadata routes, caching."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from packaging.tags import Tag

from lock_build.errors import HashMismatchError, IndexPageError, MetadataError
from lock_build.index import finder as finder_module
from lock_build.index.finder import PackageFinder
from lock_build.index.http import HttpClient, redact
from lock_build.models import Artifact
from lock_build.settings import ALL, BinaryPolicy, IndexSettings, IndexStrategy
from lock_build.target import Target
from support.reporting import RecordingReporter

PLAT = "manylinux_2_17_x86_64"
TARGET = Target(
    python_version="3.11",
    python_full_version="3.11.7",
    implementation="cpython",
    platform=PLAT,
    markers=(("python_version", "3.11"),),
    tags=(
        Tag("cp311", "cp311", PLAT),
        Tag("cp311", "abi3", PLAT),
        Tag("py3", "none", PLAT),
        Tag("py3", "none", "any"),
    ),
)


# -- distribution factories -------------------------------------------------------------


def metadata_text(name: str, version: str, requires: tuple[str, ...] = (), **extra: str) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n\n"


def make_wheel(
    where: Path,
    name: str,
    version: str,
    tag: str = "py3-none-any",
    requires: tuple[str, ...] = (),
    pad: int = 0,
) -> Path:
    """A wheel; ``pad`` bytes of incompressible data put METADATA far from the zip's tail."""
    path = where / f"{name}-{version}-{tag}.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{info}/METADATA", metadata_text(name, version, requires))
        zf.writestr(f"{name}/__init__.py", "")
        if pad:
            zf.writestr(f"{name}/blob.bin", os.urandom(pad), zipfile.ZIP_STORED)
        zf.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nTag: {tag}\n")
        zf.writestr(f"{info}/RECORD", "")
    return path


def make_sdist(where: Path, name: str, version: str, pkg_info: str | None) -> Path:
    path = where / f"{name}-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        members = {f"{name}-{version}/setup.py": b""}
        if pkg_info is not None:
            members[f"{name}-{version}/PKG-INFO"] = pkg_info.encode()
        for member, data in members.items():
            entry = tarfile.TarInfo(member)
            entry.size = len(data)
            tf.addfile(entry, io.BytesIO(data))
    return path


# -- a small PEP 691/503 index server ---------------------------------------------------------


class Index:
    """One index at ``/<name>/simple/``; files under ``/<name>/files/``; switches are attributes."""

    def __init__(self, server: IndexServer, name: str, root: Path) -> None:
        self.server, self.name = server, name
        self.dir = root / name
        self.dir.mkdir()
        self.json = True
        self.metadata_files = False
        self.ranges = True
        self.auth: tuple[str, str] | None = None
        self.yanked: dict[str, str] = {}
        self.upload_times: dict[str, datetime] = {}
        self.bad_hashes: dict[str, str] = {}
        self.garbage = False

    @property
    def url(self) -> str:
        return f"{self.server.url}/{self.name}/simple"

    def files(self, project: str) -> list[Path]:
        from packaging.utils import parse_sdist_filename, parse_wheel_filename

        def project_of(p: Path) -> str:
            parse = parse_wheel_filename if p.name.endswith(".whl") else parse_sdist_filename
            return parse(p.name)[0]

        return sorted(p for p in self.dir.iterdir() if project_of(p) == project)

    def entry(self, path: Path) -> dict:
        data = path.read_bytes()
        entry: dict = {
            "filename": path.name,
            "url": f"../../files/{path.name}",
            "hashes": {"sha256": self.bad_hashes.get(path.name, hashlib.sha256(data).hexdigest())},
        }
        if path.name in self.yanked:
            entry["yanked"] = self.yanked[path.name] or True
        if path.name in self.upload_times:
            entry["upload-time"] = self.upload_times[path.name].isoformat()
        if self.metadata_files and path.name.endswith(".whl"):
            meta = self.wheel_metadata(path)
            entry["core-metadata"] = {"sha256": hashlib.sha256(meta).hexdigest()}
        return entry

    @staticmethod
    def wheel_metadata(path: Path) -> bytes:
        with zipfile.ZipFile(path) as zf:
            return zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA")))

    def page(self, project: str, accept: str) -> tuple[str, bytes] | None:
        files = self.files(project)
        if not files:
            return None
        if self.garbage:
            return "application/vnd.pypi.simple.v1+json", b"{this is not json"
        entries = [self.entry(p) for p in files]
        if self.json and "json" in accept:
            body = {"meta": {"api-version": "1.1"}, "name": project, "files": entries}
            return "application/vnd.pypi.simple.v1+json", json.dumps(body).encode()
        links = "".join(
            f'<a href="{e["url"]}#sha256={e["hashes"]["sha256"]}"'
            + (
                f' data-yanked="{self.yanked[e["filename"]]}"'
                if e["filename"] in self.yanked
                else ""
            )
            + f">{e['filename']}</a>\n"
            for e in entries
        )
        return "text/html", f"<html><body>{links}</body></html>".encode()

    def gets(self, filename: str) -> list[str | None]:
        """The Range header of every GET of ``filename`` (None: a whole-file download)."""
        suffix = f"/{self.name}/files/{filename}"
        return [r for m, p, r in self.server.log if m == "GET" and p == suffix]


class IndexServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.indexes: dict[str, Index] = {}
        self.log: list[tuple[str, str, str | None]] = []
        outer = self

        class _H(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.log.append(("GET", self.path, self.headers.get("Range")))
                status, headers, body = outer.answer(self.path, dict(self.headers.items()))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()

    def index(self, name: str) -> Index:
        self.indexes[name] = Index(self, name, self.root)
        return self.indexes[name]

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        parts = path.strip("/").split("/")
        index = self.indexes.get(parts[0])
        if index is None or len(parts) != 3:
            return 404, {}, b""
        if index.auth is not None:
            token = base64.b64encode(":".join(index.auth).encode()).decode()
            if headers.get("Authorization") != f"Basic {token}":
                return 401, {}, b""
        if parts[1] == "simple":
            page = index.page(parts[2], headers.get("Accept", ""))
            return (200, {"Content-Type": page[0]}, page[1]) if page else (404, {}, b"")
        filename = parts[2]
        if filename.endswith(".metadata"):
            wheel = index.dir / filename.removesuffix(".metadata")
            if not (index.metadata_files and wheel.is_file()):
                return 404, {}, b""
            return 200, {}, index.wheel_metadata(wheel)
        file = index.dir / filename
        if not file.is_file():
            return 404, {}, b""
        data = file.read_bytes()
        spec = headers.get("Range")
        if spec and index.ranges:
            first, last = spec.removeprefix("bytes=").split("-")
            if first:
                start, end = int(first), min(int(last), len(data) - 1)
            else:
                start, end = max(len(data) - int(last), 0), len(data) - 1
            headers = {"Content-Range": f"bytes {start}-{end}/{len(data)}"}
            return 206, headers, data[start : end + 1]
        return 200, {}, data


@pytest.fixture
def server(tmp_path: Path) -> Iterator[IndexServer]:
    srv = IndexServer(tmp_path / "indexes")
    srv.root.mkdir()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def finder(
    index_url: str,
    tmp_path: Path,
    reporter: RecordingReporter | None = None,
    **settings: object,
) -> PackageFinder:
    options = IndexSettings(
        index_url=index_url,
        cache_dir=tmp_path / "cache",
        retries=1,
        **settings,  # type: ignore[arg-type]
    )
    client = HttpClient(options, options.cache_dir, backoff=0.001)
    return PackageFinder(options, TARGET, client, reporter or RecordingReporter())


# -- releases -----------------------------------------------------------------------------------


def test_releases_rank_wheels_and_filter_the_target(server: IndexServer, tmp_path: Path) -> None:
    idx = server.index("main")
    make_wheel(idx.dir, "demo", "2.0", "py3-none-any")
    make_wheel(idx.dir, "demo", "2.0", f"cp311-abi3-{PLAT}")
    make_wheel(idx.dir, "demo", "2.0", f"cp311-cp311-{PLAT}")
    make_wheel(idx.dir, "demo", "2.0", "cp311-cp311-win_amd64")
    make_sdist(idx.dir, "demo", "2.0", None)
    make_wheel(idx.dir, "demo", "2.1rc1")
    make_wheel(idx.dir, "demo", "1.0", "cp39-cp39-win_amd64")  # nothing usable: no release
    make_sdist(idx.dir, "demo", "1.5", None)
    releases = finder(idx.url, tmp_path).releases("Demo")
    assert [str(r.version) for r in releases] == ["2.1rc1", "2.0", "1.5"]
    best = releases[1]
    assert best.wheel is not None and best.wheel.filename == f"demo-2.0-cp311-cp311-{PLAT}.whl"
    assert best.sdist is not None and best.sdist.filename == "demo-2.0.tar.gz"
    assert best.wheel.index == idx.url
    assert releases[2].needs_build


def test_complete_lists_every_file_of_the_version_once_per_page(
    server: IndexServer, tmp_path: Path
) -> None:
    idx = server.index("main")
    make_wheel(idx.dir, "demo", "2.0", f"cp311-cp311-{PLAT}")
    make_wheel(idx.dir, "demo", "2.0", "cp311-cp311-win_amd64")  # not for this target
    make_sdist(idx.dir, "demo", "2.0", None)
    make_wheel(idx.dir, "demo", "1.0")

    def completed() -> list[str]:
        find = finder(idx.url, tmp_path)
        (release, _older) = find.releases("demo")
        return [a.filename for a in find.complete(release).files]

    first = completed()
    assert first == [
        "demo-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "demo-2.0-cp311-cp311-win_amd64.whl",
        "demo-2.0.tar.gz",
    ]
    kept = list((tmp_path / "cache" / "pages").glob("version-files-v2-*.json"))
    assert len(kept) == 1
    assert completed() == first
    # A second run over the same page reads the kept list instead of parsing the page.
    entry = json.loads(kept[0].read_text())
    rows = entry["value"]["rows"]
    entry["value"]["rows"] = [row for row in rows if "win_amd64" not in row[0]]
    kept[0].write_text(json.dumps(entry))
    assert completed() == [first[0], first[2]]
    # A changed page is another key: its new file is listed, never a stale list.
    make_wheel(idx.dir, "demo", "2.0", "cp311-cp311-macosx_11_0_arm64")
    assert "demo-2.0-cp311-cp311-macosx_11_0_arm64.whl" in completed()
    assert len(list((tmp_path / "cache" / "pages").glob("version-files-v2-*.json"))) == 2


def test_requires_python_and_yanked(server: IndexServer, tmp_path: Path) -> None:
    idx = server.index("main")
    make_wheel(idx.dir, "demo", "3.0")
    make_wheel(idx.dir, "demo", "2.0")
    make_sdist(idx.dir, "demo", "2.0", None)
    make_wheel(idx.dir, "demo", "1.0")
    idx.yanked = {"demo-2.0-py3-none-any.whl": "broken", "demo-1.0-py3-none-any.whl": ""}
    # requires-python comes from the page; serve it through a JSON entry tweak.
    original = idx.entry

    def entry(path: Path) -> dict:
        data = original(path)
        if path.name.startswith("demo-3.0"):
            data["requires-python"] = ">=3.12"
        return data

    idx.entry = entry  # type: ignore[method-assign]
    releases = finder(idx.url, tmp_path).releases("demo")
    assert [str(r.version) for r in releases] == ["2.0", "1.0"]
    two, one = releases
    assert two.wheel is None and two.sdist is not None and not two.yanked  # yanked wheel dropped
    assert one.yanked and one.wheel is not None  # only yanked files: kept, marked


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (BinaryPolicy(), {"2.0": ("wheel", "sdist"), "1.0": ("sdist",)}),
        (BinaryPolicy(only_binary=frozenset({ALL})), {"2.0": ("wheel",)}),
        (BinaryPolicy(no_binary=frozenset({"demo"})), {"2.0": ("sdist",), "1.0": ("sdist",)}),
        (
            BinaryPolicy(only_binary=frozenset({ALL}), no_binary=frozenset({"demo"})),
            {"2.0": ("sdist",), "1.0": ("sdist",)},
        ),
    ],
)
def test_binary_policy(
    server: IndexServer, tmp_path: Path, policy: BinaryPolicy, expected: dict
) -> None:
    idx = server.index("main")
    make_wheel(idx.dir, "demo", "2.0")
    make_sdist(idx.dir, "demo", "2.0", None)
    make_sdist(idx.dir, "demo", "1.0", None)
    releases = finder(idx.url, tmp_path, binary=policy).releases("demo")
    found = {
        str(r.version): tuple(k for k, a in (("wheel", r.wheel), ("sdist", r.sdist)) if a)
        for r in releases
    }
    assert found == expected


# -- indexes, strategies, find-links, exclude-newer -------------------------------------------


@pytest.fixture
def two_indexes(server: IndexServer, tmp_path: Path) -> tuple[Index, Index, Path]:
    first, second = server.index("first"), server.index("second")
    make_wheel(first.dir, "demo", "1.0")
    make_wheel(second.dir, "demo", "2.0")
    make_wheel(second.dir, "other", "1.0")
    links = tmp_path / "links"
    links.mkdir()
    make_wheel(links, "demo", "0.5")
    return first, second, links


@pytest.mark.parametrize(
    ("strategy", "demo", "other"),
    [
        (IndexStrategy.UNSAFE_BEST_MATCH, ["2.0", "1.0", "0.5"], ["1.0"]),
        (IndexStrategy.FIRST_INDEX, ["1.0", "0.5"], ["1.0"]),  # other: 404 on first → second
    ],
)
def test_index_strategies(
    two_indexes: tuple[Index, Index, Path],
    tmp_path: Path,
    strategy: IndexStrategy,
    demo: list[str],
    other: list[str],
) -> None:
    first, second, links = two_indexes
    find = finder(
        first.url,
        tmp_path,
        extra_index_urls=(second.url,),
        find_links=(str(links),),
        index_strategy=strategy,
    )
    assert [str(r.version) for r in find.releases("demo")] == demo
    assert [str(r.version) for r in find.releases("other")] == other
    sources = {str(a.version): a.index for a in find.artifacts("demo")}
    assert sources["0.5"] == str(links) or sources["0.5"].endswith("/links")
    assert find.artifacts("missing") == ()


def test_artifacts_are_memoised(two_indexes: tuple[Index, Index, Path], tmp_path: Path) -> None:
    first, _second, _links = two_indexes
    find = finder(first.url, tmp_path)
    find.artifacts("demo")
    find.releases("demo")
    assert sum(1 for _m, p, _r in first.server.log if p == "/first/simple/demo/") == 1


def test_exclude_newer(server: IndexServer, tmp_path: Path) -> None:
    idx = server.index("main")
    for version in ("1.0", "2.0", "3.0"):
        make_wheel(idx.dir, "demo", version)
    idx.upload_times = {
        "demo-1.0-py3-none-any.whl": datetime(2024, 1, 1, tzinfo=UTC),
        "demo-2.0-py3-none-any.whl": datetime(2025, 1, 1, tzinfo=UTC),
    }  # 3.0 has no upload time: dropped from a remote index
    links = tmp_path / "links"
    links.mkdir()
    make_wheel(links, "demo", "4.0")  # find-links never have upload times: kept
    find = finder(idx.url, tmp_path, find_links=(str(links),), exclude_newer=datetime(2024, 6, 1))
    assert [str(r.version) for r in find.releases("demo")] == ["4.0", "1.0"]


def test_credentials_reach_files_and_never_labels(server: IndexServer, tmp_path: Path) -> None:
    idx = server.index("private")
    idx.auth = ("alice", "hunter2")
    make_wheel(idx.dir, "demo", "1.0", pad=100_000)
    url = idx.url.replace("http://", "http://alice:hunter2@")
    find = finder(url, tmp_path)
    (release,) = find.releases("demo")
    assert release.artifact.index == url.replace("hunter2", "****")
    assert "hunter2" not in redact(release.artifact.url)
    assert find.metadata(release) is not None
    # A file link on the index host without userinfo still gets the index's credentials.
    bare = release.artifact.url.replace("alice:hunter2@", "")
    assert find.client.get_range(bare, 0, 1) == b"PK"


def test_garbage_page(server: IndexServer, tmp_path: Path) -> None:
    idx = server.index("main")
    make_wheel(idx.dir, "demo", "1.0")
    idx.garbage = True
    with pytest.raises(IndexPageError, match="/main/simple/demo/.*malformed JSON"):
        finder(idx.url, tmp_path).releases("demo")


# -- metadata ------------------------------------------------------------------------------------


def test_metadata_from_pep658_file(server: IndexServer, tmp_path: Path) -> None:
    idx = server.index("main")
    idx.metadata_files = True
    wheel = make_wheel(idx.dir, "demo", "1.0", requires=("numpy>=2",))
    reporter = RecordingReporter()
    find = finder(idx.url, tmp_path, reporter)
    (release,) = find.releases("demo")
    meta = find.metadata(release)
    assert meta is not None and [str(r) for r in meta.requires_dist] == ["numpy>=2"]
    assert idx.gets(wheel.name) == []  # the wheel itself was never requested
    assert "Reading metadata demo 1.0 (metadata file)" in reporter.statuses


def test_pep658_hash_mismatch(server: IndexServer, tmp_path: Path) -> None:
    idx = server.index("main")
    idx.metadata_files = True
    make_wheel(idx.dir, "demo", "1.0")
    find = finder(idx.url, tmp_path)
    (release,) = find.releases("demo")
    assert release.wheel is not None
    forged = release.wheel.__class__(
        **{
            s: getattr(release.wheel, s)
            for s in release.wheel.__slots__  # type: ignore[attr-defined]
            if s != "metadata_sha256"
        },
        metadata_sha256="0" * 64,
    )
    with pytest.raises(HashMismatchError, match=r"\.metadata") as info:
        find.metadata(release.__class__(name=release.name, version=release.version, wheel=forged))
    assert info.value.url == forged.url + ".metadata"
    assert info.value.expected == ("0" * 64,) and info.value.got not in (None, "0" * 64)


def test_metadata_by_range_requests(server: IndexServer, tmp_path: Path) -> None:
    idx = server.index("main")
    wheel = make_wheel(idx.dir, "demo", "1.0", requires=("rich",), pad=300_000)
    reporter = RecordingReporter()
    find = finder(idx.url, tmp_path, reporter)
    (release,) = find.releases("demo")
    meta = find.metadata(release)
    assert meta is not None and [str(r) for r in meta.requires_dist] == ["rich"]
    ranges = idx.gets(wheel.name)
    assert ranges and None not in ranges  # no full-wheel GET
    assert len(ranges) == 2  # the tail (with the directory), then the METADATA member
    assert "Reading metadata demo 1.0 (range request)" in reporter.statuses


def test_metadata_download_when_ranges_refused(server: IndexServer, tmp_path: Path) -> None:
    idx = server.index("main")
    idx.ranges = False
    wheel = make_wheel(idx.dir, "demo", "1.0", requires=("rich",), pad=100_000)
    find = finder(idx.url, tmp_path)
    (release,) = find.releases("demo")
    meta = find.metadata(release)
    assert meta is not None and meta.name == "demo"
    gets = idx.gets(wheel.name)
    assert gets[-1] is None and gets.count(None) == 1  # exactly one full download
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert (tmp_path / "cache" / "artifacts" / sha[:32] / wheel.name).read_bytes() == (
        wheel.read_bytes()
    )


@pytest.mark.parametrize(
    ("pkg_info", "static"),
    [
        (metadata_text("demo", "1.0", ("six",)).replace("2.1", "2.2"), True),
        (
            metadata_text("demo", "1.0", ("six",), Dynamic="Requires-Dist").replace("2.1", "2.2"),
            False,
        ),
        (metadata_text("demo", "1.0", ("six",)), False),  # 2.1: nothing is promised
        (None, False),
    ],
)
def test_sdist_metadata(
    server: IndexServer, tmp_path: Path, pkg_info: str | None, static: bool
) -> None:
    idx = server.index("main")
    make_sdist(idx.dir, "demo", "1.0", pkg_info)
    find = finder(idx.url, tmp_path)
    (release,) = find.releases("demo")
    meta = find.metadata(release)
    if static:
        assert meta is not None and [str(r) for r in meta.requires_dist] == ["six"]
    else:
        assert meta is None


def test_metadata_disk_cache_avoids_requests(server: IndexServer, tmp_path: Path) -> None:
    idx = server.index("main")
    wheel = make_wheel(idx.dir, "demo", "1.0", requires=("rich",), pad=100_000)
    (release,) = finder(idx.url, tmp_path).releases("demo")
    first = finder(idx.url, tmp_path).metadata(release)
    before = len(idx.gets(wheel.name))
    second = finder(idx.url, tmp_path).metadata(release)
    assert second == first and len(idx.gets(wheel.name)) == before
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert (tmp_path / "cache" / "metadata" / f"metadata-v2-{sha}.json").is_file()


def test_metadata_name_mismatch(server: IndexServer, tmp_path: Path) -> None:
    idx = server.index("main")
    wheel = make_wheel(idx.dir, "demo", "1.0")
    wheel.rename(idx.dir / "impostor-1.0-py3-none-any.whl")
    find = finder(idx.url, tmp_path)
    (release,) = find.releases("impostor")
    with pytest.raises(MetadataError, match="impostor") as info:
        find.metadata(release)
    assert (info.value.package, str(info.value.version)) == ("impostor", "1.0")
    assert info.value.source and "impostor-1.0-py3-none-any.whl" in info.value.source


def test_prefetch_fetches_each_wheel_once(server: IndexServer, tmp_path: Path) -> None:
    idx = server.index("main")
    idx.ranges = False
    for version in ("1.0", "2.0", "3.0"):
        make_wheel(idx.dir, "demo", version, pad=50_000)
    find = finder(idx.url, tmp_path)
    releases = find.releases("demo")
    find.prefetch_metadata(releases)
    find.prefetch_metadata(releases)
    assert [str(find.metadata(r).version) for r in releases] == ["3.0", "2.0", "1.0"]  # type: ignore[union-attr]
    for version in ("1.0", "2.0", "3.0"):
        assert idx.gets(f"demo-{version}-py3-none-any.whl").count(None) == 1
    find.close()


# -- fetch and hashes ----------------------------------------------------------------------------


def test_fetch_hash_mismatch(server: IndexServer, tmp_path: Path) -> None:
    idx = server.index("main")
    wheel = make_wheel(idx.dir, "demo", "1.0")
    idx.bad_hashes = {wheel.name: "f" * 64}
    find = finder(idx.url, tmp_path)
    (release,) = find.releases("demo")
    with pytest.raises(HashMismatchError, match="ffff") as info:
        find.fetch(release.artifact)
    assert info.value.url == release.artifact.url and info.value.expected == ("f" * 64,)
    assert info.value.got == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert not list((tmp_path / "cache" / "artifacts").rglob("*.whl"))


def test_fetch_and_hash_find_links_in_place(tmp_path: Path) -> None:
    links = tmp_path / "links"
    links.mkdir()
    wheel = make_wheel(links, "demo", "1.0")
    find = finder(
        "https://unused.invalid/simple", tmp_path, find_links=(str(links),), no_index=True
    )
    (release,) = find.releases("demo")
    assert release.artifact.sha256 is None
    assert find.fetch(release.artifact) == wheel.resolve()
    assert find.sha256(release.artifact) == hashlib.sha256(wheel.read_bytes()).hexdigest()
    meta = find.metadata(release)
    assert meta is not None and str(meta.version) == "1.0"


def test_local_file_index(tmp_path: Path) -> None:
    root = tmp_path / "pypi"
    (root / "simple" / "demo").mkdir(parents=True)
    (root / "files").mkdir()
    wheel = make_wheel(root / "files", "demo", "1.0", requires=("six",))
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (root / "simple" / "demo" / "index.html").write_text(
        f'<a href="../../files/{wheel.name}#sha256={sha}">{wheel.name}</a>'
    )
    find = finder((root / "simple").as_uri(), tmp_path, exclude_newer=datetime(2000, 1, 1))
    (release,) = find.releases("demo")  # no upload time, but local: kept
    assert release.artifact.sha256 == sha
    meta = find.metadata(release)
    assert meta is not None and [str(r) for r in meta.requires_dist] == ["six"]


@pytest.mark.network
def test_pypi_metadata_by_range_requests(tmp_path: Path) -> None:
    reporter = RecordingReporter()
    settings = IndexSettings(cache_dir=tmp_path / "cache", exclude_newer=datetime(2024, 1, 1))
    client = HttpClient(settings, settings.cache_dir)
    with PackageFinder(settings, TARGET, client, reporter) as f:
        release = next(r for r in f.releases("idna") if str(r.version) == "3.6")
        meta = f.metadata(release)
    assert meta is not None and meta.name == "idna" and str(meta.version) == "3.6"
    assert "Reading metadata idna 3.6 (range request)" in reporter.statuses
    assert not (tmp_path / "cache" / "artifacts").exists()


def test_a_local_mirror_copy_gives_way_to_the_https_file() -> None:
    """A file:// mirror holding the same file (name and sha256) as an https index: the lock
    records the https copy, so it is usable where the mirror does not exist."""
    from lock_build.index.finder import _one_copy_each
    from lock_build.models import artifact_from_filename

    name = "demo-1.0-py3-none-any.whl"
    local = artifact_from_filename(name, f"file:///opt/mirror/files/{name}", sha256="a" * 64)
    remote = artifact_from_filename(name, f"https://files.example/{name}", sha256="a" * 64)
    other = artifact_from_filename(name, f"file:///opt/mirror/other/{name}", sha256="b" * 64)
    assert local is not None and remote is not None and other is not None

    kept = _one_copy_each([local, remote, other])

    assert [a.url for a in kept] == [other.url, remote.url]  # a different file stays
    assert _one_copy_each([remote, local]) == (remote,)


def test_the_newest_versions_are_completed_from_the_first_decode(
    server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    idx = server.index("main")
    for version in ("1.0", "2.0", "3.0", "4.0"):
        make_wheel(idx.dir, "demo", version, f"cp311-cp311-{PLAT}")
        make_wheel(idx.dir, "demo", version, "cp311-cp311-win_amd64")  # not for this target
    find = finder(idx.url, tmp_path)
    releases = {str(r.version): r for r in find.releases("demo")}
    reparsed: list[str] = []
    real = finder_module.parse_project_page

    def counting(*args: object, **kwargs: object) -> tuple[Artifact, ...]:
        reparsed.append("page")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(finder_module, "parse_project_page", counting)
    for version in ("4.0", "3.0", "2.0"):  # the three newest: no second decode
        files = [a.filename for a in find.complete(releases[version]).files]
        assert files == [
            f"demo-{version}-cp311-cp311-{PLAT}.whl",
            f"demo-{version}-cp311-cp311-win_amd64.whl",
        ]
    assert reparsed == []
    files = [a.filename for a in find.complete(releases["1.0"]).files]  # older: parsed again
    assert files == [f"demo-1.0-cp311-cp311-{PLAT}.whl", "demo-1.0-cp311-cp311-win_amd64.whl"]
    assert reparsed == ["page"]
