"""Python's cyclic garbage collector held off while many objects are built at once.

Reading a study builds several objects per iteration (a record, its parameter set, its
outputs, their dicts and tuples) that all live on: none is garbage, yet each few hundred
allocations start a collection, and each generation's growth a full one over everything
built so far, which at 100,000 records took about half of ``load``'s time. Reference
counting still frees what is dropped meanwhile; only cycles wait for the collector, which
runs again as usual (and on its own schedule) as soon as the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector for the block, if it is on; it is on again
    after (whatever the block raises). Collector settings are the user's to keep: one
    turned off before stays off, and a block inside another leaves it to the outer one.

    >>> import gc
    >>> with gc_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
