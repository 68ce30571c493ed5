"""A package's public names, imported from their modules on first use (PEP 562).

``building`` and ``inputs`` re-export their modules' names, but a command that needs
one module (plan: ``building.fingerprint``; sync: ``inputs.pip_config``) should not pay
for importing all the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, names: Mapping[str, Sequence[str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``names`` maps each submodule to the
    names it provides."""
    module_of = {name: module for module, provided in names.items() for name in provided}

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
