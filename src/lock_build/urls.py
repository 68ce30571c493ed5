"""URL helpers every layer may use, with no network stack behind them.

``file_url_to_path`` lives here rather than in ``index/http`` so that checking where a
lock's files may come from (``lockfile/sources``) does not import ``requests``: a sync
with nothing to do never opens a connection.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["file_url_to_path", "project_page_url", "url_path_to_path"]


def file_url_to_path(url: str) -> Path:
    """The local path of a ``file:`` URL (``url`` itself when it names another host)."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        return Path(url)
    return url_path_to_path(parts.path)


def url_path_to_path(path: str) -> Path:
    """``urllib.request.url2pathname`` of a URL's path, without importing urllib.request
    (and with it http.client and ssl) into a sync's start-up."""
    if os.name == "nt":  # drive letters and backslashes; it unquotes too
        from nturl2path import url2pathname

        return Path(url2pathname(path))
    return Path(unquote(path))


def project_page_url(index_url: str, name: str) -> str:
    """The PEP 503 page of project ``name`` (already normalized) on an index."""
    return f"{index_url.rstrip('/')}/{name}/"
