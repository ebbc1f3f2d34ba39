"""The faust agents' one body: decode, :func:`streams.books.registry.process`, act, write.

Every topic the books read has one agent whose body is :meth:`Effects.consume`
(streams/worker/tables.py). The side effects an
event calls for (dead letters, alerts, notices to department outboxes, the reminder metric) are
done before the books are written (streams/books/registry.py says why). A notice for a
department outside the directory is dead-lettered, never sent to an outbox nobody made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from midfield import metrics
from schemas.catalog import outbox
from schemas.deadletter import OUTBOX_META, UNKNOWN_DEPARTMENT, DeadLetter
from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised
from streams.books.registry import Outcome, Tables, process
from streams.worker.dead_letters import dead_letter, decode_or_dead_letter, send_dead_letter
from streams.worker.emit import raw_topic, send

if TYPE_CHECKING:
    from faust.types import EventT

    from streams.worker.app import MidfieldApp

__all__ = ["EMITTER", "Effects"]

EMITTER = "midfield://worker/midfield"
"""The source of every event the books emit, whatever the worker's application id: a rebuilt
worker running beside the live one (a blue/green switch, ``replay rebuild --serve``) then emits
the same alert, notice or reminder with the same id, and it is applied — and delivered to a
department — once, not once per application id. (It is the default application id's, so the ids
made before the two were told apart stay as they were.)"""


class Effects:
    """The worker's side of an :class:`Outcome`, and the agents' body."""

    def __init__(self, app: MidfieldApp, deadletters: Any, alerts: Any) -> None:
        self.app, self.deadletters, self.alerts = app, deadletters, alerts
        self.source = EMITTER
        """The source of what the books emit (alerts, notices, timers' proposals)."""
        self.letters_source = f"midfield://worker/{app.conf.id}"
        """The source of this worker's own dead letters (which worker refused what)."""
        self._outboxes: dict[str, Any] = {}

    @property
    def books(self) -> Tables:
        return self.app.books

    async def consume(self, stream: Any, name: str) -> None:
        """The agent reading topic ``name``."""
        app = self.app
        async for event in stream.events():
            envelope = await decode_or_dead_letter(event, self.deadletters, app.conf.id)
            if envelope is None:
                continue
            outcome = process(self.books, name, envelope, app.settings, source=self.source)
            await self.act(event, envelope, outcome)
            for (book, key), value in outcome.writes.items():
                self.books[book][key] = value

    async def act(self, event: EventT[Any], envelope: Envelope, outcome: Outcome) -> None:
        app = self.app
        for refusal in outcome.refusals:
            if refusal.late is None:
                await dead_letter(event, self.deadletters, app.conf.id, refusal.reason,
                                  refusal.detail, connector=refusal.connector)  # fmt: skip
                continue
            letter = DeadLetter.of(
                refusal.late_letter_raw(),
                reason=refusal.reason,
                error=refusal.detail,
                source=self.letters_source,
                position=f"item {envelope.subject} step {refusal.late['id']}",
                connector=refusal.connector,
                first_seen=app.clock(),
                meta={"ce_id": refusal.late["id"]},
            )
            await send_dead_letter(self.deadletters, letter)
        for alert in outcome.alerts:
            await send(self.alerts, alert)
        for department, notice in outcome.notices:
            if app.directory.delivers_to(department):
                await send(self.outbox(department), notice)
            else:
                await self.undeliverable(department, notice)
        if outcome.reminded is not None:
            metrics.REMINDERS.labels(outcome.reminded).inc()

    async def undeliverable(self, department: str, notice: Envelope) -> None:
        """A notice for a department the directory does not know (a typo in an imported task,
        a department not yet added). ``midfield topics create`` makes one outbox per department
        of the directory and production brokers create no topic on first use, so a send would
        wait until the producer gives up, holding every commit behind it. The notice goes to
        the dead-letter topic whole, with its outbox (``midfield replay redrive --reason
        unknown-department`` sends it there once the department is in the directory and its
        topic made), and the duty officer gets one alert per department."""
        target = outbox(department)
        letter = DeadLetter.of(
            notice.value(),
            reason=UNKNOWN_DEPARTMENT,
            error=f"no department {department!r} in the directory: {target} was never made",
            source=self.letters_source,
            position=f"notice {notice.id} for {department}",
            connector="worker",
            first_seen=self.app.clock(),
            meta={**{k: v.decode() for k, v in notice.headers()}, OUTBOX_META: target},
        )
        await send_dead_letter(self.deadletters, letter)
        alert = AlertRaised(
            alert_id=f"{UNKNOWN_DEPARTMENT}/{department}",
            kind=UNKNOWN_DEPARTMENT,
            about=department,
            reason=UNKNOWN_DEPARTMENT,
            message=(
                f"单位代码 {department} 不在单位名录中，发给它的督查通知未能送达，已存入死信；"
                "在名录中加入该单位并运行 midfield topics create 后，用 "
                f"midfield replay redrive --reason {UNKNOWN_DEPARTMENT} 补发"
            ),
        )
        raised = Envelope.wrap(alert, source=self.source, position=alert.alert_id,
                               subject=alert.alert_id, time=notice.time)  # fmt: skip
        await send(self.alerts, raised)

    def outbox(self, department: str) -> Any:
        if department not in self._outboxes:
            self._outboxes[department] = raw_topic(self.app, outbox(department))
        return self._outboxes[department]
