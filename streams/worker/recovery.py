"""faust's table recovery, with the stream partitions sought again once the flow is resumed.

When a recovery ends, faust's ``Recovery.on_recovery_completed`` resumes the stream partitions,
then seeks them to their committed offsets (one offset fetch per partition: ~1.6 s for the
catalog on the embedded broker, longer on a loaded broker), then resumes the flow, and resuming
the flow empties every stream's queue (``FlowControlEvent.resume`` clears the queues it
manages). Whatever the fetcher delivered during the seek was dropped unacknowledged with the
consumer's position already past it: lost until the next restart where the partition had a
committed offset (the commit stuck at the gap), and for good where it had none (faust's commit
looks for a gap only behind a committed offset that is not ``None`` or 0). The short soak lost one
to three inputs in about one run of five (test_worker_recovery.py makes the seek slow).

:class:`Recovery` lets faust finish, then seeks every stream partition again: to its committed
offset, or to its start where it has none. What the flow's resume emptied is read again; what was
read twice is applied once (the books ignore ids they applied). This narrows the loss, it does
not close it: a record still goes missing now and then (docs/brokers.md, an open bug).
:class:`TableManager` is faust's, with this recovery.
"""

from __future__ import annotations

from typing import Any, cast

from faust.tables.manager import TableManager as FaustTableManager
from faust.tables.recovery import Recovery as FaustRecovery

__all__ = ["Recovery", "TableManager"]


class Recovery(FaustRecovery):
    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        await super().on_recovery_completed(generation_id)
        app: Any = self.app
        if app.consumer_generation_id != generation_id or not self.completed.is_set():
            return  # a rebalance came first: its own recovery seeks
        consumer = app.consumer
        await self._wait(consumer.perform_seek(), timeout=app.conf.broker_request_timeout)
        for tp in consumer.assignment():
            if not self._is_changelog_tp(tp) and not consumer._committed_offset.get(tp):
                await consumer.seek(tp, 0)  # before a log's start is its start (`earliest`)
        self.log.info("Stream partitions sought again after the flow resumed.")


class TableManager(FaustTableManager):
    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = Recovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return cast(Recovery, self._recovery)
