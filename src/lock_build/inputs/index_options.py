"""Index options the inputs carry, and pip's rules for the binary ones.

``--index-url``, ``--find-links``, ``--only-binary`` and their friends come from
requirements-file lines and from pip's configuration; both read them into
:class:`IndexOptions` and apply ``--only-binary``/``--no-binary`` with pip's
order-dependent rules (:func:`apply_binary_option` within one layer,
:func:`merge_binary` across layers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from packaging.utils import canonicalize_name

__all__ = ["IndexOptions", "apply_binary_option", "binary_fields", "merge_binary"]


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexOptions:
    """Index option lines found in requirements files (``--index-url`` and friends).

    ``only_binary`` / ``no_binary`` hold the outcome of pip's rules after every line
    was applied in order: canonical names or ``:all:``.
    """

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    pre: bool = False
    only_binary: tuple[str, ...] = ()
    no_binary: tuple[str, ...] = ()
    prefer_binary: bool = False
    trusted_hosts: tuple[str, ...] = ()


def apply_binary_option(value: str, *, target: set[str], other: set[str]) -> None:
    """pip's --only-binary/--no-binary rule: names, ``:all:`` and ``:none:``, in order."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    while ":all:" in names:
        other.clear()
        target.clear()
        target.add(":all:")
        del names[: names.index(":all:") + 1]
        if ":none:" not in names:
            return
    for name in names:
        if name == ":none:":
            target.clear()
            continue
        normalized = canonicalize_name(name)
        other.discard(normalized)
        target.add(normalized)


def merge_binary(
    layers: Iterable[tuple[Iterable[str], Iterable[str]]],
) -> tuple[frozenset[str], frozenset[str]]:
    """Stack (only_binary, no_binary) outcomes, later layers winning as pip's order does.

    Each layer is already consistent; ``:all:`` in a later layer clears what earlier
    layers said, and a name a later layer lists moves out of the other set.
    """
    only: set[str] = set()
    no: set[str] = set()
    for layer_only, layer_no in layers:
        layer_only, layer_no = set(layer_only), set(layer_no)
        if ":all:" in layer_only or ":all:" in layer_no:
            only.clear()
            no.clear()
        only -= layer_no
        no -= layer_only
        only |= layer_only
        no |= layer_no
    return frozenset(only), frozenset(no)


def binary_fields(pair: tuple[frozenset[str], frozenset[str]]) -> dict[str, tuple[str, ...]]:
    return {"only_binary": tuple(sorted(pair[0])), "no_binary": tuple(sorted(pair[1]))}
