"""Work done in steps, the event loop running between: the views' requests and the other
topics' batches wait behind a step, never behind the whole of it (a scan of 100k books, a
batch of 500 events)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from streams.books.book import Summary

__all__ = ["MIN_CHUNK", "STEP_S", "Turns", "book_chunks", "settle"]

T = TypeVar("T")

STEP_S = 0.01
"""How long a chunk of :func:`book_chunks` may hold the event loop, the caller's work included."""
MIN_CHUNK = 16


async def settle(summary: Summary, clock: Callable[[], datetime], step_s: float = STEP_S) -> None:
    """The work ``summary`` deferred to its next read (:meth:`Summary.settle`), done in steps
    of about ``step_s`` with the event loop running between, as :func:`book_chunks` reads.
    It ends once it has done as much as was waiting at its first step: the agents' writes
    meanwhile add more (while tasks load, as fast as it makes them), and those are left to the
    read; chasing them held a loading worker's timer for minutes."""
    n, done, budget = 500, 0, None
    while True:
        began = time.perf_counter()
        left = summary.settle(clock(), n)
        done += n
        if budget is None:
            budget = left + n
        if left == 0 or done >= budget:
            return
        held = time.perf_counter() - began
        n = max(MIN_CHUNK, min(5000, int(n * step_s / held))) if held > 0 else 5000
        n = min(n, budget - done)
        await asyncio.sleep(0)


class Turns:
    """The event loop given a turn whenever ``every_s`` has passed since the last, over every
    loop that shares this clock (the time spent on the items between counts, not their
    number). A batch's loops share one: each loop of its own started its count afresh, so the
    last stretch of one and the first of the next were one step (the views bench's stall log
    showed a batch's write holding the loop 25–37 ms a step with 10 ms turns)."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.last = time.perf_counter()

    async def over(self, items: Iterable[T]) -> AsyncIterator[T]:
        """``items``, a turn taken before each if ``every_s`` has passed since the last."""
        every_s = self.every_s
        for item in items:
            if time.perf_counter() - self.last >= every_s:
                await asyncio.sleep(0)  # the views' requests waiting on this loop get a turn
                self.last = time.perf_counter()
            yield item


async def book_chunks(
    table: Any,
    size: int = 500,
    *,
    with_keys: bool = False,
    step_s: float = STEP_S,
    keys: Iterable[Any] | None = None,
) -> AsyncIterator[list[Any]]:
    """Every book of ``table`` in chunks (``(key, book)`` pairs ``with_keys``), the event loop
    running between chunks. A scan decodes each packed book (~20 µs for a task): 100k at once
    would hold the loop, and every HTTP answer and event behind it, for seconds, and hold every
    decoded book in memory together. A chunk is at most ``size`` books, fewer when decoding it
    and the caller's work on it took more than ``step_s`` (the time from one chunk to the next
    is what the loop was held): the ledger's reminder timer took ~70 ms a chunk of 500 at 100k
    tasks under load (bench/views.py, ``MIDFIELD_WORKER_STALL_LOG_MS``), the views' p99. The
    keys are listed first, or given as ``keys`` (agents may add books meanwhile: those wait for
    the next scan); a book gone since is skipped."""
    keys = list(table.keys() if keys is None else keys)
    start, n = 0, size
    while start < len(keys):
        began = time.perf_counter()
        found = [(key, table.get(key)) for key in keys[start : start + n]]
        start += n
        yield [(k, b) if with_keys else b for k, b in found if b is not None]
        held = time.perf_counter() - began
        n = max(MIN_CHUNK, min(size, int(n * step_s / held))) if held > 0 else size
        await asyncio.sleep(0)
