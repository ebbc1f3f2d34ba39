"""A batch gives the event loop a turn by the time it has spent, not by the events it counted
(streams/worker/turns.py ``with_turns``): the views' requests wait behind it at most that
long, however slow an event is."""

from __future__ import annotations

import asyncio
import itertools
import time

from streams.worker.turns import with_turns


async def _turns_while(work_s: float, items: int, every_s: float) -> list[float]:
    """The moments another task got the loop while ``items`` took ``work_s`` each."""
    seen: list[float] = []
    done = False

    async def view() -> None:
        while not done:
            seen.append(time.perf_counter())
            await asyncio.sleep(0)

    other = asyncio.create_task(view())
    await asyncio.sleep(0)
    async for _ in with_turns(range(items), every_s):
        if work_s:
            time.sleep(work_s)  # an event's work, holding the loop
    done = True
    await other
    return seen


async def test_slow_events_give_the_loop_a_turn_every_interval() -> None:
    seen = await _turns_while(0.004, items=25, every_s=0.01)  # 100 ms of work
    gaps = [b - a for a, b in itertools.pairwise(seen)]
    assert len(seen) >= 8, seen
    assert max(gaps) < 0.03, gaps


async def test_quick_events_are_not_interrupted_for_nothing() -> None:
    seen = await _turns_while(0.0, items=5000, every_s=0.01)
    assert len(seen) <= 3, len(seen)
