"""The intake's batches (streams/worker/intake.py), over the worker's own app and a channel queue
as faust's conductor fills it: handed over at once at the end of the log, gathered while behind,
acknowledged once applied, and never with an event of a partition the worker no longer holds.
The consumer's answers (its assignment, its high watermarks) are set per test; a real worker's
batches are in tests/integration/test_worker_batches.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from faust.types import TP
from faust.types.tuples import Message

from midfield.settings import Settings
from streams.worker.app import create_app
from streams.worker.intake import intake
from streams.worker.tables import stop_on_bug

TOPIC = "office.intake.fax.v1"
WITHIN_S = 30.0
"""Long enough that a batch handed over in a test's few seconds was not waiting for it."""


class _Setup:
    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, assigned: set[TP], highwaters: dict[int, int]
    ) -> None:
        self.app: Any = create_app(Settings())
        self.queue = self.app.FlowControlQueue(maxsize=1000, clear_on_resume=True)
        self.channel = type("Channel", (), {"queue": self.queue})()
        self.highwaters = highwaters
        """Partition -> the high watermark of the consumer's last fetch."""
        consumer = self.app.consumer
        monkeypatch.setattr(consumer, "assignment", lambda: assigned)
        monkeypatch.setattr(consumer, "highwater", lambda tp: self.highwaters.get(tp.partition))

    def put(self, partition: int, offset: int) -> Any:
        message = Message(TOPIC, partition, offset, 0.0, 0, None, b"k", b"v", None)
        event = self.app.create_event(b"k", b"v", {}, message)
        self.queue.put_nowait(event)
        return event

    def batches(self, max_: int) -> Any:
        return intake(self.app, self.channel, max_, WITHIN_S)


def _offsets(batch: list[Any]) -> list[tuple[int, int]]:
    return [(e.message.partition, e.message.offset) for e in batch]


async def test_at_the_end_of_the_log_what_the_queue_holds_is_handed_over_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup = _Setup(monkeypatch, {TP(TOPIC, 0)}, {0: 3})
    for offset in range(3):
        setup.put(0, offset)
    batches = setup.batches(500)
    batch = await asyncio.wait_for(anext(batches), 5)
    assert _offsets(batch) == [(0, 0), (0, 1), (0, 2)]
    await batches.aclose()


async def test_behind_the_end_it_gathers_what_comes_until_the_batch_is_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup = _Setup(monkeypatch, {TP(TOPIC, 0)}, {0: 100})
    setup.put(0, 0)
    setup.put(0, 1)
    batches = setup.batches(4)
    taking = asyncio.ensure_future(anext(batches))
    await asyncio.sleep(0.2)
    assert not taking.done(), "handed over behind the end of the log, half full"
    for offset in range(2, 6):
        setup.put(0, offset)
    batch = await asyncio.wait_for(taking, 5)
    assert _offsets(batch) == [(0, 0), (0, 1), (0, 2), (0, 3)]
    setup.highwaters[0] = 6  # the rest is the end of the log
    assert _offsets(await asyncio.wait_for(anext(batches), 5)) == [(0, 4), (0, 5)]
    await batches.aclose()


async def test_a_batch_is_acknowledged_once_it_was_applied_and_never_holds_a_partition_not_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup = _Setup(monkeypatch, {TP(TOPIC, 0)}, {0: 2, 1: 1})
    kept = [setup.put(0, 0), setup.put(0, 1)]
    moved = setup.put(1, 0)  # gathered before a rebalance gave partition 1 to another member
    batches = setup.batches(500)
    batch = await asyncio.wait_for(anext(batches), 5)
    assert batch == kept
    assert not any(e.message.acked for e in kept), "acknowledged before it was applied"
    setup.put(0, 2)
    setup.highwaters[0] = 3
    await asyncio.wait_for(anext(batches), 5)  # the body of the first batch returned
    assert all(e.message.acked for e in kept)
    assert not moved.message.acked
    await batches.aclose()


async def test_an_intake_that_ends_on_a_bug_stops_the_worker_and_one_cancelled_does_not() -> None:
    """faust drops the error of a task that failed: without this the worker ran on with nothing
    applying the topic's events."""
    app: Any = create_app(Settings())
    loop = asyncio.get_running_loop()
    cancelled = loop.create_future()
    cancelled.cancel()
    stop_on_bug(app, TOPIC)(cancelled)
    await asyncio.sleep(0.1)
    assert not app.crashed
    failed = loop.create_future()
    failed.set_exception(KeyError("a bug"))
    stop_on_bug(app, TOPIC)(failed)
    for _ in range(50):
        if app.crashed:
            break
        await asyncio.sleep(0.02)
    assert app.crashed
    assert isinstance(app.crash_reason, KeyError)
