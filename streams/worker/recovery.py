"""faust's table recovery, with the stream partitions sought before they are resumed.

When a recovery ends, faust's ``Recovery.on_recovery_completed`` resumes the stream partitions,
then seeks them to their committed offsets (one offset fetch per partition: ~1.6 s for the
catalog on the embedded broker, longer on a loaded broker), then resumes the flow, and resuming
the flow empties every stream's queue (``FlowControlEvent.resume`` clears the queues it
manages). Whatever the fetcher delivered during the seek was dropped unacknowledged with the
consumer's position already past it: lost until the next restart where the partition had a
committed offset (the commit stuck at the gap), and for good where it had none (faust's commit
looks for a gap only behind a committed offset that is not ``None`` or 0). The short soak lost one
to three inputs in about one run of five (test_worker_recovery.py makes the seek slow and shows
it every time).

:class:`Recovery` seeks first and resumes the partitions last, so nothing of a stream is fetched
before its seek and nothing waits in a queue that the flow's resume empties.
:class:`TableManager` is faust's, with this recovery.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from faust.tables.manager import TableManager as FaustTableManager
from faust.tables.recovery import Recovery as FaustRecovery

__all__ = ["Recovery", "TableManager"]


class Recovery(FaustRecovery):
    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        """faust's, in a safe order: seek, resume the flow (emptying the queues), then resume
        the stream partitions."""
        app: Any = self.app
        consumer = app.consumer
        self.log.info("Restore complete!")
        await app.on_rebalance_complete.send()
        self._set_recovery_ended()
        recovered = [
            asyncio.ensure_future(
                table.on_recovery_completed(
                    self.actives_for_table[table], self.standbys_for_table[table]
                )
            )
            for table in self.tables.values()
        ]
        if recovered:
            await asyncio.wait(recovered)
        assignment = consumer.assignment()
        if app.consumer_generation_id != generation_id:
            self.log.warning(
                f"Recovery rebalancing again app id {app.consumer_generation_id} "
                f"param {generation_id}"
            )
            return
        if assignment:
            self.log.info("Seek stream partitions to committed offsets.")
            await self._wait(consumer.perform_seek(), timeout=app.conf.broker_request_timeout)
        self.completed.set()
        app.flow_control.resume()  # empties the queues: nothing of a stream is in them yet
        consumer.resume_flow()
        consumer.resume_partitions({tp for tp in assignment if not self._is_changelog_tp(tp)})
        await app._fetcher.maybe_start()
        self.tables.on_actives_ready()
        if not app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        app.on_rebalance_end()
        self.log.info("Worker ready")


class TableManager(FaustTableManager):
    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = Recovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return cast(Recovery, self._recovery)
