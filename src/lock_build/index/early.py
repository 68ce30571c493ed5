"""The root projects' index pages, asked for the moment a compile knows them.

Between reading its inputs and its resolver's first question, a compile probes the
target interpreter and sets up the finder, the build workshop and the resolver: a
tenth of a second or more in which the network would sit idle. The pages of the
projects the inputs name are needed first, whatever the resolver does, so they are
fetched meanwhile (:meth:`HttpClient.start_pages`); everything after them is the
prefetcher's job (:mod:`lock_build.index.prefetch`). ``LOCK_BUILD_NO_PREFETCH=1`` turns
both off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from lock_build.index.http import HttpClient
from lock_build.index.pages import ACCEPT
from lock_build.settings import IndexSettings
from lock_build.urls import project_page_url

__all__ = ["SWITCH", "prefetch_enabled", "root_page_urls", "start_root_pages"]

SWITCH = "LOCK_BUILD_NO_PREFETCH"


def prefetch_enabled(environ: Mapping[str, str]) -> bool:
    """False when ``LOCK_BUILD_NO_PREFETCH`` is set to anything but ``""`` or ``0``."""
    return environ.get(SWITCH, "").strip() in ("", "0")


def root_page_urls(settings: IndexSettings, names: Iterable[str]) -> list[str]:
    """The page of each project on each http(s) index, in order (file indexes are read
    when asked: no latency to hide)."""
    indexes = [url for url in settings.index_urls if urlsplit(url).scheme in ("http", "https")]
    projects = dict.fromkeys(canonicalize_name(name) for name in names)
    return [project_page_url(index, name) for name in projects for index in indexes]


def start_root_pages(client: HttpClient, settings: IndexSettings, names: Iterable[str]) -> None:
    """Start fetching the pages of ``names`` on every index (see the module's docstring)."""
    if settings.offline:  # the cache answers at once: nothing to hide
        return
    urls = root_page_urls(settings, names)
    if urls:
        client.start_pages(urls, ACCEPT)
