"""A pause of the cyclic garbage collector, for the steps that build many small containers."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic dicts and lists.

    Every ~700 new containers start a collection, and the full ones walk every live object (the
    records, the frames and their list cells, what has been built so far), so their cost grows
    with the batch. What these steps build forms no cycle; whatever else is left to collect waits
    for the next collection after the pause.

    Examples
    --------
    >>> import gc
    >>> with gc_paused():
    ...     paused = not gc.isenabled()
    >>> paused, gc.isenabled()
    (True, True)
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
