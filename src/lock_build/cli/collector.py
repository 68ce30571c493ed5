"""The cycle collector, set for a run that makes millions of short-lived objects.

A compile parses pages into tens of thousands of values and a resolution makes many more;
with the default thresholds the collector walks every live object, the imported modules
included, again and again, and finds almost nothing: it was about a tenth of a cold
compile. What exists when the work starts lives until the process ends, so it is taken
out of the collector's sight, and young objects are collected less often.
"""

from __future__ import annotations

import gc

__all__ = ["settle"]

# Collections of the youngest generation after this many net allocations (default 700),
# and of the older ones after 20 of the younger (default 10): cycles still get freed,
# rarely.
_THRESHOLDS = (20_000, 20, 20)


def settle() -> None:
    """Freeze what the process holds now and collect what comes after less often."""
    gc.freeze()
    gc.set_threshold(*_THRESHOLDS)
