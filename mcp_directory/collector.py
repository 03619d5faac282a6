"""Python's cycle collector, paused while a large read builds its answer.

Reading a whole directory (`review.read_snapshot`) allocates millions of containers (decoded
pages, records, models) that live until the snapshot is built. In CPython each few hundred new
containers start a collection, and each time the heap has grown by a quarter a full one walks it
all: on a 100,000-account review, half the server's CPU went to collections that found nothing
(bench h, profiled). Those objects hold no cycles, and reference counting frees them as before;
only the search for cycles waits until the last read under way ends, and then runs once.

Nested and concurrent reads share one pause: the collector comes back when the last one ends,
and only if it was on before the first began. Reads that overlap without end never hold it off
for good: a read that ends after the pause has lasted `LONGEST_PAUSE_S` collects at once.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

LONGEST_PAUSE_S = 60.0

_readers = 0
_was_enabled = False
_collected_at = 0.0  # when the pause began, or its last collection


@contextmanager
def paused() -> Iterator[None]:
    global _readers, _was_enabled, _collected_at
    if _readers == 0:
        _was_enabled = gc.isenabled()
        _collected_at = time.monotonic()
        gc.disable()
    _readers += 1
    try:
        yield
    finally:
        _readers -= 1
        if _readers == 0 and _was_enabled:
            gc.enable()
            gc.collect(1)  # the young garbage of the read, at once; the old generation waits its turn
        elif _was_enabled and time.monotonic() - _collected_at > LONGEST_PAUSE_S:
            _collected_at = time.monotonic()
            gc.collect()  # other reads go on: a full collection now, the pause goes on after it
