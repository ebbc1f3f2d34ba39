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
* What the worker makes after it froze (the books' summaries, grown as it applies events) is
  walked again by every full collection, and freezing made those frequent: the collector runs a
  full one whenever the objects it still tracks have grown by a quarter, and after a freeze it
  tracks few. With 100k tasks and 200k messages applied live, a full collection ran every
  ~0.3 s and held the loop 40–120 ms (bench/views.py, ``MIDFIELD_WORKER_STALL_LOG_MS``): the
  views' p99. :class:`Refreeze` freezes again after a full collection that slow; its survivors
  are the long-lived objects. An object frozen then that later dies in a reference cycle is
  never collected: a few per freeze, and a freeze comes only after the heap grew by that much.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable

from midfield import metrics

__all__ = ["SLOW_COLLECTION_S", "Refreeze", "freeze", "trim"]

SLOW_COLLECTION_S = 0.01
"""A full collection this slow walked more than the views can wait for (their p99 target is
50 ms): its survivors are frozen."""


def freeze() -> None:
    """Collect once, then move every object alive now out of the collector's reach, and say
    how many (``midfield_gc_frozen_objects``: counted here once, for counting walks them all)."""
    gc.collect()
    gc.freeze()
    metrics.FROZEN.set(gc.get_freeze_count())


class Refreeze:
    """Freezes the heap again after a full collection took ``slow_s`` or longer: told of each
    collection by :func:`streams.worker.stalls.watch_collections`, it freezes at the next
    :meth:`maybe` (the worker's loop watch, every 0.1 s), outside the collector."""

    def __init__(self, slow_s: float = SLOW_COLLECTION_S) -> None:
        self.slow_s = slow_s
        self.due = False

    def observed(self, generation: int, paused_s: float) -> None:
        if generation == 2 and paused_s >= self.slow_s:
            self.due = True

    def maybe(self) -> bool:
        """Freeze now if a slow full collection asked for it (counted, not the frozen objects:
        counting walks them all)."""
        if not self.due:
            return False
        self.due = False
        gc.freeze()
        metrics.REFREEZES.inc()
        return True


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
