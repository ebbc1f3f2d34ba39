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
  It stops every thread's allocations while it runs, so the worker trims when it is idle and,
  under load, rarely (:class:`Trim`).
* What the worker makes after it froze (the books' summaries, as it applies events) is walked
  by every full collection: with 100k tasks and 200k messages applied live, full collections
  held the loop 50–106 ms, 13 times in 40 s (bench/views.py, ``MIDFIELD_WORKER_STALL_LOG_MS``),
  the views' p99. :class:`Refreeze` collects and freezes again after a full collection that
  slow, at most every ``MIDFIELD_WORKER_REFREEZE_EVERY_S`` (60 s): in the same bench no full
  collection then held the loop 40 ms, `/whoami`'s p99 went from ~25 to 8.5 ms and RSS stayed
  at ~640 MiB. Freezing after *every* slow collection, without collecting first, was tried
  first, while every batch was still a reference cycle (streams/worker/agents.py ``Pending``,
  since fixed): what was in flight at each freeze died in cycles a frozen heap never collects,
  and RSS went from 651 to 1,032 MiB. Collecting first leaves only what is alive at that
  instant; what of it later dies in a cycle is kept for good, a little per freeze.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import time
from collections.abc import Callable

import structlog

from midfield import metrics

__all__ = ["Refreeze", "Trim", "freeze", "trim"]

log = structlog.get_logger(__name__)


def freeze() -> None:
    """Collect once, then move every object alive now out of the collector's reach, and say
    how many (``midfield_gc_frozen_objects``: counted here once, for counting walks them all)."""
    gc.collect()
    gc.freeze()
    metrics.FROZEN.set(gc.get_freeze_count())


class Refreeze:
    """Told each collection's pause (:func:`streams.worker.stalls.watch_collections`); after a
    full one of ``slow_s`` or more, :meth:`maybe` (the loop watch's tick, outside the collector)
    collects and freezes, at most once every ``every_s``."""

    def __init__(
        self,
        slow_s: float = 0.02,
        every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slow_s, self.every_s, self.clock = slow_s, every_s, clock
        self.due = False
        self.last: float | None = None
        self._collecting = False

    def observed(self, generation: int, paused_s: float) -> None:
        if generation == 2 and paused_s >= self.slow_s and not self._collecting:
            self.due = True

    def maybe(self) -> bool:
        """Collect and freeze now if a slow full collection asked and the last freeze is long
        enough ago (counted in ``midfield_gc_refreezes_total``, not the objects: counting walks
        them all)."""
        now = self.clock()
        if not self.due or (self.last is not None and now - self.last < self.every_s):
            return False
        self.due, self.last = False, now
        started, self._collecting = time.perf_counter(), True
        try:  # its own collection asks for no other
            gc.collect()
        finally:
            self._collecting = False
        gc.freeze()
        metrics.REFREEZES.inc()
        log.info("heap frozen again", ms=round((time.perf_counter() - started) * 1e3, 1))
        return True


class Trim:
    """When the worker's periodic look gives free pages back (:func:`trim`): whenever it applied
    nothing since the last look (a backlog done, a recovery, a quiet office), and while it is
    busy at most every ``busy_every_s``. ``malloc_trim`` holds glibc's lock while it walks the
    heap, and every allocation of every thread waits for it: 76 ms on a fragmented 1 GB heap
    (measured offline), and the pages it gives back are faulted in again as the worker reuses
    them. Every 10 s under load, that was a stall the views saw at 1M messages."""

    def __init__(self, busy_every_s: float = 600.0, clock: Callable[[], float] = time.monotonic):
        self.busy_every_s, self.clock = busy_every_s, clock
        self._work: int | None = None
        self._last: float | None = None

    def due(self, work: int) -> bool:
        """``work``: a count that grows as the worker applies events (its batches)."""
        now, idle = self.clock(), work == self._work
        self._work = work
        if idle or self._last is None or now - self._last >= self.busy_every_s:
            self._last = now
            return True
        return False


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
