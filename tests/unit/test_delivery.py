"""The worker consumer's hand-over of a record to faust's conductor (streams/worker/delivery.py):
a callback that does not wait runs at once, with no task made for it; one that waits goes on
under faust's ``wait_first``, which lets it go when the flow is suspended (a rebalance)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mode import Service

from streams.worker.delivery import BEHIND, deliver, hand_over


class Consumer(Service):
    """What :func:`deliver` uses of faust's consumer: a mode service (its ``wait_first``) with a
    ``suspend_flow`` event. Counts the calls of ``wait_first``."""

    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = asyncio.Event()
        self.waited_first = 0

    async def wait_first(self, *coros: Any, timeout: Any = None) -> Any:
        self.waited_first += 1
        return await super().wait_first(*coros, timeout=timeout)


def test_a_callback_that_does_not_wait_runs_at_once_with_no_task() -> None:
    seen: list[str] = []

    async def callback(message: str) -> None:
        seen.append(message)

    async def main() -> int:
        consumer = Consumer()
        before = len(asyncio.all_tasks())
        made = []
        for n in range(3):
            await deliver(consumer, callback, f"record-{n}")
            made.append(len(asyncio.all_tasks()) - before)
        assert made == [0, 0, 0]
        return consumer.waited_first

    assert asyncio.run(main()) == 0
    assert seen == ["record-0", "record-1", "record-2"]


def test_a_callback_that_waits_goes_on_from_where_it_stopped() -> None:
    steps: list[str] = []

    async def main() -> int:
        consumer, room = Consumer(), asyncio.Event()

        async def callback(message: str) -> str:
            steps.append(f"{message}: decoded")
            await room.wait()  # a full queue
            steps.append(f"{message}: put")
            return message

        asyncio.get_running_loop().call_later(0.05, room.set)
        await deliver(consumer, callback, "record-0")
        return consumer.waited_first

    assert asyncio.run(main()) == 1
    assert steps == ["record-0: decoded", "record-0: put"], "each step once, in order"


def test_a_waiting_callback_is_let_go_when_the_flow_is_suspended() -> None:
    steps: list[str] = []

    async def main() -> None:
        consumer = Consumer()

        async def callback(message: str) -> None:
            try:
                await asyncio.Event().wait()  # a queue that never drains
            except asyncio.CancelledError:
                steps.append(f"{message}: cancelled")
                raise
            finally:
                steps.append(f"{message}: left")

        asyncio.get_running_loop().call_later(0.05, consumer.suspend_flow.set)
        await deliver(consumer, callback, "record-0")

    asyncio.run(main())
    assert steps == ["record-0: cancelled", "record-0: left"]


def test_what_a_callback_raises_reaches_the_drain_before_or_after_it_waited() -> None:
    async def at_once(message: str) -> None:
        raise ValueError(f"{message}: undecodable")

    async def later(message: str) -> None:
        await asyncio.sleep(0.01)
        raise ValueError(f"{message}: refused")

    async def main(callback: Any) -> None:
        await deliver(Consumer(), callback, "record-0")

    with pytest.raises(ValueError, match="undecodable"):
        asyncio.run(main(at_once))
    with pytest.raises(ValueError, match="refused"):
        asyncio.run(main(later))


class Behind(Consumer):
    """:class:`Consumer` with a high watermark for every partition."""

    def __init__(self, highwater: int | None) -> None:
        super().__init__()
        self.highwater_ = highwater

    def highwater(self, tp: Any) -> int | None:
        return self.highwater_


class Message:
    def __init__(self, offset: int) -> None:
        self.offset = offset


def test_a_record_far_behind_the_log_goes_at_once_one_at_its_end_by_wait_first() -> None:
    seen: list[int] = []

    async def callback(message: Message) -> None:
        seen.append(message.offset)

    async def waited_first(highwater: int | None, offset: int) -> int:
        consumer = Behind(highwater)
        await hand_over(consumer, callback, "tp", Message(offset))
        return consumer.waited_first

    assert asyncio.run(waited_first(10_000, 5)) == 0, "catching up: at once"
    assert asyncio.run(waited_first(10_000, 10_000 - BEHIND)) == 1, "at the end: faust's"
    assert asyncio.run(waited_first(None, 5)) == 1, "no fetch yet: faust's"
    assert seen == [5, 10_000 - BEHIND, 5]
