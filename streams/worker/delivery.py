"""The worker consumer's hand-over of each fetched record to faust's conductor: while it catches
up, without four tasks a record.

faust's ``Consumer._drain_messages`` (faust/transport/consumer.py, faust-streaming 0.15.3) hands
every record to the conductor's callback as ``wait_first(callback(message),
suspend_flow.wait())``: a rebalance suspends the flow, and a callback that waits meanwhile (on
the flow, on a full queue, on the producer's buffer) is let go. ``wait_first`` makes four tasks
(the callback, the flow's wait, and the service's stopped and crashed waits), waits on them and
cancels three: ~40 µs a record on an idle loop (measured), a fifth of what a faust worker whose
agents do nothing spends a record (bench/rebuild.py). Yet the callback nearly never waits: it
decodes the record and puts the event in a queue with room.

:func:`drain` is faust's loop with one change, :func:`hand_over`: a record with more than
:data:`BEHIND` records after it on the broker (a worker catching up) goes by :func:`deliver`,
which runs the callback's first step at once, and only a callback that waits goes on under
``wait_first`` (from where it stopped), as every callback did before. A record at the end of the
log goes by faust's ``wait_first``: its loop turns, a few a record, let the views' requests in
between records. Handed over all at once there, a live worker fed 500 events/s answered its
views slower by half (bench/views.py at 1M messages: p99 59–69 ms against 24–35, ``/whoami``
42.5 against 21.8), on less CPU. What faust's loop does besides is kept as it is: a turn for the
loop every 100 records, the gaps in acknowledged topics, the commit every ``commit_every``
acknowledgements, the read offsets. (faust also logs what its loop raised before the service
that runs it does; that second log of one error is left out.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Generator
from functools import partial
from typing import Any

from faust.transport.consumer import CONSUMER_FETCHING

__all__ = ["BEHIND", "deliver", "drain", "hand_over"]

YIELD_EVERY = 100
"""Records handed over between two turns of the loop (faust's own number)."""
BEHIND = 100
"""Records a partition must hold on the broker after a record for it to go by :func:`deliver`."""


async def hand_over(consumer: Any, callback: Callable[[Any], Coroutine[Any, Any, Any]],
                    tp: Any, message: Any) -> None:  # fmt: skip
    """``message`` to ``callback``: at once (:func:`deliver`) while its partition is more than
    :data:`BEHIND` records behind the broker, by faust's ``wait_first`` at the end of the log."""
    highwater = consumer.highwater(tp)
    if highwater is not None and highwater - message.offset > BEHIND:
        await deliver(consumer, callback, message)
    else:
        await consumer.wait_first(callback(message), consumer.suspend_flow.wait())


async def deliver(consumer: Any, callback: Callable[[Any], Coroutine[Any, Any, Any]],
                  message: Any) -> None:  # fmt: skip
    """``callback(message)``, run at once until it first waits; from there, until it ends or
    the consumer's flow is suspended (faust's ``wait_first``), whichever comes first."""
    coro = callback(message)
    try:
        waiting = coro.send(None)
    except StopIteration:
        return
    await consumer.wait_first(_Started(coro, waiting), consumer.suspend_flow.wait())


class _Started:
    """A coroutine that ran its first step, which yielded ``waiting``: awaitable for the rest of
    its run. The task that awaits it waits on what the coroutine yields and resumes it with
    what comes back, or throws into it what is thrown in (a cancellation), as for any coroutine."""

    __slots__ = ("coro", "waiting")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
        self.coro, self.waiting = coro, waiting

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, waiting = self.coro, self.waiting
        while True:
            try:
                sent = yield waiting
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # thrown in by the task: passed on, as `await` does
                step = partial(coro.throw, exc)
            else:
                step = partial(coro.send, sent)
            try:
                waiting = step()
            except StopIteration as done:
                return done.value


async def drain(consumer: Any, fetcher: Any) -> None:
    """faust's ``Consumer._drain_messages`` with :func:`hand_over` for its ``wait_first``."""
    callback = consumer.callback
    getmany = consumer.getmany
    consumer_should_stop = consumer._stopped.is_set
    fetcher_should_stop = fetcher._stopped.is_set
    get_read_offset = consumer._read_offset.__getitem__
    set_read_offset = consumer._read_offset.__setitem__
    flag = CONSUMER_FETCHING
    set_flag, unset_flag = consumer.diag.set_flag, consumer.diag.unset_flag
    commit_every = consumer._commit_every
    acks_enabled_for = consumer.app.topics.acks_enabled_for
    since_yield = 0
    try:
        while not (consumer_should_stop() or fetcher_should_stop()):
            set_flag(flag)
            records = getmany(timeout=1.0)
            await consumer.sleep(0)  # getmany may be called in a loop that never yields
            if not consumer.should_stop:
                async for tp, message in records:
                    since_yield += 1
                    if since_yield > YIELD_EVERY:
                        await asyncio.sleep(0)
                        since_yield = 0
                    offset = message.offset
                    r_offset = get_read_offset(tp)
                    if r_offset is None or offset >= r_offset:
                        gap = offset - (r_offset or 0)
                        if gap > 1 and r_offset and acks_enabled_for(message.topic):
                            await consumer._add_gap(tp, r_offset + 1, offset)
                        if commit_every is not None and consumer._n_acked >= commit_every:
                            consumer._n_acked = 0
                            await consumer.commit()
                        await hand_over(consumer, callback, tp, message)
                        set_read_offset(tp, offset)
                unset_flag(flag)
    except consumer.consumer_stopped_errors:
        if consumer.transport.app.should_stop:
            consumer.log.info("Broker stopped consumer, shutting down...")
            return
        raise
    except asyncio.CancelledError:
        if consumer.transport.app.should_stop:
            consumer.log.info("Consumer shutting down for user cancel.")
            return
        raise
    finally:
        unset_flag(flag)
