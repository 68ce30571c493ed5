"""pip's configuration files and PIP_* variables, merged as pip merges them.

Every test builds its own files under tmp_path and passes its own environ, so the
machine's real pip configuration never leaks in.
"""

from __future__ import annotations

import os
import textwrap
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from lock_build.errors import ConfigError, InputError
from lock_build.inputs.index_options import IndexOptions
from lock_build.inputs.pip_config import (
    ConfigLocations,
    default_config_locations,
    load_index_settings,
    parse_exclude_newer,
)
from lock_build.settings import PYPI_SIMPLE, IndexSettings, IndexStrategy


class Config:
    """A fake machine: one global, two user, one site file, all optional."""

    def __init__(self, root: Path):
        self.root = root
        self.global_file = root / "etc" / "xdg" / "pip" / "pip.conf"
        self.legacy_user = root / "home" / ".pip" / "pip.conf"
        self.user = root / "home" / ".config" / "pip" / "pip.conf"
        self.site = root / "venv" / "pip.conf"
        self.env_file: str | None = None

    def write(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    def locations(self) -> ConfigLocations:
        return ConfigLocations(
            global_files=(self.global_file,),
            user_files=(self.legacy_user, self.user),
            site_files=(self.site,),
            env_file=self.env_file,
        )

    def load(
        self,
        *,
        environ: dict[str, str] | None = None,
        flags: dict[str, object] | None = None,
        input_options: IndexOptions | None = None,
    ) -> IndexSettings:
        return load_index_settings(
            flags=flags or {},
            input_options=input_options,
            environ=environ or {},
            cache_dir=self.root / "cache",
            locations=self.locations(),
        )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(tmp_path)


def directory(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------- locations


def test_default_locations_follow_pip_for_home_and_xdg() -> None:
    locations = default_config_locations({"HOME": "/home/u"})
    assert locations == ConfigLocations(
        global_files=(Path("/etc/xdg/pip/pip.conf"), Path("/etc/pip.conf")),
        user_files=(Path("/home/u/.pip/pip.conf"), Path("/home/u/.config/pip/pip.conf")),
        site_files=(),
        env_file=None,
    )
    custom = default_config_locations(
        {
            "HOME": "/home/u",
            "XDG_CONFIG_DIRS": "/a:/b",
            "XDG_CONFIG_HOME": "/cfg",
            "PIP_CONFIG_FILE": "/x/pip.ini",
        },
        site_prefix=Path("/venv"),
    )
    assert custom.global_files == (
        Path("/a/pip/pip.conf"),
        Path("/b/pip/pip.conf"),
        Path("/etc/pip.conf"),
    )
    assert custom.user_files == (Path("/home/u/.pip/pip.conf"), Path("/cfg/pip/pip.conf"))
    assert custom.site_files == (Path("/venv/pip.conf"),)
    assert custom.env_file == "/x/pip.ini"


def test_candidates_skip_user_files_when_pip_config_file_exists(config: Config) -> None:
    env_file = config.write(config.root / "env.conf", "[global]\n")
    config.env_file = str(env_file)
    assert [kind for kind, _ in config.locations().candidates()] == [
        "global",
        "site",
        "PIP_CONFIG_FILE",
    ]
    config.env_file = str(config.root / "missing.conf")
    assert [kind for kind, _ in config.locations().candidates()] == [
        "global",
        "user",
        "user",
        "site",
        "PIP_CONFIG_FILE",
    ]
    config.env_file = os.devnull
    assert config.locations().candidates() == ()


# --------------------------------------------------------------------------- precedence


def test_defaults_without_any_configuration(config: Config) -> None:
    settings = config.load()
    assert settings.index_url == PYPI_SIMPLE
    assert (settings.extra_index_urls, settings.find_links, settings.warnings) == ((), (), ())
    assert (settings.timeout, settings.retries, settings.no_index) == (15.0, 5, False)
    assert settings.cache_dir == config.root / "cache"


def test_flags_beat_environment_beat_files(config: Config) -> None:
    config.write(
        config.user,
        """
        [global]
        index-url = https://file.example/simple
        timeout = 10
        retries = 1
        proxy = http://file-proxy:3128
    """,
    )
    env = {"PIP_INDEX_URL": "https://env.example/simple", "PIP_DEFAULT_TIMEOUT": "20"}
    settings = config.load(environ=env)
    assert settings.index_url == "https://env.example/simple"
    assert (settings.timeout, settings.retries) == (20.0, 1)
    assert settings.proxy == "http://file-proxy:3128"
    settings = config.load(
        environ=env,
        flags={"index_url": "https://flag.example/simple", "timeout": 30, "retries": None},
    )
    assert settings.index_url == "https://flag.example/simple"
    assert (settings.timeout, settings.retries) == (30.0, 1)


def test_requirements_file_index_url_sits_between_flags_and_environment(config: Config) -> None:
    env = {"PIP_INDEX_URL": "https://env.example/simple"}
    opts = IndexOptions(index_url="https://input.example/simple", no_index=True)
    settings = config.load(environ=env, input_options=opts)
    assert settings.index_url == "https://input.example/simple"
    assert settings.no_index and settings.index_urls == ()
    flagged = config.load(
        environ=env, input_options=opts, flags={"index_url": "https://flag.example/simple"}
    )
    assert flagged.index_url == "https://flag.example/simple"


def test_install_section_beats_global_across_files(config: Config) -> None:
    config.write(
        config.user,
        """
        [install]
        index-url = https://user-install.example/simple
        [global]
        index-url = https://user-global.example/simple
        retries = 2
    """,
    )
    config.write(
        config.site,
        """
        [global]
        index-url = https://site-global.example/simple
        [install]
        retries = 3
        [freeze]
        retries = 9
    """,
    )
    settings = config.load()
    # pip merges files per "section.key", then orders [global] < [install].
    assert settings.index_url == "https://user-install.example/simple"
    assert settings.retries == 3


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (["global"], "global"),
        (["global", "legacy_user"], "legacy_user"),
        (["legacy_user", "user"], "user"),
        (["global", "user", "site"], "site"),
        (["global", "site", "env"], "env"),
    ],
)
def test_later_files_override_earlier(config: Config, present: list[str], expected: str) -> None:
    paths = {
        "global": config.global_file,
        "legacy_user": config.legacy_user,
        "user": config.user,
        "site": config.site,
        "env": config.root / "env.conf",
    }
    for name in present:
        config.write(paths[name], f"[global]\nindex-url = https://{name}.example/simple\n")
    if "env" in present:
        config.env_file = str(paths["env"])
    assert config.load().index_url == f"https://{expected}.example/simple"


