"""A batch gives the event loop a turn by the time it has spent, not by the events it counted
(streams/worker/turns.py ``Turns``), over all its loops: the views' requests wait behind it at
most that long, however slow an event is."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from streams.worker.turns import Turns


async def _turns_while(
    work_s: float, items: int, every_s: float, loops: int = 1, shared: bool = True
) -> list[float]:
    """The moments another task got the loop while ``loops`` loops one after the other, with
    one clock or each its own, took ``items`` of ``work_s`` each."""
    seen: list[float] = []
    done = False

    async def view() -> None:
        while not done:
            seen.append(time.perf_counter())
            await asyncio.sleep(0)

    other = asyncio.create_task(view())
    await asyncio.sleep(0)
    turns = Turns(every_s)
    for _ in range(loops):
        async for _ in (turns if shared else Turns(every_s)).over(range(items)):
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


@pytest.mark.parametrize("shared", [True, False])
async def test_loops_that_share_a_clock_turn_by_the_time_spent_in_all_of_them(
    shared: bool,
) -> None:
    """A batch's events, its packing and its summaries' preparing are three loops: each with a
    clock of its own, their stretches under the interval add up to one long step."""
    began = time.perf_counter()
    seen = await _turns_while(0.008, items=2, every_s=0.01, loops=3, shared=shared)
    gaps = [b - a for a, b in itertools.pairwise([began, *seen, time.perf_counter()])]
    if shared:
        assert max(gaps) < 0.035, gaps  # a turn every 16 ms
    else:
        assert max(gaps) >= 0.045, gaps  # 48 ms with none
