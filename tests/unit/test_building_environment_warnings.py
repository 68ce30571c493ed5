"""installer's shipped-__pycache__ warning is silenced once, for every thread."""

from __future__ import annotations

import threading
import warnings

from lock_build.building.environment import ignore_shipped_pycache_warnings

MESSAGE = (
    "Skip installing numpy/__pycache__/x.cpython-311.pyc from numpy. Installing files in a "
    "__pycache__ directory poses a security risk."
)


def test_the_filter_is_set_once_and_holds_on_every_thread() -> None:
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        ignore_shipped_pycache_warnings()
        ignore_shipped_pycache_warnings()
        ours = [f for f in warnings.filters if f[1] is not None and "__pycache__" in f[1].pattern]
        assert len(ours) == 1

        def install() -> None:
            warnings.warn(MESSAGE, RuntimeWarning, stacklevel=1)

        threads = [threading.Thread(target=install) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        warnings.warn("another RuntimeWarning", RuntimeWarning, stacklevel=1)
    assert [str(w.message) for w in shown] == ["another RuntimeWarning"]