def test_pip_config_file_devnull_disables_files_but_not_variables(config: Config) -> None:
    config.write(config.global_file, "[global]\nindex-url = https://global.example/simple\n")
    config.write(config.user, "[global]\nretries = 1\n")
    config.env_file = os.devnull
    settings = config.load(environ={"PIP_RETRIES": "7"})
    assert settings.index_url == PYPI_SIMPLE
    assert settings.retries == 7


def test_pip_config_file_via_default_locations(tmp_path: Path) -> None:
    env_file = tmp_path / "only.conf"
    env_file.write_text("[global]\nindex-url = https://only.example/simple\n")
    environ = {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_DIRS": str(tmp_path / "xdg"),
        "PIP_CONFIG_FILE": str(env_file),
    }
    settings = load_index_settings(flags={}, input_options=None, environ=environ, cache_dir=None)
    assert settings.index_url == "https://only.example/simple"
    devnull = load_index_settings(
        flags={},
        input_options=None,
        cache_dir=None,
        environ={**environ, "PIP_CONFIG_FILE": os.devnull},
    )
    assert devnull.index_url == PYPI_SIMPLE


def test_missing_pip_config_file_is_a_warning(config: Config) -> None:
    config.write(config.user, "[global]\nretries = 4\n")
    config.env_file = str(config.root / "nope.conf")
    settings = config.load()
    assert settings.retries == 4  # user files are still read, as pip does
    assert settings.warnings == (
        f"PIP_CONFIG_FILE names {config.root / 'nope.conf'}, which does not exist; ignoring it.",
    )


def test_underscore_spellings_and_empty_values(config: Config) -> None:
    config.write(config.global_file, "[global]\nindex_url = https://a.example/simple\n")
    config.write(config.user, "[global]\nindex-url =\n")
    settings = config.load(environ={"PIP_PROXY": "", "PIP_TRUSTED_HOST": "a.example b.example"})
    assert settings.index_url == "https://a.example/simple"  # empty values are skipped
    assert settings.proxy is None
    assert settings.trusted_hosts == ("a.example", "b.example")


# --------------------------------------------------------------------------- lists


def test_higher_layer_replaces_lists_flags_and_requirement_files_add(config: Config) -> None:
    indexes = [directory(config.root / f"idx{i}") for i in range(6)]
    urls = [p.as_uri() for p in indexes]
    config.write(config.global_file, f"[global]\nextra-index-url = {urls[0]}\n")
    config.write(
        config.user,
        f"""
        [global]
        extra-index-url =
            {urls[1]}
            {urls[2]}
    """,
    )
    assert config.load().extra_index_urls == (urls[1], urls[2])
    config.write(config.site, f"[install]\nextra-index-url = {urls[3]}\n")
    assert config.load().extra_index_urls == (urls[3],)
    env = {"PIP_EXTRA_INDEX_URL": f"{urls[4]} {urls[1]}"}
    assert config.load(environ=env).extra_index_urls == (urls[4], urls[1])
    settings = config.load(
        environ=env,
        flags={"extra_index_url": (urls[5],)},
        input_options=IndexOptions(extra_index_urls=("https://from-input.example/simple",)),
    )
    # pip appends command-line and requirements-file values to the configured list.
    assert settings.extra_index_urls == (
        urls[4],
        urls[1],
        urls[5],
        "https://from-input.example/simple",
    )


