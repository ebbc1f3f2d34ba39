"""The live worker's intake: a topic's events a batch at a time, taken straight from the queue
faust's conductor fills, without faust's per-record stream.

A faust agent reads its stream one event at a time: the stream's iterator, its processors, a
wait on the queue and on the stream's stop at every event, the sensors' calls in and out, an
acknowledgement. A faust worker whose agents take the same records in the same batches and drop
them read 4.8k–5.5k events/s on two cores (bench/rebuild.py's ``faust_noop_worker``), ~200 µs of
CPU an event before the books did anything. The books want a batch, so :func:`intake` takes one
from the channel's queue with no stream between.

What faust's path did is kept, or done here:

* the conductor (faust/transport/conductor.py) still decodes each record into an event and puts
  it in the channel's queue under faust's flow control: nothing is delivered while partitions
  are revoked and assigned, the queues are emptied then and when flow resumes after recovery,
  and a full queue pauses the partition's fetching until it drains;
* the batches are what they were over faust's stream: at the end of the log (the queue empty and
  no partition of the batch with records on the broker beyond it, by the high watermark of the
  consumer's last fetch) a batch is handed over at once, so a live event is applied alone, at
  once; behind it, up to ``max_`` events are gathered for at most ``within`` seconds (faust's
  ``take_events`` waited for ``within`` even at the end of the log: p50 150 ms end to end);
* an event is acknowledged once its batch was applied (the body of the ``async for`` returned),
  so the consumer's wait for events in flight at a rebalance waits for the batch; its offset is
  committed from what the books applied (streams/worker/sequencer.py), never from the
  acknowledgement;
* an event of a partition no longer assigned to this worker is dropped, not applied: another
  member reads it now (an event gathered before a rebalance);
* the events-in count and each event's processing time (:mod:`streams.worker.sensor`, which
  faust's sensor calls per stream event in the other agents).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from streams.worker.sensor import taken_in, taken_out

if TYPE_CHECKING:
    from faust.types import EventT

__all__ = ["intake", "subscribe"]

_IDLE_S = 1.0
"""How often a loop waiting for a first event looks whether the app is stopping."""


def subscribe(topic: Any) -> Any:
    """The channel the conductor fills with ``topic``'s events (faust's iterator clone of the
    topic, added to ``app.topics`` so the consumer subscribes to it at start)."""
    return topic.__aiter__()


async def intake(
    app: Any, channel: Any, max_: int, within: float
) -> AsyncGenerator[list[EventT[Any]], None]:
    """``channel``'s events a batch at a time: at most ``max_``; what the queue holds when the
    worker is at the end of the log; what came within ``within`` seconds while it is behind.
    Each batch's events are acknowledged once the body of the ``async for`` returns (or raises)."""
    queue = channel.queue
    consumer = app.consumer
    loop = asyncio.get_running_loop()
    while not app.should_stop:
        first = await _next(queue, _IDLE_S)
        if first is None:
            continue
        events = [first]
        last = {first.message.tp: first.message.offset}
        deadline = loop.time() + within
        while len(events) < max_:
            while len(events) < max_ and not queue.empty():
                event = queue.get_nowait()
                events.append(event)
                last[event.message.tp] = event.message.offset
            if len(events) >= max_ or not _behind(consumer, last):
                break
            event = await _next(queue, deadline - loop.time())
            if event is None:
                break
            events.append(event)
            last[event.message.tp] = event.message.offset
        assigned = consumer.assignment()
        batch = [e for e in events if e.message.tp in assigned]
        taken = taken_in(batch)
        try:
            if batch:
                yield batch
        finally:
            taken_out(batch, taken)
            for event in batch:
                event.ack()


async def _next(queue: Any, timeout: float) -> EventT[Any] | None:
    """The queue's next event, waited for up to ``timeout`` seconds (``None``: none came).
    Not ``asyncio.wait_for``: on Python 3.11 an item its inner ``get`` took just as the time ran
    out is lost. A ``get`` cancelled before it resumed leaves its item in the queue."""
    if not queue.empty():
        return queue.get_nowait()  # type: ignore[no-any-return]
    if timeout <= 0:
        return None
    get = asyncio.ensure_future(queue.get())
    try:
        await asyncio.wait([get], timeout=timeout)
    finally:
        if not get.done():
            get.cancel()  # before it resumed: its item, if one came, stays in the queue
    return None if get.cancelled() or not get.done() else get.result()


def _behind(consumer: Any, last: dict[Any, int]) -> bool:
    """Whether the broker holds records beyond the batch on any of its partitions (the high
    watermark of the consumer's last fetch)."""
    for tp, offset in last.items():
        highwater = consumer.highwater(tp)
        if highwater is not None and offset + 1 < highwater:
            return True
    return False
