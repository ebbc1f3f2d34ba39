"""The work-order processor: the ``work_orders`` table from ``office.hotline.workorder.v1``.

Each step is applied with :func:`streams.workorders.apply`; a step the lifecycle refuses is
dead-lettered with the reason (and remembered, so a replay refuses it again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import faust

from schemas.catalog import topic
from schemas.events.workorder import WorkOrderStepped
from streams import workorders
from streams.dead_letters import dead_letter, decode_or_dead_letter
from streams.emit import raw_topic

if TYPE_CHECKING:
    from streams.app import MidfieldApp

__all__ = ["add_work_orders"]


def add_work_orders(app: MidfieldApp, schema: faust.Schema[str, Any], deadletters: Any) -> Any:
    """Add the work-orders table and its agent to ``app``; return the topic."""
    rules, zone = app.settings.hotline, app.settings.office.zone
    app.work_orders = app.Table("work_orders", default=None, schema=schema)
    channel = raw_topic(app, topic(WorkOrderStepped.topic).name)

    @app.agent(channel, name="work_orders")
    async def take_steps(stream: Any) -> None:
        async for event in stream.events():
            envelope = await decode_or_dead_letter(event, deadletters, app.conf.id)
            if envelope is None:
                continue
            try:
                out = workorders.apply(app.work_orders.get(envelope.subject), envelope, rules, zone)
            except ValueError as exc:
                await dead_letter(
                    event,
                    deadletters,
                    app.conf.id,
                    "unexpected-type",
                    str(exc),
                    connector="work-orders",
                )
                continue
            if isinstance(out, workorders.Refused):
                await dead_letter(
                    event,
                    deadletters,
                    app.conf.id,
                    out.error.reason,
                    str(out.error),
                    connector="work-orders",
                )
                out = out.book
            if out is not None:
                app.work_orders[envelope.subject] = out

    return channel
