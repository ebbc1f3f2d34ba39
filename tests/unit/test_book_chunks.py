"""A scan of a table in chunks (streams/worker/turns.py ``book_chunks``): every book once, and no
chunk holding the event loop much longer than its step once it knows what a book costs."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from streams.worker.turns import MIN_CHUNK, book_chunks, settle
from tests.loop_watch import LoopWatch


async def _scan(books: dict[str, dict[str, int]], per_book_s: float) -> list[list[str]]:
    chunks: list[list[str]] = []
    async for chunk in book_chunks(books, size=200, with_keys=True, step_s=0.01):
        chunks.append([key for key, _ in chunk])
        time.sleep(per_book_s * len(chunk))  # the caller's work on each book, as a timer's
    return chunks


async def test_a_costly_scan_shrinks_its_chunks_to_the_step_and_reads_every_book_once() -> None:
    books = {f"t{i:04d}": {"n": i} for i in range(1000)}
    chunks = await _scan(books, per_book_s=0.001)
    assert [key for chunk in chunks for key in chunk] == list(books)
    assert len(chunks[0]) == 200  # nothing known yet
    assert all(MIN_CHUNK <= len(chunk) <= 20 for chunk in chunks[1:-1]), [len(c) for c in chunks]


async def test_a_cheap_scan_keeps_its_chunks_whole() -> None:
    books = {f"t{i:04d}": {"n": i} for i in range(1000)}
    chunks = await _scan(books, per_book_s=0.0)
    assert [len(chunk) for chunk in chunks] == [200] * 5


async def test_a_book_gone_since_the_keys_were_listed_is_skipped() -> None:
    books = {f"t{i:04d}": {"n": i} for i in range(300)}
    seen: list[int] = []
    async for chunk in book_chunks(books, size=100):
        seen += [book["n"] for book in chunk]
        books.pop("t0250", None)
    assert len(seen) == 299 and 250 not in seen


class _Deferred:
    """A summary with ``left`` units of deferred work, each taking ``unit_s``."""

    def __init__(self, left: int, unit_s: float) -> None:
        self.left, self.unit_s = left, unit_s
        self.steps: list[int] = []
        self.waiting_at_first: int | None = None

    def settle(self, now: datetime, most: int) -> int:
        if self.waiting_at_first is None:
            self.waiting_at_first = self.left
        done = min(most, self.left)
        time.sleep(done * self.unit_s)
        self.left -= done
        self.steps.append(done)
        return self.left


async def test_deferred_summary_work_is_done_in_steps_with_the_loop_turning_between() -> None:
    summary = _Deferred(left=600, unit_s=0.0005)
    async with LoopWatch() as watch:
        await settle(summary, lambda: datetime.now(UTC), step_s=0.01)  # type: ignore[arg-type]
    assert summary.left == 0 and sum(summary.steps) == 600
    assert summary.steps[0] == 500 and max(summary.steps[1:]) <= 40, summary.steps
    assert watch.turns >= len(summary.steps) - 1


async def test_settling_ends_after_what_waited_at_its_first_step_while_writes_add_more() -> None:
    """An agent loading tasks adds waiting lights between the steps as fast as they are made:
    settling must not chase them (it held a loading worker's timer for minutes)."""
    summary = _Deferred(left=600, unit_s=0.0)

    async def writer() -> None:
        while True:
            summary.left += 700  # more each turn than a step makes
            await asyncio.sleep(0)

    writing = asyncio.create_task(writer())
    await asyncio.sleep(0)
    try:
        await asyncio.wait_for(settle(summary, lambda: datetime.now(UTC)), timeout=5)  # type: ignore[arg-type]
    finally:
        writing.cancel()
    assert sum(summary.steps) == summary.waiting_at_first, summary.steps
    assert summary.left > 0  # the writes meanwhile are the read's
