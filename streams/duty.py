"""The duty processor: the duty log (值班记录), emergencies, and incoming items (来件).

Faxes and telegrams (``office.intake.fax.v1``, ``office.intake.telegram.v1``) become duty-log
lines and register incoming items; the duty officer's events (``office.intake.duty.v1``: calls,
visits, emergency reports, documents registered, item steps) become duty-log lines and move
emergencies and items on. The topics are keyed by the entity (a fax's comm id is also its item
id), so an item's events meet in one partition. A timer raises one overdue
alert per item past its last day; closing the item resolves it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import faust

from schemas.catalog import topic
from schemas.deadletter import DeadLetter
from schemas.envelope import Envelope, EventData
from schemas.events.duty import (
    DocumentRegistered,
    DutyEntryRecorded,
    EmergencyClosed,
    EmergencyReported,
    ItemHandled,
)
from schemas.events.fax import FaxReceived
from schemas.events.telegram import TelegramReceived
from streams import duty_log, emergencies, items
from streams.dead_letters import dead_letter, decode_or_dead_letter, send_dead_letter
from streams.emit import raw_topic, send, tables_settled

if TYPE_CHECKING:
    from faust.types import EventT

    from streams.app import MidfieldApp

__all__ = ["add_duty"]


def add_duty(
    app: MidfieldApp, schema: faust.Schema[str, Any], deadletters: Any, alerts: Any
) -> list[Any]:
    """Add the duty log, emergencies and items tables, their agents and the overdue timer."""
    settings, zone = app.settings, app.settings.office.zone
    source = f"midfield://worker/{app.conf.id}"
    app.duty_log = app.Table("duty_log", default=None, schema=schema)
    app.emergencies = app.Table("emergencies", default=None, schema=schema)
    app.items = app.Table("items", default=None, schema=schema)
    fax = raw_topic(app, topic(FaxReceived.topic).name)
    telegram = raw_topic(app, topic(TelegramReceived.topic).name)
    duty = raw_topic(app, topic(DutyEntryRecorded.topic).name)
    proposed: set[str] = set()

    async def refuse(event: EventT[Any], reason: str, detail: str) -> None:
        await dead_letter(event, deadletters, app.conf.id, reason, detail, connector="duty")

    async def take_item(event: EventT[Any], envelope: Envelope) -> bool:
        """Apply to the items book; False when refused or seen before."""
        out = items.apply(app.items.get(envelope.subject), envelope, settings.duty, zone)
        if isinstance(out, items.Refused):
            app.items[envelope.subject] = out.book
            await refuse(event, out.reason, out.detail)
            return False
        if out is None:
            return False
        if isinstance(out, items.Late):  # held steps the lifecycle refused on replay
            for late in out.refused:
                await late_refusal(envelope, late)
            out = out.book
        resolved = items.resolution(out, envelope, zone, source=source)
        if resolved is not None:
            await send(alerts, resolved)
        app.items[envelope.subject] = out
        return True

    async def late_refusal(registration: Envelope, late: dict[str, Any]) -> None:
        letter = DeadLetter.of(
            json.dumps(late["event"], ensure_ascii=False).encode(),
            reason=late["reason"],
            error=late["detail"],
            source=source,
            position=f"item {registration.subject} step {late['id']}",
            connector="duty",
            first_seen=app.clock(),
            meta={"ce_id": late["id"]},
        )
        await send_dead_letter(deadletters, letter)

    def log(envelope: Envelope) -> None:
        book = duty_log.apply(app.duty_log.get(envelope.subject), envelope)
        if book is not None:
            app.duty_log[envelope.subject] = book

    async def take_intake(stream: Any, wanted: type[EventData]) -> None:
        """Faxes and telegrams: each registers an incoming item and makes a duty-log line."""
        async for event in stream.events():
            envelope = await decode_or_dead_letter(event, deadletters, app.conf.id)
            if envelope is None:
                continue
            if not isinstance(envelope.data, wanted):
                await refuse(event, "unexpected-type", f"{envelope.type} on {wanted.topic}")
                continue
            await take_item(event, envelope)
            log(envelope)

    @app.agent(fax, name="duty_log_fax")
    async def take_faxes(stream: Any) -> None:
        await take_intake(stream, FaxReceived)

    @app.agent(telegram, name="duty_log_telegram")
    async def take_telegrams(stream: Any) -> None:
        await take_intake(stream, TelegramReceived)

    @app.agent(duty, name="duty")
    async def take_duty(stream: Any) -> None:
        async for event in stream.events():
            envelope = await decode_or_dead_letter(event, deadletters, app.conf.id)
            if envelope is None:
                continue
            data = envelope.data
            if isinstance(data, ItemHandled):
                await take_item(event, envelope)
                continue
            if isinstance(data, DocumentRegistered):
                if await take_item(event, envelope):
                    log(envelope)
                continue
            if isinstance(data, EmergencyReported | EmergencyClosed):
                out = emergencies.apply(app.emergencies.get(envelope.subject), envelope)
                if isinstance(out, emergencies.Refused):
                    app.emergencies[envelope.subject] = out.book
                    await refuse(event, out.reason, out.detail)
                    continue
                if out is None:
                    continue
                app.emergencies[envelope.subject] = out
            elif not isinstance(data, DutyEntryRecorded):
                await refuse(event, "unexpected-type", f"{envelope.type} on the duty topic")
                continue
            log(envelope)

    @app.timer(interval=settings.duty.report_check_interval_s)  # type: ignore[untyped-decorator]
    async def raise_overdue() -> None:
        if not tables_settled(app):
            return
        books = [b for _, b in app.items.items()]
        for alert in items.overdue_alerts(books, app.clock(), zone, source=source):
            if alert.id not in proposed:
                await send(alerts, alert)
                proposed.add(alert.id)

    return [fax, telegram, duty]
