"""The worker's heap: out of the garbage collector's way once started, and given back when freed.

Measured by bench/latency.py and bench/memory.py (docs/performance.md):

* A full collection walks every tracked object; before :func:`freeze` one stalled the event loop
  for ~200 ms in the middle of a 500 lines/s run. Frozen, the imported code and faust's and
  aiohttp's machinery are never walked again; books are bytes (streams/worker/store.py), never
  tracked.
* A backlog (a worker catching up) fills the consumer's buffers with records that are freed once
  applied, but the allocator keeps their pages: 100k tasks applied live left the worker at
  250–268 MiB against 203–230 MiB for the same books recovered. :func:`trim` asks glibc to give
  free pages back to the system (``malloc_trim``); with it the live runs settled at 230–241 MiB.
* Freezing again later was tried and withdrawn: after each full collection of 10 ms or more
  (with 100k tasks and 200k messages applied live one ran every ~0.3 s for 40-120 ms) the
  worker froze its survivors. The views' p99 moved from ~180 to ~140 ms, but RSS grew from 651
  to 1,032 MiB: what was in flight at each freeze (events, futures, fetched records) dies in
  reference cycles that a frozen heap never collects (bench/views.py, 100k/200k). That was
  while every batch was itself a reference cycle (streams/worker/agents.py ``Pending``, since
  fixed), so most of what was in flight was cyclic: worth measuring again.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable

from midfield import metrics

__all__ = ["freeze", "trim"]


def freeze() -> None:
    """Collect once, then move every object alive now out of the collector's reach, and say
    how many (``midfield_gc_frozen_objects``: counted here once, for counting walks them all)."""
    gc.collect()
    gc.freeze()
    metrics.FROZEN.set(gc.get_freeze_count())


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim with
        return None


_TRIM = _malloc_trim()


def trim() -> bool:
    """Give the allocator's free pages back to the system; False where there is no glibc.
    Takes milliseconds on a few hundred MB and releases the GIL: run it in a thread."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