def test_find_links_trusted_hosts_and_constraints_layers(config: Config) -> None:
    links = [directory(config.root / f"links{i}") for i in range(4)]
    constraints = config.write(config.root / "c.txt", "numpy<2\n")
    build = config.write(config.root / "bc.txt", "setuptools<80\n")
    config.write(
        config.user,
        f"""
        [global]
        find-links = {links[0]}
        constraint = {constraints}
        build-constraint = {build}
        trusted-host = files.example
    """,
    )
    settings = config.load(
        environ={"PIP_FIND_LINKS": f"{links[1]}"},
        flags={"find_links": [str(links[2])], "trusted_host": ["flag.example"]},
        input_options=IndexOptions(find_links=(str(links[3]),), trusted_hosts=("in.example",)),
    )
    assert settings.find_links == (str(links[1]), str(links[2]), str(links[3]))
    assert settings.trusted_hosts == ("files.example", "flag.example", "in.example")
    assert settings.constraint_files == (str(constraints),)
    assert settings.build_constraint_files == (str(build),)


# --------------------------------------------------------------------------- missing locations


def test_missing_locations_are_dropped_with_a_warning(config: Config) -> None:
    present = directory(config.root / "present")
    user = config.write(
        config.user,
        f"""
        [global]
        find-links = {config.root}/gone-wheels {present}
        extra-index-url = {present.as_uri()} file://{config.root}/gone-index https://remote/simple
        constraint = {config.root}/gone-constraints.txt
        build-constraint = {config.root}/gone-build.txt
        cert = {config.root}/gone-ca.pem
        client-cert = {config.root}/gone-client.pem
    """,
    )
    settings = config.load()
    assert settings.cert is None and settings.client_cert is None
    assert settings.find_links == (str(present),)
    assert settings.extra_index_urls == (present.as_uri(), "https://remote/simple")
    assert settings.constraint_files == () and settings.build_constraint_files == ()
    assert settings.warnings == (
        f"pip configuration names extra-index-url file://{config.root}/gone-index "
        f"(from {user}), which does not exist; ignoring it.",
        f"pip configuration names find-links {config.root}/gone-wheels (from {user}), "
        "which does not exist; ignoring it.",
        f"pip configuration names constraint {config.root}/gone-constraints.txt (from {user}), "
        "which does not exist; ignoring it.",
        f"pip configuration names build-constraint {config.root}/gone-build.txt (from {user}), "
        "which does not exist; ignoring it.",
        f"pip configuration names cert {config.root}/gone-ca.pem (from {user}), "
        "which does not exist; ignoring it.",
        f"pip configuration names client-cert {config.root}/gone-client.pem (from {user}), "
        "which does not exist; ignoring it.",
    )


def test_warnings_name_environment_variables_and_the_command_line(config: Config) -> None:
    settings = config.load(
        environ={"PIP_FIND_LINKS": "/definitely/not/here"}, flags={"find_links": ["/nor/here"]}
    )
    assert settings.find_links == ()
    assert settings.warnings == (
        "pip configuration names find-links /definitely/not/here (from PIP_FIND_LINKS), "
        "which does not exist; ignoring it.",
        "The command line names find-links /nor/here, which does not exist; ignoring it.",
    )


def test_missing_primary_file_index_falls_back_to_the_next_layer(config: Config) -> None:
    present = directory(config.root / "idx")
    config.write(config.global_file, f"[global]\nindex-url = {present.as_uri()}\n")
    config.write(config.user, f"[global]\nindex-url = file://{config.root}/gone\n")
    settings = config.load()
    assert settings.index_url == present.as_uri()
    assert len(settings.warnings) == 1 and "index-url file://" in settings.warnings[0]
    config.global_file.unlink()
    assert config.load().index_url == PYPI_SIMPLE


# --------------------------------------------------------------------------- typed values


@pytest.mark.parametrize(
    ("text", "expected"),
    [("yes", True), ("on", True), ("1", True), ("false", False), ("0", False), ("Off", False)],
)
def test_booleans(config: Config, text: str, expected: bool) -> None:
    config.write(config.user, f"[global]\nno-index = {text}\npre = {text}\n")
    settings = config.load()
    assert (settings.no_index, settings.pre) == (expected, expected)


