"""The duty processor: the duty log (值班记录), emergencies, and incoming items (来件).

Faxes and telegrams (``office.intake.fax.v1``, ``office.intake.telegram.v1``) become duty-log
lines and register incoming items; the duty officer's events (``office.intake.duty.v1``: calls,
visits, emergency reports, documents registered, item steps) become duty-log lines and move
emergencies and items on. The topics are keyed by the entity (a fax's comm id is also its item
id), so an item's events meet in one partition. A timer raises one overdue
alert per item past its last day; closing the item resolves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import faust

from schemas.catalog import topic
from schemas.events.duty import (
    DutyEntryRecorded,
)
from schemas.events.fax import FaxReceived
from schemas.events.telegram import TelegramReceived
from streams.books import items
from streams.emit import raw_topic, send, tables_settled
from streams.table import book_chunks

if TYPE_CHECKING:
    from streams.agents import Effects
    from streams.app import MidfieldApp

__all__ = ["add_duty"]


def add_duty(app: MidfieldApp, schema: faust.Schema[str, Any], effects: Effects) -> list[Any]:
    """Add the duty log, emergencies and items tables, their agents and the overdue timer."""
    settings, zone = app.settings, app.settings.office.zone
    source = effects.source
    app.duty_log = app.Table("duty_log", default=None, schema=schema)
    app.emergencies = app.Table("emergencies", default=None, schema=schema)
    app.items = app.Table("items", default=None, schema=schema)
    fax = raw_topic(app, topic(FaxReceived.topic).name)
    telegram = raw_topic(app, topic(TelegramReceived.topic).name)
    duty = raw_topic(app, topic(DutyEntryRecorded.topic).name)
    proposed: set[str] = set()

    @app.agent(fax, name="duty_log_fax")
    async def take_faxes(stream: Any) -> None:
        await effects.consume(stream, fax.get_topic_name())

    @app.agent(telegram, name="duty_log_telegram")
    async def take_telegrams(stream: Any) -> None:
        await effects.consume(stream, telegram.get_topic_name())

    @app.agent(duty, name="duty")
    async def take_duty(stream: Any) -> None:
        await effects.consume(stream, duty.get_topic_name())

    @app.timer(interval=settings.duty.report_check_interval_s)  # type: ignore[untyped-decorator]
    async def raise_overdue() -> None:
        if not tables_settled(app):
            return
        now = app.clock()
        async for books in book_chunks(app.items):
            for alert in items.overdue_alerts(books, now, zone, source=source):
                if alert.id not in proposed:
                    await send(effects.alerts, alert)
                    proposed.add(alert.id)

    return [fax, telegram, duty]
