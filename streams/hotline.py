"""The work-order processor: the ``work_orders`` table from ``office.hotline.workorder.v1``.

Each step is applied with :func:`streams.books.workorders.apply`; a step the lifecycle refuses is
dead-lettered with the reason (and remembered, so a replay refuses it again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import faust

from schemas.catalog import topic
from schemas.events.workorder import WorkOrderStepped
from streams.emit import raw_topic

if TYPE_CHECKING:
    from streams.agents import Effects
    from streams.app import MidfieldApp

__all__ = ["add_work_orders"]


def add_work_orders(app: MidfieldApp, schema: faust.Schema[str, Any], effects: Effects) -> Any:
    """Add the work-orders table and its agent to ``app``; return the topic."""
    app.work_orders = app.Table("work_orders", default=None, schema=schema)
    channel = raw_topic(app, topic(WorkOrderStepped.topic).name)

    @app.agent(channel, name="work_orders")
    async def take_steps(stream: Any) -> None:
        await effects.consume(stream, channel.get_topic_name())

    return channel