def test_environment_false_overrides_file_true(config: Config) -> None:
    config.write(config.user, "[global]\nno-index = true\n")
    assert config.load(environ={"PIP_NO_INDEX": "no"}).no_index is False
    assert config.load(environ={"PIP_NO_INDEX": "no"}, flags={"no_index": True}).no_index


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("no-index = maybe", r"'maybe' is not a valid value for no-index \(from .*pip.conf\)"),
        ("timeout = soon", r"'soon' is not a valid value for timeout .* must be a number"),
        ("retries = 2.5", r"'2.5' is not a valid value for retries .* whole number"),
    ],
)
def test_invalid_values_are_config_errors(config: Config, line: str, message: str) -> None:
    config.write(config.user, f"[global]\n{line}\n")
    with pytest.raises(ConfigError, match=message):
        config.load()


def test_malformed_config_file(config: Config) -> None:
    config.write(config.user, "this is not ini\n")
    with pytest.raises(ConfigError, match=f"{config.user} is malformed"):
        config.load()


def test_cert_client_cert_and_timeout_aliases(config: Config) -> None:
    ca, me, env = (config.root / name for name in ("ca.pem", "me.pem", "env.pem"))
    for pem in (ca, me, env):
        pem.write_text("-----BEGIN CERTIFICATE-----\n")
    config.write(
        config.global_file,
        f"[global]\ncert = {ca}\nclient-cert = {me}\ndefault-timeout = 42\n",
    )
    settings = config.load()
    assert (settings.cert, settings.client_cert, settings.timeout) == (str(ca), str(me), 42.0)
    assert config.load(environ={"PIP_CERT": str(env), "PIP_TIMEOUT": "3"}).cert == str(env)
    assert config.load(environ={"PIP_TIMEOUT": "3"}).timeout == 3.0


def test_binary_policy_layers(config: Config) -> None:
    config.write(config.user, "[global]\nonly-binary = :all:\nprefer-binary = yes\n")
    settings = config.load(environ={"PIP_NO_BINARY": "Pillow,LXML"})
    assert settings.binary.only_binary == {":all:"}
    assert settings.binary.no_binary == {"pillow", "lxml"}
    assert settings.binary.prefer_binary
    assert settings.binary.allows_sdist("lxml") and not settings.binary.allows_sdist("numpy")
    flagged = config.load(
        environ={"PIP_NO_BINARY": "lxml"}, flags={"no_binary": [":all:"], "only_binary": ["numpy"]}
    )
    # Flags come last; --only-binary before --no-binary, and :all: wipes both sets.
    assert (flagged.binary.only_binary, flagged.binary.no_binary) == (set(), {":all:"})
    from_input = config.load(input_options=IndexOptions(no_binary=("numpy",)))
    assert from_input.binary.only_binary == {":all:"}
    assert from_input.binary.no_binary == {"numpy"}


def test_index_strategy_and_exclude_newer_come_from_flags_only(config: Config) -> None:
    settings = config.load(
        environ={"PIP_INDEX_STRATEGY": "first-index", "PIP_EXCLUDE_NEWER": "2020-01-01"}
    )
    assert settings.index_strategy is IndexStrategy.UNSAFE_BEST_MATCH
    assert settings.exclude_newer is None
    settings = config.load(flags={"index_strategy": "first-index", "exclude_newer": "2024-05-01"})
    assert settings.index_strategy is IndexStrategy.FIRST_INDEX
    assert settings.exclude_newer == datetime(2024, 5, 1, tzinfo=UTC)
    with pytest.raises(InputError, match="not one of: unsafe-best-match, first-index"):
        config.load(flags={"index_strategy": "fastest"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T12:30:00Z", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        (
            "2024-05-01T12:30:00+02:00",
            datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
        (None, None),
    ],
)
def test_parse_exclude_newer(text: str | None, expected: datetime | None) -> None:
    assert parse_exclude_newer(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01", "2024-05-01T12:00:00", "2024/05/01"])
def test_parse_exclude_newer_rejects(text: str) -> None:
    with pytest.raises(InputError, match="--exclude-newer"):
        parse_exclude_newer(text)


def test_unrelated_flags_and_environment_are_ignored(config: Config) -> None:
    settings = config.load(
        environ={"PIP_VERSION": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        flags={"output": "x.lock", "upgrade": True, "index_url": None},
    )
    assert settings.index_url == PYPI_SIMPLE and settings.warnings == ()


def test_binary_option_in_a_later_file_replaces_an_earlier_one(config: Config) -> None:
    config.write(config.global_file, "[global]\nonly-binary = :all:\n")
    config.write(config.user, "[global]\nonly-binary = numpy\n")
    assert config.load().binary.only_binary == {"numpy"}
